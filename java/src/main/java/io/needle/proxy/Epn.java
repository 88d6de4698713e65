package io.needle.proxy;

import io.needle.data.Embedding;
import java.util.EnumSet;
import java.util.Set;

/**
 * {@code epn}: domain prediction with [001]'s expert-prediction network (appendix A): the network is run once on the
 * task's images, and each expert it knows is scored by the mean log-probability it gives that expert's upstream slice,
 * (1/N) Σ_i ln Q(e | x_i) (the geometric mean of [001]); probabilities are sigmoids of the logits (a multi-label
 * network, as the bundled one) or a softmax over experts when {@code selectors.json} says
 * {@code "activation": "softmax"}. Experts the network does not know get {@code undefined}. Labels are not used.
 */
public final class Epn extends Estimator {
  @Override
  public String id() {
    return "epn";
  }

  @Override
  public String description() {
    return "[001]'s expert-prediction network: mean log-probability of the expert's upstream slice on the task's images";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.TASK_MODEL);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    TaskSignals s = task.signals();
    Embedding out = s.outputs().get(TaskSignals.EXPERT_PREDICTION);
    if (out == null) throw notApplicable("the zoo has no expert-prediction network");
    Integer col = s.epnColumns().get(e.id());
    if (col == null) throw notApplicable(e.id() + ": epn: the expert-prediction network does not know this expert");
    boolean softmax = s.epnSoftmax();
    int n = out.rows(), k = out.cols();
    float[] z = out.data();
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double v = z[i * k + col];
      if (softmax) {
        double max = Double.NEGATIVE_INFINITY, t = 0;
        for (int j = 0; j < k; j++) max = Math.max(max, z[i * k + j]);
        for (int j = 0; j < k; j++) t += Math.exp(z[i * k + j] - max);
        sum += v - max - Math.log(t);
      } else {
        sum += v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v));  // ln sigmoid(v), stable both ways
      }
    }
    return sum / n;
  }
}
