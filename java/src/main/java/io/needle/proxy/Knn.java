package io.needle.proxy;

import io.needle.data.Embedding;
import io.needle.engine.Backend;
import io.needle.engine.Neighbors;
import io.needle.engine.Tensor;
import java.util.ArrayList;
import java.util.List;

/** The k-NN proxies' semantics; distances and neighbour search run on a {@link Backend}. */
public final class Knn {
  /** Neighbours that vote (majority; a tie in votes goes to the class whose member is nearest). */
  public static final Option<Integer> K = Option.integer("k", 1, 1, 1 << 20, "neighbours voting in the k-NN proxies, at least 1");
  /** Distance of the k-NN proxies. */
  public static final Option<String> METRIC = Option.choice("metric", "euclidean", List.of("euclidean", "cosine"),
      "distance of the k-NN proxies: euclidean, or cosine (rows scaled to unit length; all-zero rows left at zero)");

  private Knn() {}

  /** @return whether the settings ask for cosine distance */
  static boolean cosine(Settings s) {
    return s.get(METRIC).equals("cosine");
  }

  /** Leave-one-out k-NN accuracy of each expert, batched on the backend. */
  public static double[] leaveOneOut(Backend backend, List<Embedding> experts, int[] y, int k, boolean cosine) {
    List<Tensor> xs = new ArrayList<>();
    try {
      // euclidean: the embedding as it is (used in place where it lives off the heap and the backend is native)
      for (Embedding e : experts) xs.add(cosine ? backend.put(prepare(e.data(), e.cols(), true), e.rows(), e.cols()) : backend.put(e));
      List<Neighbors> nn = backend.nearest(xs, xs, k, true);
      double[] out = new double[experts.size()];
      for (int t = 0; t < out.length; t++) out[t] = accuracy(nn.get(t), y, y);
      return out;
    } finally {
      xs.forEach(Tensor::close);
    }
  }

  /** k-NN accuracy of the validation rows against the train rows, batched on the backend. */
  public static double[] trainVal(Backend backend, List<Embedding> experts, int[] y, Split split, int k, boolean cosine) {
    List<Tensor> train = new ArrayList<>(), val = new ArrayList<>();
    try {
      for (Embedding e : experts) {
        if (!cosine) {
          train.add(backend.putRows(e, split.train()));
          val.add(backend.putRows(e, split.val()));
          continue;
        }
        float[] x = prepare(e.data(), e.cols(), true);
        train.add(backend.put(Split.rows(x, e.cols(), split.train()), split.train().length, e.cols()));
        val.add(backend.put(Split.rows(x, e.cols(), split.val()), split.val().length, e.cols()));
      }
      List<Neighbors> nn = backend.nearest(val, train, k, false);
      int[] ytrain = Split.pick(y, split.train()), yval = Split.pick(y, split.val());
      double[] out = new double[experts.size()];
      for (int t = 0; t < out.length; t++) out[t] = accuracy(nn.get(t), ytrain, yval);
      return out;
    } finally {
      train.forEach(Tensor::close);
      val.forEach(Tensor::close);
    }
  }

  /** Fraction of query rows whose vote over their neighbours' labels equals their own label. */
  static double accuracy(Neighbors nn, int[] baseLabels, int[] queryLabels) {
    int correct = 0;
    for (int i = 0; i < nn.rows(); i++) if (vote(nn, i, baseLabels) == queryLabels[i]) correct++;
    return (double) correct / nn.rows();
  }

  /** Majority vote of row i's k neighbours; among classes tied on votes, the one with the nearest member wins. */
  static int vote(Neighbors nn, int i, int[] labels) {
    int k = nn.k();
    if (k == 1) return labels[nn.at(i, 0)];
    int best = -1, bestCount = 0;
    for (int a = 0; a < k; a++) {
      int c = labels[nn.at(i, a)], count = 0;
      for (int b = 0; b < k; b++) if (labels[nn.at(i, b)] == c) count++;
      // scanning from the nearest, a later class must strictly beat the count to win
      if (count > bestCount) {
        best = c;
        bestCount = count;
      }
    }
    return best;
  }

  /** The matrix the distances are taken on: as is, or rows scaled to unit length for cosine. */
  static float[] prepare(float[] x, int cols, boolean cosine) {
    if (!cosine) return x;
    float[] out = new float[x.length];
    for (int r = 0; r < x.length / cols; r++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += (double) x[r * cols + c] * x[r * cols + c];
      double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (int c = 0; c < cols; c++) out[r * cols + c] = (float) (x[r * cols + c] * inv);
    }
    return out;
  }
}
