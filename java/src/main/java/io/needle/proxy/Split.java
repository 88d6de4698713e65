package io.needle.proxy;

import io.needle.data.Labels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A stratified, seeded train/validation split. The validation size is round(fraction * N), shared out over
 * classes by largest remainder (ties to the lower class), never taking a class's last training example;
 * within a class the held-out examples are a seeded shuffle. Index lists are ascending.
 */
public record Split(int[] train, int[] val) {
  /** Makes the split of the given labels. */
  public static Split stratified(Labels labels, double valFraction, long seed) {
    int[] y = labels.classes0();
    int c = labels.classes();
    int[] counts = labels.counts();
    int target = (int) Math.round(valFraction * y.length);
    int[] take = new int[c];
    double[] rem = new double[c];
    int taken = 0;
    for (int j = 0; j < c; j++) {
      double exact = valFraction * counts[j];
      take[j] = Math.min((int) Math.floor(exact), counts[j] - 1);
      rem[j] = exact - Math.floor(exact);
      taken += take[j];
    }
    Integer[] order = new Integer[c];
    for (int j = 0; j < c; j++) order[j] = j;
    Arrays.sort(order, (a, b) -> rem[a] != rem[b] ? Double.compare(rem[b], rem[a]) : Integer.compare(a, b));
    for (int t = 0; taken < target && t < c; t++) {
      int j = order[t];
      if (take[j] < counts[j] - 1) {
        take[j]++;
        taken++;
      }
    }
    List<List<Integer>> members = new ArrayList<>();
    for (int j = 0; j < c; j++) members.add(new ArrayList<>());
    for (int i = 0; i < y.length; i++) members.get(y[i]).add(i);
    boolean[] isVal = new boolean[y.length];
    Random rnd = new Random(seed);
    for (int j = 0; j < c; j++) {
      List<Integer> m = members.get(j);
      java.util.Collections.shuffle(m, rnd);
      for (int t = 0; t < take[j]; t++) isVal[m.get(t)] = true;
    }
    return of(isVal);
  }

  /** Uses an explicit split: {@code isVal[i]} marks the validation examples. */
  public static Split of(boolean[] isVal) {
    int nv = 0;
    for (boolean b : isVal) if (b) nv++;
    int[] train = new int[isVal.length - nv], val = new int[nv];
    for (int i = 0, a = 0, b = 0; i < isVal.length; i++) {
      if (isVal[i]) val[b++] = i;
      else train[a++] = i;
    }
    return new Split(train, val);
  }

  /** @return the rows of a row-major matrix at the given indices */
  public static float[] rows(float[] data, int cols, int[] index) {
    float[] out = new float[index.length * cols];
    for (int r = 0; r < index.length; r++) System.arraycopy(data, index[r] * cols, out, r * cols, cols);
    return out;
  }

  /** @return the rows of an expert's embeddings at the given indices, row-major (read from where they live: no full copy) */
  public static float[] rows(io.needle.data.Embedding e, int[] index) {
    int cols = e.cols();
    float[] out = new float[index.length * cols];
    java.nio.FloatBuffer b = e.buffer();
    for (int r = 0; r < index.length; r++) b.get(index[r] * cols, out, r * cols, cols);
    return out;
  }

  /** @return the entries of a vector at the given indices */
  public static int[] pick(int[] values, int[] index) {
    int[] out = new int[index.length];
    for (int r = 0; r < index.length; r++) out[r] = values[index[r]];
    return out;
  }
}
