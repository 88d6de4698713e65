package io.needle.eval;

import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The oracle's individual fine-tuning runs, for noise-aware evaluation: per (task, expert), the test accuracy of every
 * non-diverged seed at the learning rate the oracle chose (the best mean validation accuracy over those seeds; ties to
 * the smaller rate), as {@code tools/zoo/oracle.py} chooses it. As there, when every run of a (task, expert) diverged,
 * all its runs are used instead (the expert is then at chance, and {@code oracle.csv} holds that mean): leaving it out
 * would make every set holding it undefined, where a user who fine-tuned it would have that run.
 *
 * @param accuracy task → expert → test accuracy per kept seed (an expert with one kept seed has unknown noise: the
 *     noise-aware view leaves its picks out and says so)
 * @param chosen task → expert → the chosen learning rate and its kept seeds, in the order of {@code accuracy} (empty
 *     when the runs were given without them)
 */
public record SeedRuns(Map<String, Map<String, double[]>> accuracy, Map<String, Map<String, Choice>> chosen) {
  /**
   * The learning rate the oracle chose for one (task, expert) and the seeds kept at it.
   *
   * @param seeds the seeds kept at {@code lr}, in file order: the non-diverged ones (all of them with finite accuracies
   *     for an expert every run of which diverged)
   * @param diverged whether every run of the expert diverged (its kept runs are diverged ones)
   */
  public record Choice(double lr, int[] seeds, boolean diverged) {
    /** A choice of non-diverged runs. */
    public Choice(double lr, int[] seeds) {
      this(lr, seeds, false);
    }
  }

  public SeedRuns {
    accuracy = copy(accuracy);
    chosen = copy(chosen);
  }

  /** Runs without their learning rates and seed numbers. */
  public SeedRuns(Map<String, Map<String, double[]>> accuracy) {
    this(accuracy, Map.of());
  }

  private static <V> Map<String, Map<String, V>> copy(Map<String, Map<String, V>> m) {
    Map<String, Map<String, V>> copy = new LinkedHashMap<>();
    m.forEach((t, x) -> copy.put(t, Collections.unmodifiableMap(new LinkedHashMap<>(x))));
    return Collections.unmodifiableMap(copy);
  }

  /**
   * Reads a runs CSV with columns {@code task,expert,lr,seed,val_accuracy,test_accuracy[,diverged]}.
   *
   * @throws io.needle.NeedleException BAD_INPUT naming the file and line for a missing column or a bad number
   */
  public static SeedRuns read(Path file) {
    Csv csv = Csv.read(file);
    int t = csv.column("task"), e = csv.column("expert"), lr = csv.column("lr"), va = csv.column("val_accuracy"),
        te = csv.column("test_accuracy"), dv = csv.optionalColumn("diverged"), sd = csv.column("seed");
    java.util.Set<String> seen = new java.util.HashSet<>();
    // task -> expert -> {non-diverged, diverged} -> lr -> [val, test, seed] per seed, tasks and experts in file order;
    // the diverged runs are used only for an expert with no other run
    Map<String, Map<String, List<TreeMap<Double, List<double[]>>>>> runs = new LinkedHashMap<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      if (!seen.add(row[t].trim() + '\u0000' + row[e].trim() + '\u0000' + csv.number(r, lr) + '\u0000' + row[sd].trim()))
        throw csv.bad(r, "task '" + row[t].trim() + "', expert '" + row[e].trim() + "', lr " + row[lr].trim() + ", seed " + row[sd].trim() + " given twice");
      boolean diverged = dv >= 0 && row[dv].trim().equals("1");
      List<TreeMap<Double, List<double[]>>> both = runs.computeIfAbsent(row[t].trim(), k -> new LinkedHashMap<>())
          .computeIfAbsent(row[e].trim(), k -> List.of(new TreeMap<>(), new TreeMap<>()));
      if (diverged && !(finite(row[va]) && finite(row[te]))) continue;  // a diverged run may have no accuracy at all
      double rate = csv.number(r, lr), v = csv.number(r, va), a = csv.number(r, te), seed = csv.number(r, sd);
      if (!(a >= 0 && a <= 1) || !(v >= 0 && v <= 1)) throw csv.bad(r, "accuracies must be in [0, 1]");
      if (seed != Math.rint(seed) || Math.abs(seed) > Integer.MAX_VALUE) throw csv.bad(r, "seed " + row[sd].trim() + " is not an integer");
      both.get(diverged ? 1 : 0).computeIfAbsent(rate, k -> new java.util.ArrayList<>()).add(new double[] {v, a, seed});
    }
    Map<String, Map<String, double[]>> out = new LinkedHashMap<>();
    Map<String, Map<String, Choice>> chosen = new LinkedHashMap<>();
    runs.forEach((task, byExpert) -> byExpert.forEach((expert, both) -> {
      boolean allDiverged = both.get(0).isEmpty();
      TreeMap<Double, List<double[]>> byLr = both.get(allDiverged ? 1 : 0);
      List<double[]> best = null;
      double bestVal = Double.NEGATIVE_INFINITY, bestLr = Double.NaN;
      for (Map.Entry<Double, List<double[]>> seeds : byLr.entrySet()) {  // ascending rates: ties keep the smaller
        double m = seeds.getValue().stream().mapToDouble(x -> x[0]).average().orElse(Double.NaN);
        if (m > bestVal) {
          bestVal = m;
          best = seeds.getValue();
          bestLr = seeds.getKey();
        }
      }
      if (best != null) {
        out.computeIfAbsent(task, k -> new LinkedHashMap<>()).put(expert, best.stream().mapToDouble(x -> x[1]).toArray());
        chosen.computeIfAbsent(task, k -> new LinkedHashMap<>()).put(expert, new Choice(bestLr, best.stream().mapToInt(x -> (int) x[2]).toArray(), allDiverged));
      }
    }));
    if (out.isEmpty()) throw new io.needle.NeedleException(io.needle.NeedleException.Code.BAD_INPUT, file + ": no usable runs");
    return new SeedRuns(out, chosen);
  }

  private static boolean finite(String cell) {
    try {
      return Double.isFinite(Double.parseDouble(cell.trim()));
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
