package io.needle.data;

import io.needle.NeedleException;
import java.util.Arrays;
import java.util.TreeMap;

/**
 * The task's labels, remapped from arbitrary integers to classes 0..C-1 in ascending order of the original
 * value ({@link #original} maps back).
 */
public final class Labels {
  private final int[] classOf;
  private final long[] original;
  private final int[] counts;

  private Labels(int[] classOf, long[] original, int[] counts) {
    this.classOf = classOf;
    this.original = original;
    this.counts = counts;
  }

  /**
   * @param values one label per example, any integers
   * @param source names the labels in error messages (a file, or "labels")
   * @throws NeedleException BAD_INPUT if there are fewer than 2 examples or fewer than 2 classes
   */
  public static Labels of(int[] values, String source) {
    return of(java.util.Arrays.stream(values).asLongStream().toArray(), source);
  }

  /** As {@link #of(int[], String)}, for labels of any int64 values. */
  public static Labels of(long[] values, String source) {
    Labels l = anyClasses(values, source);
    if (l.classes() < 2)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, source + ": all " + values.length + " examples have the same label " + values[0] + "; need at least 2 classes");
    return l;
  }

  /**
   * As {@link #of}, but a single class is allowed (the library then scores every proxy as undefined, rather than
   * refusing the call).
   *
   * @throws NeedleException BAD_INPUT if there are fewer than 2 examples
   */
  public static Labels anyClasses(int[] values, String source) {
    return anyClasses(java.util.Arrays.stream(values).asLongStream().toArray(), source);
  }

  /** As {@link #anyClasses(int[], String)}, for labels of any int64 values. */
  public static Labels anyClasses(long[] values, String source) {
    if (values.length < 2) throw new NeedleException(NeedleException.Code.BAD_INPUT, source + ": need at least 2 examples, got " + values.length);
    TreeMap<Long, Integer> ids = new TreeMap<>();
    for (long v : values) ids.put(v, 0);
    int c = 0;
    long[] original = new long[ids.size()];
    for (var e : ids.entrySet()) {
      original[c] = e.getKey();
      e.setValue(c++);
    }
    int[] classOf = new int[values.length];
    int[] counts = new int[c];
    for (int i = 0; i < values.length; i++) counts[classOf[i] = ids.get(values[i])]++;
    return new Labels(classOf, original, counts);
  }

  /** @return number of examples */
  public int size() {
    return classOf.length;
  }

  /** @return number of classes */
  public int classes() {
    return original.length;
  }

  /** @return class index (0..C-1) per example; do not modify */
  public int[] classes0() {
    return classOf;
  }

  /** @return the original label value of class c */
  public long original(int c) {
    return original[c];
  }

  /** @return examples per class */
  public int[] counts() {
    return counts.clone();
  }

  /** @return original label values of the classes that have a single example */
  public long[] singletons() {
    return java.util.stream.IntStream.range(0, counts.length).filter(c -> counts[c] == 1).mapToLong(c -> original[c]).toArray();
  }

  @Override
  public String toString() {
    return size() + " examples, " + classes() + " classes " + Arrays.toString(original);
  }
}
