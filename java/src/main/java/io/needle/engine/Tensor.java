package io.needle.engine;

/**
 * A row-major float32 matrix resident where a {@link Backend} computes on it (Java heap, native heap or GPU
 * memory). Made by {@link Backend#put}; close it to free that memory. Not thread-safe.
 */
public interface Tensor extends AutoCloseable {
  /** @return number of rows (examples) */
  int rows();

  /** @return number of columns (embedding dimension) */
  int cols();

  /** Frees the memory; idempotent. */
  @Override
  void close();
}
