package io.needle.data;

import io.needle.NeedleException;

/**
 * One expert's embeddings of the task's examples: a row-major {@code rows x cols} float32 matrix, row i
 * embedding example i.
 */
public record Embedding(String expert, float[] data, int rows, int cols) {
  /** Checks shape and shape-consistency; the constructor of every embedding. */
  public Embedding {
    if (rows < 1 || cols < 1 || (long) rows * cols != data.length)
      throw new NeedleException(NeedleException.Code.BAD_INPUT,
          expert + ": " + rows + " x " + cols + " embedding with " + data.length + " values");
  }

  /**
   * Validates this embedding against the task: the row count must equal the number of labels and every value
   * must be finite.
   *
   * @throws NeedleException BAD_INPUT naming the expert, the row and the column of the first bad value
   */
  public Embedding validate(int examples) {
    if (rows != examples)
      throw new NeedleException(NeedleException.Code.BAD_INPUT,
          expert + ": has " + rows + " rows (examples) but the labels have " + examples);
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (!Float.isFinite(v))
        throw new NeedleException(NeedleException.Code.BAD_INPUT,
            expert + ": value " + v + " at row " + (i / cols) + ", column " + (i % cols) + " (NaN or infinite)");
    }
    return this;
  }
}
