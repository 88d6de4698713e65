package io.needle.bench;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;

import io.needle.proxy.Split;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Needle's side of benchmarks/peers/side_by_side.py: times knn-loo and linear on the very matrices the peers
 * get (x.npy, y.npy in each folder), with the peers' protocol (linear: first 800 rows train, rest validation),
 * and prints {@code what N D C seconds result} lines, best of the given repetitions after a warm-up.
 *
 * <p>Usage: PeerRun BACKEND REPS DIR...
 */
public final class PeerRun {
  public static void main(String[] args) {
    String backend = args[0];
    int reps = Integer.parseInt(args[1]);
    try (Backend b = Backends.open(backend, 0)) {
      for (int a = 2; a < args.length; a++) {
        Path dir = Path.of(args[a]);
        Labels labels = Experts.labels(dir.resolve("y.npy"));
        Embedding e = new Experts.Source("x", dir.resolve("x.npy"), null, null).load();
        List<Embedding> one = List.of(e);
        int n = e.rows();
        boolean[] isVal = new boolean[n];
        for (int i = 800; i < n; i++) isVal[i] = true;
        Split split = Split.of(isVal);
        double best = Double.MAX_VALUE, acc = 0;
        for (int r = 0; r < reps + 2; r++) {
          long t = System.nanoTime();
          acc = Knn.leaveOneOut(b, one, labels.classes0(), 1, false)[0];
          if (r >= 2) best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        print("loo1nn_needle_" + backend, e, labels, best, acc);
        if (n >= 1000 && n <= 1000) {
          best = Double.MAX_VALUE;
          for (int r = 0; r < reps + 2; r++) {
            long t = System.nanoTime();
            acc = LinearProbe.score(b, one, labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults())[0];
            if (r >= 2) best = Math.min(best, (System.nanoTime() - t) / 1e9);
          }
          print("linear_needle_" + backend, e, labels, best, acc);
        }
      }
    }
  }

  private static void print(String what, Embedding e, Labels l, double seconds, double acc) {
    System.out.printf(Locale.ROOT, "%s\t%d\t%d\t%d\t%.5f\t%.4f%n", what, e.rows(), e.cols(), l.classes(), seconds, acc);
  }
}
