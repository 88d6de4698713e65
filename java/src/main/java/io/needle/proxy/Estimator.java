package io.needle.proxy;

import io.needle.NeedleException;
import io.needle.Score;
import java.util.ArrayList;
import java.util.List;

/**
 * A proxy computed expert by expert (most of the field's estimators): implement {@link #estimate}. Each expert is
 * isolated: a {@link NeedleException} fails that expert alone ({@code NOT_APPLICABLE} makes it undefined), and a
 * non-finite result is a failure naming the expert and the proxy, never a value.
 */
public abstract class Estimator implements Proxy {
  /**
   * @return the estimate for one expert
   * @throws NeedleException NOT_APPLICABLE when the estimator does not apply, BAD_INPUT for unusable input
   */
  protected abstract double estimate(TaskData task, ExpertInput expert);

  @Override
  public List<Score> score(TaskData task, List<ExpertInput> experts) {
    List<Score> out = new ArrayList<>(experts.size());
    for (ExpertInput e : experts) out.add(scoreOne(this, task, e));
    return out;
  }

  /** Runs {@link #estimate} on one expert and turns the outcome into a score. */
  static Score scoreOne(Estimator p, TaskData task, ExpertInput e) {
    try {
      if (p.needs().contains(Need.EMBEDDINGS) && constant(e.embedding()))
        return Score.failed(e.id(), p.id(), e.id() + ": " + p.id() + ": every example has the same embedding (constant features): nothing to estimate from");
      double v = p.estimate(task, e);
      if (!Double.isFinite(v)) return Score.failed(e.id(), p.id(), e.id() + ": " + p.id() + " is " + v + " (numerically unstable on this embedding)");
      return Score.ok(e.id(), p.id(), v);
    } catch (NeedleException ex) {
      return Score.of(e.id(), p.id(), ex);
    }
  }

  /** @return whether every row of the embedding is the same */
  static boolean constant(io.needle.data.Embedding x) {
    float[] v = x.data();
    int d = x.cols();
    for (int i = 1; i < x.rows(); i++) for (int j = 0; j < d; j++) if (v[i * d + j] != v[j]) return false;
    return true;
  }

  /** @return a NOT_APPLICABLE exception with this reason */
  protected static NeedleException notApplicable(String reason) {
    return new NeedleException(NeedleException.Code.NOT_APPLICABLE, reason);
  }

  @Override
  public String toString() {
    return id();
  }
}
