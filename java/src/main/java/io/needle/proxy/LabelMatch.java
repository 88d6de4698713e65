package io.needle.proxy;

import io.needle.engine.Dense;

import io.needle.data.Embedding;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * {@code kl}: label matching with [001]'s generic upstream classifier (appendix B): the task's upstream-label
 * distribution Q = (1/N) Σ_i Q_B(y | x_i) is predicted from the task's images, and each expert with an upstream label
 * prior P_e is scored by −KL(P_e ‖ Q) (higher is better: the smallest divergence wins, [001] eq. 3). Categorical form
 * (softmax, the default) or Bernoulli form (independent sigmoids per label, as [001] for multi-label upstream data).
 * Q is floored at 1e-12. Experts without a prior, or with an all-zero one (nothing learned from upstream labels), get
 * {@code undefined}. Labels are not used.
 */
public final class LabelMatch extends Estimator {
  /** Categorical or Bernoulli label model. */
  public static final Option<String> FORM = Option.choice("kl-form", "categorical", List.of("categorical", "bernoulli"),
      "KL label matching: categorical (softmax over upstream labels) or bernoulli (independent sigmoids)");

  @Override
  public String id() {
    return "kl";
  }

  @Override
  public String description() {
    return "[001]'s label matching: -KL(expert's upstream label prior || task's predicted upstream labels)";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.TASK_MODEL);
  }

  @Override
  public List<Option<?>> options() {
    return List.of(FORM);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    TaskSignals s = task.signals();
    Embedding out = s.outputs().get(TaskSignals.GENERIC_CLASSIFIER);
    if (out == null) throw notApplicable("the zoo has no generic upstream classifier");
    double[] p = s.priors().get(e.id());
    if (p == null) throw notApplicable(e.id() + ": kl: no upstream label prior for this expert in the zoo's selectors");
    boolean bernoulli = task.settings().get(FORM).equals("bernoulli");
    int n = out.rows(), k = out.cols();
    if (p.length != k) throw notApplicable(e.id() + ": kl: prior has " + p.length + " labels, the classifier " + k);
    double mass = 0;
    for (double v : p) mass += v;
    // an expert that saw no upstream labels (random init) has an all-zero prior: KL would be 0, a perfect match
    if (!(mass > 0)) throw notApplicable(e.id() + ": kl: the expert's upstream label prior is empty (it learned from no labelled upstream data)");
    double[] prob = new double[n * k];
    float[] z = out.data();
    for (int i = 0; i < prob.length; i++) prob[i] = bernoulli ? 1 / (1 + Math.exp(-z[i])) : z[i];
    if (!bernoulli) Dense.softmaxRows(prob, n, k);
    double[] q = new double[k];  // the task's upstream-label distribution: the mean over its images
    for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) q[j] += prob[i * k + j] / n;
    double kl = 0;
    for (int j = 0; j < k; j++) {
      double qj = Math.max(q[j], 1e-12), pj = p[j];
      if (pj > 0) kl += pj * Math.log(pj / qj);
      if (bernoulli && pj < 1) kl += (1 - pj) * Math.log((1 - pj) / Math.max(1 - q[j], 1e-12));
    }
    return -kl;
  }
}
