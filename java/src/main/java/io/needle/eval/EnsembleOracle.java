package io.needle.eval;

import io.needle.NeedleException;
import io.needle.data.Images;
import io.needle.data.Npy;
import io.needle.data.Tasks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The fine-tune oracle for sets of experts: the true test accuracy of an ensemble of fine-tuned experts, computed from
 * the test-set logits the oracle saved for every run ({@code <logits>/<task>/<expert>.npz}, one array per run, key
 * {@code lr<lr %g>_seed<seed>}, shape [test size, C], rows in the order of the task's test set), without re-training.
 *
 * <p>Rule: for a set S and a seed s, the ensemble averages the softmax of every member's run at the member's chosen
 * learning rate and seed s (the oracle's choice, {@link SeedRuns}); a member whose run at s diverged (or is missing
 * from its kept seeds) is left out of that seed's average, and a seed no member kept is not counted. Its accuracy is
 * the argmax's (ties to the lower class) against the test labels; the ensemble's value is the mean over counted seeds.
 * A set of one expert is the oracle's own value for it (up to float16 rounding of the logits). An expert every run of
 * which diverged keeps all its runs, as the single-expert oracle does ({@link SeedRuns}): a set holding it averages in
 * its near-chance outputs, as a user who ensembled it would (a run of it with non-finite logits is left out of its seed,
 * as a diverged member is). An expert with no run in the runs file is undefined, as is
 * one whose logits file is missing, garbled, lacks a run, or has another row or class count than the test labels: each
 * is said once in {@link Loaded#warnings} and left out.
 *
 * <p>The best set of size K is found exhaustively while there are at most {@link #EXHAUSTIVE_LIMIT} subsets (K = 2, and
 * K = 3 for the bundled 26 experts), greedily beyond: the best set of size K − 1 plus the member that maximises
 * accuracy.
 */
public final class EnsembleOracle {
  /** Subsets of one size searched exhaustively at most; larger searches are greedy. */
  public static final long EXHAUSTIVE_LIMIT = 5000;

  private EnsembleOracle() {}

  /**
   * A set of experts and its oracle accuracy.
   *
   * @param method "exhaustive", "greedy" or "given"
   */
  public record Set(List<String> experts, double accuracy, String method) {}

  /** Every task whose test logits could be read, and what was left out. */
  public record Loaded(Map<String, Task> tasks, List<String> warnings) {}

  /** One task: the test labels and every usable expert's softmax outputs, per kept seed. */
  public static final class Task {
    private final String name;
    private final int[] y;
    private final int classes;
    // expert -> seed -> softmax, row major [n, classes]
    private final Map<String, Map<Integer, float[]>> probs;
    private final Map<Integer, Set> memo = new java.util.HashMap<>();

    /**
     * @param y the test label of each row, as a column index 0..classes-1
     * @param logits expert → seed → logits, row major [y.length, classes], each checked for its shape
     * @throws NeedleException BAD_INPUT naming the task and expert for logits of the wrong size or a label out of range
     */
    public Task(String name, int[] y, int classes, Map<String, Map<Integer, float[]>> logits) {
      this.name = name;
      this.y = y.clone();
      this.classes = classes;
      for (int v : y)
        if (v < 0 || v >= classes) throw new NeedleException(NeedleException.Code.BAD_INPUT, "task '" + name + "': test label " + v + " is not in 0.." + (classes - 1));
      Map<String, Map<Integer, float[]>> p = new LinkedHashMap<>();
      logits.forEach((expert, bySeed) -> {
        Map<Integer, float[]> s = new java.util.TreeMap<>();
        bySeed.forEach((seed, z) -> {
          if (z.length != y.length * classes)
            throw new NeedleException(NeedleException.Code.BAD_INPUT, "task '" + name + "', expert '" + expert + "', seed " + seed + ": "
                + z.length + " logits, expected " + y.length + " x " + classes);
          s.put(seed, softmax(z, classes));
        });
        if (!s.isEmpty()) p.put(expert, Collections.unmodifiableMap(s));
      });
      this.probs = Collections.unmodifiableMap(p);
    }

    /** @return the task's name */
    public String name() {
      return name;
    }

    /** @return the experts with usable runs, in input order */
    public List<String> experts() {
      return List.copyOf(probs.keySet());
    }

    /** @return test examples */
    public int size() {
      return y.length;
    }

    /**
     * @return the oracle accuracy of the ensemble of {@code set} (the rule in the class comment); NaN when a member has
     *     no usable runs or the set is empty
     */
    public double accuracy(List<String> set) {
      if (set.isEmpty()) return Double.NaN;
      List<Map<Integer, float[]>> members = new ArrayList<>();
      for (String e : set) {
        Map<Integer, float[]> m = probs.get(e);
        if (m == null) return Double.NaN;
        members.add(m);
      }
      TreeSet<Integer> seeds = new TreeSet<>();
      for (Map<Integer, float[]> m : members) seeds.addAll(m.keySet());
      double sum = 0;
      int counted = 0;
      float[] avg = new float[y.length * classes];
      for (int s : seeds) {
        java.util.Arrays.fill(avg, 0f);
        int k = 0;
        for (Map<Integer, float[]> m : members) {
          float[] p = m.get(s);
          if (p == null) continue;
          k++;
          for (int i = 0; i < avg.length; i++) avg[i] += p[i];
        }
        if (k == 0) continue;
        int correct = 0;
        for (int i = 0; i < y.length; i++) {
          int best = 0, o = i * classes;
          for (int j = 1; j < classes; j++) if (avg[o + j] > avg[o + best]) best = j;
          if (best == y[i]) correct++;
        }
        sum += (double) correct / y.length;
        counted++;
      }
      return counted == 0 ? Double.NaN : sum / counted;
    }

    /**
     * The best ensemble of {@code k} experts of the task (exhaustive up to {@link #EXHAUSTIVE_LIMIT} subsets, else
     * greedy from the best set of k − 1).
     *
     * @throws NeedleException INVALID_ARGUMENT when k is below 1 or above the number of usable experts
     */
    public synchronized Set best(int k) {
      List<String> pool = experts();
      if (k < 1 || k > pool.size())
        throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "task '" + name + "': ensemble size " + k + " is not in 1.." + pool.size() + " (usable experts)");
      Set cached = memo.get(k);
      if (cached != null) return cached;
      Set out;
      if (Evaluation.choose(pool.size(), k) <= EXHAUSTIVE_LIMIT) {
        int[] idx = new int[k];
        for (int i = 0; i < k; i++) idx[i] = i;
        List<String> bestSet = null;
        double bestAcc = Double.NEGATIVE_INFINITY;
        while (true) {
          List<String> s = new ArrayList<>(k);
          for (int i : idx) s.add(pool.get(i));
          double a = accuracy(s);
          if (a > bestAcc) {
            bestAcc = a;
            bestSet = s;
          }
          int i = k - 1;
          while (i >= 0 && idx[i] == pool.size() - k + i) i--;
          if (i < 0) break;
          idx[i]++;
          for (int j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
        }
        out = new Set(List.copyOf(bestSet), bestAcc, "exhaustive");
      } else {
        Set prev = best(k - 1);
        List<String> bestSet = null;
        double bestAcc = Double.NEGATIVE_INFINITY;
        for (String e : pool) {
          if (prev.experts().contains(e)) continue;
          List<String> s = new ArrayList<>(prev.experts());
          s.add(e);
          double a = accuracy(s);
          if (a > bestAcc) {
            bestAcc = a;
            bestSet = s;
          }
        }
        out = new Set(List.copyOf(bestSet), bestAcc, "greedy");
      }
      memo.put(k, out);
      return out;
    }
  }

  /**
   * Reads the test logits of every task that has a test set in the manifest and a logits folder.
   *
   * @param logitsDir the folder of {@code <task>/<expert>.npz}
   * @param tasks the tasks (their {@code test} entries give the labels: the IDX labels file beside the images, or any
   *     dataset {@link Images#open} reads; integer class names are the logits' column indices, other names their order)
   * @param runs the oracle's runs with their chosen learning rates and kept seeds
   * @throws NeedleException BAD_INPUT when the folder does not exist or the runs carry no learning rates
   */
  public static Loaded load(Path logitsDir, List<Tasks.Task> tasks, SeedRuns runs) {
    if (!Files.isDirectory(logitsDir)) throw new NeedleException(NeedleException.Code.BAD_INPUT, logitsDir + ": no such folder (expected <task>/<expert>.npz)");
    if (runs.chosen().isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, "ensembles need the oracle's runs with learning rates and seeds (--runs)");
    Map<String, Task> out = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    for (Tasks.Task t : tasks) {
      Path dir = logitsDir.resolve(t.name());
      Map<String, SeedRuns.Choice> chosen = runs.chosen().get(t.name());
      if (!Files.isDirectory(dir)) {
        warnings.add("ensembles: task '" + t.name() + "': no logits folder " + dir + ": left out");
        continue;
      }
      if (t.test() == null || chosen == null) {
        warnings.add("ensembles: task '" + t.name() + "': " + (t.test() == null ? "tasks.json names no test set" : "no runs") + ": left out");
        continue;
      }
      int[][] labels;
      try {
        labels = testLabels(t.test());
      } catch (NeedleException e) {
        warnings.add("ensembles: task '" + t.name() + "': test labels: " + e.getMessage() + ": left out");
        continue;
      }
      try (java.util.stream.Stream<Path> files = Files.list(dir)) {  // logits of experts without any run: say so once
        files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".npz")).map(f -> f.substring(0, f.length() - 4)).sorted()
            .filter(e -> !chosen.containsKey(e))
            .forEach(e -> warnings.add("ensembles: task '" + t.name() + "', expert '" + e + "' undefined: no run of it in the runs file"));
      } catch (java.io.IOException e) {
        throw new NeedleException(NeedleException.Code.IO, dir + ": cannot list: " + e.getMessage(), e);
      }
      Map<String, Map<Integer, float[]>> logits = new LinkedHashMap<>();
      for (Map.Entry<String, SeedRuns.Choice> c : chosen.entrySet()) {
        Path f = dir.resolve(c.getKey() + ".npz");
        try {
          logits.put(c.getKey(), read(f, c.getValue(), labels[0].length, labels[1][0]));
        } catch (NeedleException e) {
          warnings.add("ensembles: task '" + t.name() + "', expert '" + c.getKey() + "' undefined: " + e.getMessage());
        }
      }
      if (logits.isEmpty()) {
        warnings.add("ensembles: task '" + t.name() + "': no expert has usable logits: left out");
        continue;
      }
      out.put(t.name(), new Task(t.name(), labels[0], labels[1][0], logits));
    }
    return new Loaded(Collections.unmodifiableMap(out), List.copyOf(warnings));
  }

  /**
   * Reads one expert's runs at its chosen rate from its {@code .npz}.
   *
   * @return seed → logits [rows, classes] as floats
   * @throws NeedleException BAD_INPUT naming the file and the run for a missing file, a garbled archive, a missing run,
   *     another dtype or shape than [rows, classes], or a non-finite logit
   */
  public static Map<Integer, float[]> read(Path npz, SeedRuns.Choice chosen, int rows, int classes) {
    Map<String, Npy.Array> arrays = Npy.readNpz(npz);
    Map<Integer, float[]> out = new LinkedHashMap<>();
    for (int seed : chosen.seeds()) {
      String key = key(chosen.lr(), seed);
      Npy.Array a = arrays.get(key);
      if (a == null) throw new NeedleException(NeedleException.Code.BAD_INPUT, npz + ": no run '" + key + "' (has " + String.join(", ", arrays.keySet()) + ")");
      if (a.kind() != 'f') throw new NeedleException(NeedleException.Code.BAD_INPUT, npz + ": run '" + key + "' is not a float array");
      if (a.shape().length != 2 || a.shape()[0] != rows)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, npz + ": run '" + key + "' has shape " + java.util.Arrays.toString(a.shape())
            + " but the test set has " + rows + " examples");
      if (a.shape()[1] != classes)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, npz + ": run '" + key + "' has " + a.shape()[1] + " classes but the test labels have " + classes);
      float[] z = a.toFloats();
      boolean finite = true;
      for (float v : z) finite &= Float.isFinite(v);
      if (!finite && chosen.diverged()) continue;  // a diverged run's logits may be garbage: that seed goes without it
      if (!finite) throw new NeedleException(NeedleException.Code.BAD_INPUT, npz + ": run '" + key + "' holds a non-finite logit");
      out.put(seed, z);
    }
    return out;
  }

  /** The key of a run in the oracle's {@code .npz}: {@code lr<lr as %g, trailing zeros dropped>_seed<seed>}. */
  public static String key(double lr, int seed) {
    String g = String.format(Locale.ROOT, "%g", lr);  // Python's %g: 6 significant digits, trailing zeros dropped
    String mant = g, exp = "";
    int e = g.indexOf('e');
    if (e >= 0) {
      mant = g.substring(0, e);
      exp = g.substring(e);
    }
    if (mant.contains(".")) mant = mant.replaceAll("0+$", "").replaceAll("\\.$", "");
    if (!exp.isEmpty()) {  // Java writes e-04 as Python does; keep at least two exponent digits
      String sign = exp.substring(1, 2), digits = exp.substring(2).replaceFirst("^0+(?=\\d\\d)", "");
      exp = "e" + sign + digits;
    }
    return "lr" + mant + exp + "_seed" + seed;
  }

  /**
   * The test labels as column indices and the class count: {@code [labels, {classes}]}. Integer class names (IDX
   * label values) are the columns; otherwise the classes in order are.
   */
  static int[][] testLabels(Path test) {
    Images im = Images.open(test);
    int[] y = im.labels();
    List<String> names = im.classNames();
    int[] column = new int[names.size()];
    boolean integers = true;
    for (int c = 0; c < names.size() && integers; c++) {
      try {
        column[c] = Integer.parseInt(names.get(c).trim());
        if (column[c] < 0) integers = false;
      } catch (NumberFormatException e) {
        integers = false;
      }
    }
    int classes = 0;
    for (int i = 0; i < y.length; i++) {
      y[i] = integers ? column[y[i]] : y[i];
      classes = Math.max(classes, y[i] + 1);
    }
    return new int[][] {y, {classes}};
  }

  private static float[] softmax(float[] z, int c) {
    float[] p = new float[z.length];
    for (int o = 0; o < z.length; o += c) {
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int j = 0; j < c; j++) max = Math.max(max, z[o + j]);
      for (int j = 0; j < c; j++) sum += Math.exp(z[o + j] - max);
      for (int j = 0; j < c; j++) p[o + j] = (float) (Math.exp(z[o + j] - max) / sum);
    }
    return p;
  }
}
