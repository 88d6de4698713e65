package io.needle.bench;

import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.data.Npy;
import io.needle.proxy.Split;
import java.nio.file.Path;

/**
 * Writes the train/validation split {@code needle score} makes for a labels file (stratified, seeded; the
 * linear probe's), so a peer can be run on exactly the same rows: an int64 .npy vector, 1 marking a validation row.
 *
 * <p>Usage: SplitRun LABELS VAL_FRACTION SEED OUT.npy
 */
public final class SplitRun {
  public static void main(String[] args) throws Exception {
    Labels labels = Experts.labels(Path.of(args[0]));
    Split split = Split.stratified(labels, Double.parseDouble(args[1]), Long.parseLong(args[2]));
    int[] flags = new int[labels.size()];
    for (int i : split.val()) flags[i] = 1;
    Npy.writeLongs(Path.of(args[3]), flags);
  }
}
