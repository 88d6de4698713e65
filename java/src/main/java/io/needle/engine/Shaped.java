package io.needle.engine;

/** The shape part every backend's {@link Tensor} shares. */
abstract class Shaped implements Tensor {
  final int rows, cols;

  Shaped(int rows, int cols) {
    this.rows = rows;
    this.cols = cols;
  }

  @Override
  public final int rows() {
    return rows;
  }

  @Override
  public final int cols() {
    return cols;
  }
}
