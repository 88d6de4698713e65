package io.needle.proxy;

import java.util.EnumSet;
import java.util.Set;

/**
 * {@code nce}: Negative Conditional Entropy (Tran et al., ICCV 2019) of the task's labels given the expert's upstream
 * hard predictions z_i = argmax of its upstream logits (first index on ties): NCE = Σ_z P(z) Σ_y P(y|z) ln P(y|z) with
 * empirical probabilities; as the authors' code (thuml/LogME NCE.py), 1e-20 added to every P(y|z) of an observed z.
 * Needs the expert's upstream classifier outputs.
 */
public final class Nce extends Estimator {
  @Override
  public String id() {
    return "nce";
  }

  @Override
  public String description() {
    return "NCE: negative conditional entropy of the labels given the upstream classifier's predictions (Tran et al., 2019)";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.UPSTREAM_LOGITS);
  }

  @Override
  protected double estimate(TaskData task, ExpertInput e) {
    int n = task.size(), c = task.classes(), z = e.logits().cols();
    int[] y = task.y();
    float[] l = e.logits().data();
    double[] joint = new double[c * z];
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int j = 1; j < z; j++) if (l[i * z + j] > l[i * z + best]) best = j;
      joint[y[i] * z + best] += 1.0 / n;
    }
    double nce = 0;
    for (int j = 0; j < z; j++) {
      double pz = 0;
      for (int q = 0; q < c; q++) pz += joint[q * z + j];
      if (pz == 0) continue;
      double h = 0;
      for (int q = 0; q < c; q++) {
        double p = joint[q * z + j] / pz + 1e-20;
        h -= p * Math.log(p);
      }
      nce -= pz * h;
    }
    return nce;
  }
}
