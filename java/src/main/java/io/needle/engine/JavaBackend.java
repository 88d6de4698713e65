package io.needle.engine;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * The reference backend: plain loops in float64, exact distances computed as sums of squared differences.
 * Obviously correct rather than fast; every other backend is tested against it, and it is the JMH baseline.
 * Rows are spread over a fork-join pool of {@code threads} workers.
 */
public final class JavaBackend implements Backend {
  private final ForkJoinPool pool;

  /** @param threads worker threads; 0 or less means all cores */
  public JavaBackend(int threads) {
    this.pool = new ForkJoinPool(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
  }

  @Override
  public String name() {
    return "java";
  }

  @Override
  public String describe() {
    return "plain Java float64 loops on " + pool.getParallelism() + " threads";
  }

  static final class HeapTensor extends Shaped {
    final float[] data;

    HeapTensor(float[] data, int rows, int cols) {
      super(rows, cols);
      this.data = data;
    }

    @Override public void close() {}
  }

  @Override
  public Tensor put(float[] data, int rows, int cols) {
    Checks.put(data, rows, cols);
    return new HeapTensor(data, rows, cols);
  }

  private static HeapTensor heap(Tensor t) {
    if (t instanceof HeapTensor h) return h;
    throw Checks.invalid("tensor was not made by the java backend");
  }

  @Override
  public Neighbors nearest(Tensor query, Tensor base, int k, boolean self) {
    Checks.nearest(query, base, k, self);
    HeapTensor q = heap(query), b = heap(base);
    int d = q.cols;
    int[] index = new int[q.rows * k];
    float[] distance = new float[q.rows * k];
    run(() -> IntStream.range(0, q.rows).parallel().forEach(i -> {
      double[] bestD = new double[k];
      int[] bestI = new int[k];
      java.util.Arrays.fill(bestD, Double.POSITIVE_INFINITY);
      java.util.Arrays.fill(bestI, Integer.MAX_VALUE);
      for (int j = 0; j < b.rows; j++) {
        if (self && i == j) continue;
        double s = 0;
        for (int p = 0; p < d; p++) {
          double t = (double) q.data[i * d + p] - (double) b.data[j * d + p];
          s += t * t;
        }
        // keep the k best by (distance, index); j ascends, so an equal distance never displaces
        if (s >= bestD[k - 1]) continue;
        int at = k - 1;
        while (at > 0 && s < bestD[at - 1]) {
          bestD[at] = bestD[at - 1];
          bestI[at] = bestI[at - 1];
          at--;
        }
        bestD[at] = s;
        bestI[at] = j;
      }
      for (int c = 0; c < k; c++) {
        index[i * k + c] = bestI[c];
        distance[i * k + c] = (float) bestD[c];
      }
    }));
    return new Neighbors(q.rows, k, index, distance);
  }

  @Override
  public double softmaxGrad(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad) {
    Checks.softmax(x, y, rowWeight, classes, w, grad);
    HeapTensor h = heap(x);
    int n = h.rows, d = h.cols, stride = d + 1;
    double[] g = new double[grad.length];
    double loss = 0;
    double[] z = new double[classes];
    for (int i = 0; i < n; i++) {
      double wr = rowWeight == null ? 1 : rowWeight[i];
      if (wr == 0) continue;
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < classes; j++) {
        double s = w[j * stride + d];
        for (int p = 0; p < d; p++) s += (double) w[j * stride + p] * h.data[i * d + p];
        z[j] = s;
        max = Math.max(max, s);
      }
      double sum = 0;
      for (int j = 0; j < classes; j++) sum += Math.exp(z[j] - max);
      loss += wr * (Math.log(sum) + max - z[y[i]]);
      for (int j = 0; j < classes; j++) {
        double coef = wr * (Math.exp(z[j] - max) / sum - (j == y[i] ? 1 : 0));
        for (int p = 0; p < d; p++) g[j * stride + p] += coef * h.data[i * d + p];
        g[j * stride + d] += coef;
      }
    }
    for (int q = 0; q < grad.length; q++) grad[q] = (float) g[q];
    return loss;
  }

  private void run(Runnable r) {
    try {
      pool.submit(r).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new IllegalStateException(e.getCause());
    }
  }

  @Override
  public void close() {
    pool.shutdown();
  }
}
