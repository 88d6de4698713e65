package io.needle.engine;

/**
 * The k nearest base rows of each query row: {@code index[i * k + j]} is the j-th nearest of query i, ordered
 * by (squared Euclidean distance, index) so ties go to the lowest index; {@code distance} holds the exact
 * squared distances (computed in float64, stored as float).
 */
public record Neighbors(int rows, int k, int[] index, float[] distance) {
  /** @return the j-th nearest base row of query row i */
  public int at(int i, int j) {
    return index[i * k + j];
  }
}
