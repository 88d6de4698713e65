package io.needle.engine;

import io.needle.NeedleException;

/** Argument checks shared by every backend, so each backend's public face validates the same way. */
final class Checks {
  private Checks() {}

  static void nearest(Tensor query, Tensor base, int k, boolean self) {
    if (query.cols() != base.cols())
      throw invalid("query has " + query.cols() + " columns but base has " + base.cols());
    if (self && query != base) throw invalid("self mode needs query and base to be the same tensor");
    int avail = self ? base.rows() - 1 : base.rows();
    if (k < 1 || k > avail)
      throw invalid("k = " + k + " is outside [1, " + avail + "] for " + base.rows() + " base rows" + (self ? " (self excluded)" : ""));
  }

  static void softmax(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad) {
    if (classes < 2) throw invalid("need at least 2 classes, got " + classes);
    if (y.length != x.rows()) throw invalid(y.length + " labels for " + x.rows() + " rows");
    if (rowWeight != null && rowWeight.length != x.rows()) throw invalid(rowWeight.length + " row weights for " + x.rows() + " rows");
    long size = (long) classes * (x.cols() + 1);
    if (w.length != size || grad.length != size) throw invalid("weights and gradient need " + size + " entries");
    for (int v : y) if (v < 0 || v >= classes) throw invalid("label " + v + " outside [0, " + classes + ")");
  }

  static void put(float[] data, int rows, int cols) {
    if (rows < 1 || cols < 1 || (long) rows * cols != data.length)
      throw invalid("a " + rows + " x " + cols + " matrix needs " + ((long) rows * cols) + " values, got " + data.length);
  }

  static NeedleException invalid(String message) {
    return new NeedleException(NeedleException.Code.INVALID_ARGUMENT, message);
  }
}
