package io.needle.select;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.data.Embedding;
import io.needle.engine.Backend;
import io.needle.engine.Tensor;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Split;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Sets of experts that work together, judged on the task's embeddings through the linear probes Needle fits
 * ({@link LinearProbe}: multinomial logistic regression on the train split, L-BFGS) and their outputs on the validation
 * split:
 *
 * <ul>
 *   <li><b>error inconsistency</b> of two probes ([002]): the fraction of validation examples where exactly one of them
 *       is right;
 *   <li><b>calibrated ensemble</b>: each probe's logits divided by its temperature (fitted by minimising its validation
 *       negative log-likelihood), softmax, averaged over the members; accuracy of the argmax (ties to the lower class);
 *   <li><b>feature concatenation</b>: one probe on the members' embeddings side by side.
 * </ul>
 *
 * Greedy forward selection ({@link #greedy}, {@link #concat}) adds, step by step, the expert that maximises the
 * validation accuracy of the set (ties to the earlier expert); the diversity-aware variant adds λ times the candidate's
 * mean inconsistency with the members already picked. Every number here is measured on the validation split the
 * probes, temperatures and picks are chosen on, so it is optimistic: it ranks sets, it does not estimate test accuracy.
 */
public final class Ensembles {
  private Ensembles() {}

  /** The search methods, by the name outputs use. */
  public static final String CALIBRATED = "calibrated", DIVERSE = "diverse", CONCAT = "concat";

  /** The anchor that stands for the task-agnostic strategy's pick ([004]: metadata order). */
  public static final String ANCHOR_TASK_AGNOSTIC = "task-agnostic";

  /**
   * One expert's probe on the validation split.
   *
   * @param logits validation logits, row major [validation size, classes]
   * @param temperature the fitted temperature T (the ensemble averages softmax(logits / T))
   * @param accuracy the probe's validation accuracy (what the {@code linear} proxy reports)
   * @param correct whether it is right on each validation example
   */
  public record Probe(String expert, double[] logits, double temperature, double accuracy, boolean[] correct) {}

  /**
   * The probes of a task.
   *
   * @param yval the validation labels, 0..classes-1
   * @param failed experts whose probe could not be fitted, with the reason
   */
  public record Probes(int[] yval, int classes, List<Probe> probes, List<Problem> failed) {
    /** @return the probe of an expert, or null */
    public Probe get(String expert) {
      for (Probe p : probes) if (p.expert().equals(expert)) return p;
      return null;
    }
  }

  /**
   * One step of a forward selection.
   *
   * @param accuracy the set's validation accuracy after adding {@code expert}
   * @param gain its increase over the previous step (the first step's is its accuracy)
   * @param inconsistency the added expert's mean inconsistency with the experts picked before (NaN at the first step)
   */
  public record Step(String expert, double accuracy, double gain, double inconsistency) {}

  /**
   * A forward selection.
   *
   * @param method {@link #CALIBRATED}, {@link #DIVERSE} or {@link #CONCAT}
   * @param note why it stopped before the asked size, or null
   */
  public record Pick(String method, List<Step> steps, String note) {
    /** @return the picked experts, in order */
    public List<String> experts() {
      return steps.stream().map(Step::expert).toList();
    }

    /** @return the predicted (validation) accuracy of the whole set, NaN if empty */
    public double accuracy() {
      return steps.isEmpty() ? Double.NaN : steps.get(steps.size() - 1).accuracy();
    }
  }

  /**
   * Fits every expert's probe on the train split (in one L-BFGS batch) and fits its temperature on the validation
   * split. An expert whose embedding has another row count than the labels, or non-finite values, fails alone.
   *
   * @param y the class (0..classes-1) of every example
   */
  public static Probes fit(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, LinearProbe.Params params) {
    List<Problem> failed = new ArrayList<>();
    List<Embedding> ok = new ArrayList<>();
    for (Embedding e : experts) {
      try {
        ok.add(e.validate(y.length));
      } catch (NeedleException ex) {
        failed.add(new Problem(e.expert(), "probe not fitted: " + ex.getMessage()));
      }
    }
    int[] yval = Split.pick(y, split.val());
    List<Probe> probes = new ArrayList<>();
    if (!ok.isEmpty()) {
      List<float[]> w = fitWeights(backend, ok, y, classes, split, params);
      for (int t = 0; t < ok.size(); t++) {
        Embedding e = ok.get(t);
        double[] z = logits(w.get(t), Split.rows(e.data(), e.cols(), split.val()), e.cols(), classes);
        boolean finite = true;
        for (double v : z) finite &= Double.isFinite(v);
        if (!finite) {
          failed.add(new Problem(e.expert(), "probe not fitted: its validation logits are not finite"));
          continue;
        }
        probes.add(probe(e.expert(), z, yval, classes));
      }
    }
    return new Probes(yval, classes, List.copyOf(probes), List.copyOf(failed));
  }

  /** Probe weights ({@code classes x (d + 1)}, bias last) fitted on the train split of each embedding, one L-BFGS batch. */
  private static List<float[]> fitWeights(Backend backend, List<Embedding> es, int[] y, int classes, Split split, LinearProbe.Params params) {
    int[] ytrain = Split.pick(y, split.train());
    List<Tensor> xs = new ArrayList<>();
    try {
      for (Embedding e : es) xs.add(backend.put(Split.rows(e.data(), e.cols(), split.train()), split.train().length, e.cols()));
      return LinearProbe.lbfgs(backend, xs, ytrain, classes, params);
    } finally {
      xs.forEach(Tensor::close);
    }
  }

  /** A probe from its validation logits: accuracy, correctness and the fitted temperature. */
  public static Probe probe(String expert, double[] logits, int[] yval, int classes) {
    boolean[] correct = new boolean[yval.length];
    int right = 0;
    for (int i = 0; i < yval.length; i++) {
      correct[i] = argmax(logits, i * classes, classes) == yval[i];
      if (correct[i]) right++;
    }
    return new Probe(expert, logits, temperature(logits, yval, classes), (double) right / yval.length, correct);
  }

  /** Logits {@code x W^T + b} of a linear classifier ({@code classes x (d + 1)}, bias last) on row-major rows x. */
  static double[] logits(float[] w, float[] x, int d, int classes) {
    int n = x.length / d;
    double[] z = new double[n * classes];
    for (int i = 0; i < n; i++)
      for (int j = 0; j < classes; j++) {
        double s = w[j * (d + 1) + d];
        for (int p = 0; p < d; p++) s += (double) w[j * (d + 1) + p] * x[i * d + p];
        z[i * classes + j] = s;
      }
    return z;
  }

  /** Mean negative log-likelihood of softmax(logits / t) on the labels. */
  public static double nll(double[] logits, int[] y, int classes, double t) {
    double sum = 0;
    for (int i = 0; i < y.length; i++) {
      int o = i * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < classes; j++) max = Math.max(max, logits[o + j] / t);
      double s = 0;
      for (int j = 0; j < classes; j++) s += Math.exp(logits[o + j] / t - max);
      sum += Math.log(s) + max - logits[o + y[i]] / t;
    }
    return sum / y.length;
  }

  /**
   * The temperature minimising the validation NLL: golden-section search over log(1/T) in [−7, 5] (the NLL is convex in
   * 1/T, so the search finds its minimum there); T = 1 is kept unless the search does better.
   */
  public static double temperature(double[] logits, int[] y, int classes) {
    final double phi = (Math.sqrt(5) - 1) / 2;
    double a = -7, b = 5, c = b - phi * (b - a), d = a + phi * (b - a);
    double fc = nll(logits, y, classes, Math.exp(-c)), fd = nll(logits, y, classes, Math.exp(-d));
    for (int it = 0; it < 80 && b - a > 1e-6; it++) {
      if (fc <= fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - phi * (b - a);
        fc = nll(logits, y, classes, Math.exp(-c));
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + phi * (b - a);
        fd = nll(logits, y, classes, Math.exp(-d));
      }
    }
    double t = Math.exp(-(a + b) / 2);
    return nll(logits, y, classes, t) < nll(logits, y, classes, 1) ? t : 1;
  }

  /** Error inconsistency ([002]): the fraction of validation examples where exactly one of the two probes is right. */
  public static double inconsistency(Probe a, Probe b) {
    if (a.correct().length != b.correct().length)
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, a.expert() + " and " + b.expert() + ": probes on different validation sets");
    int k = 0;
    for (int i = 0; i < a.correct().length; i++) if (a.correct()[i] != b.correct()[i]) k++;
    return (double) k / a.correct().length;
  }

  /** @return the symmetric matrix of pairwise inconsistencies (zero diagonal), in the probes' order */
  public static double[][] inconsistency(List<Probe> probes) {
    int n = probes.size();
    double[][] m = new double[n][n];
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++) m[i][j] = m[j][i] = inconsistency(probes.get(i), probes.get(j));
    return m;
  }

  /** Validation accuracy of the calibrated ensemble of the given probes (the mean of their temperature-scaled softmax). */
  public static double accuracy(List<Probe> set, int[] yval, int classes) {
    if (set.isEmpty()) return Double.NaN;
    double[] avg = new double[yval.length * classes];
    for (Probe p : set) {
      double t = p.temperature();
      for (int i = 0; i < yval.length; i++) {
        int o = i * classes;
        double max = Double.NEGATIVE_INFINITY, s = 0;
        for (int j = 0; j < classes; j++) max = Math.max(max, p.logits()[o + j] / t);
        for (int j = 0; j < classes; j++) s += Math.exp(p.logits()[o + j] / t - max);
        for (int j = 0; j < classes; j++) avg[o + j] += Math.exp(p.logits()[o + j] / t - max) / s;
      }
    }
    int right = 0;
    for (int i = 0; i < yval.length; i++) if (argmax(avg, i * classes, classes) == yval[i]) right++;
    return (double) right / yval.length;
  }

  /**
   * Greedy forward selection of up to {@code k} experts maximising the validation accuracy of the calibrated probe
   * ensemble, plus {@code lambda} times the candidate's mean inconsistency with the experts already picked (0: plain
   * accuracy, {@link #CALIBRATED}; above 0: {@link #DIVERSE}). Stops early, with a note, when the probes run out.
   *
   * @throws NeedleException INVALID_ARGUMENT for k below 1 or a negative lambda
   */
  public static Pick greedy(Probes probes, int k, double lambda) {
    return greedy(probes, k, lambda, List.of());
  }

  /**
   * As {@link #greedy(Probes, int, double)}, the set starting from {@code anchor} (an expert with a probe; null: none),
   * which is its first step whatever its own accuracy.
   */
  public static Pick greedy(Probes probes, int k, double lambda, String anchor) {
    return greedy(probes, k, lambda, anchor == null ? List.of() : List.of(anchor));
  }

  /**
   * As {@link #greedy(Probes, int, double)}, the set starting from {@code anchors} (experts with a probe, in order; empty:
   * none), which are its first steps whatever their own accuracy.
   *
   * @throws NeedleException INVALID_ARGUMENT also for an anchor without a probe, a repeated one, or more anchors than k
   */
  public static Pick greedy(Probes probes, int k, double lambda, List<String> anchors) {
    if (k < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "ensemble size must be at least 1, got " + k);
    if (!(lambda >= 0)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "the diversity weight must be 0 or more, got " + lambda);
    checkAnchors(anchors, k);
    List<Probe> picked = new ArrayList<>();
    List<Step> steps = new ArrayList<>();
    double prev = 0;
    for (String anchor : anchors) {
      Probe a = probes.get(anchor);
      if (a == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "anchor '" + anchor + "' has no probe on this task");
      double inc = picked.isEmpty() ? Double.NaN : picked.stream().mapToDouble(m -> inconsistency(a, m)).average().orElse(Double.NaN);
      picked.add(a);
      double acc = accuracy(picked, probes.yval(), probes.classes());
      steps.add(new Step(a.expert(), acc, acc - prev, inc));
      prev = acc;
    }
    while (picked.size() < k && picked.size() < probes.probes().size()) {
      Probe best = null;
      double bestObj = Double.NEGATIVE_INFINITY, bestAcc = Double.NaN, bestInc = Double.NaN;
      for (Probe c : probes.probes()) {
        if (picked.contains(c)) continue;
        List<Probe> s = new ArrayList<>(picked);
        s.add(c);
        double acc = accuracy(s, probes.yval(), probes.classes());
        double inc = picked.isEmpty() ? Double.NaN : picked.stream().mapToDouble(m -> inconsistency(c, m)).average().orElse(Double.NaN);
        double obj = acc + (picked.isEmpty() ? 0 : lambda * inc);
        if (obj > bestObj) {
          bestObj = obj;
          best = c;
          bestAcc = acc;
          bestInc = inc;
        }
      }
      picked.add(best);
      steps.add(new Step(best.expert(), bestAcc, bestAcc - prev, bestInc));
      prev = bestAcc;
    }
    return new Pick(lambda > 0 ? DIVERSE : CALIBRATED, List.copyOf(steps), note(steps.size(), k, probes));
  }

  /**
   * Greedy forward selection of up to {@code k} experts maximising the validation accuracy of one probe fitted on the
   * concatenation of their embeddings (each step fits every remaining candidate, in one L-BFGS batch).
   *
   * @param experts the embeddings (experts without a fitted probe in {@code probes} are left out)
   */
  public static Pick concat(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, LinearProbe.Params params, Probes probes, int k) {
    return concat(backend, experts, y, classes, split, params, probes, k, List.of());
  }

  /** As {@link #concat(Backend, List, int[], int, Split, LinearProbe.Params, Probes, int)}, starting from {@code anchor} (null: none). */
  public static Pick concat(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, LinearProbe.Params params, Probes probes, int k,
      String anchor) {
    return concat(backend, experts, y, classes, split, params, probes, k, anchor == null ? List.of() : List.of(anchor));
  }

  /**
   * As {@link #concat(Backend, List, int[], int, Split, LinearProbe.Params, Probes, int)}, starting from {@code anchors}
   * (in order; empty: none); a step's accuracy is that of the probe on the concatenation so far.
   */
  public static Pick concat(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, LinearProbe.Params params, Probes probes, int k,
      List<String> anchors) {
    if (k < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "ensemble size must be at least 1, got " + k);
    checkAnchors(anchors, k);
    List<Embedding> pool = experts.stream().filter(e -> probes.get(e.expert()) != null).toList();
    List<Embedding> picked = new ArrayList<>();
    List<Step> steps = new ArrayList<>();
    int[] yval = probes.yval();
    double prev = 0;
    for (String anchor : anchors) {
      Probe a = probes.get(anchor);
      Embedding ae = pool.stream().filter(e -> e.expert().equals(anchor)).findFirst().orElse(null);
      if (a == null || ae == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "anchor '" + anchor + "' has no probe on this task");
      double inc = picked.isEmpty() ? Double.NaN : picked.stream().mapToDouble(m -> inconsistency(a, probes.get(m.expert()))).average().orElse(Double.NaN);
      picked.add(ae);
      double acc = picked.size() == 1 ? a.accuracy() : concatAccuracy(backend, join(picked), y, classes, split, params, yval);
      steps.add(new Step(anchor, acc, acc - prev, inc));
      prev = acc;
    }
    while (picked.size() < k && picked.size() < pool.size()) {
      List<Embedding> cands = new ArrayList<>();
      List<Embedding> joined = new ArrayList<>();
      for (Embedding c : pool) {
        if (picked.contains(c)) continue;
        List<Embedding> s = new ArrayList<>(picked);
        s.add(c);
        cands.add(c);
        joined.add(join(s));
      }
      List<float[]> w = fitWeights(backend, joined, y, classes, split, params);
      int best = -1;
      double bestAcc = Double.NEGATIVE_INFINITY;
      for (int t = 0; t < joined.size(); t++) {
        double acc = valAccuracy(w.get(t), joined.get(t), classes, split, yval);
        if (acc > bestAcc) {
          bestAcc = acc;
          best = t;
        }
      }
      Embedding c = cands.get(best);
      Probe cp = probes.get(c.expert());
      double inc = picked.isEmpty() ? Double.NaN : picked.stream().mapToDouble(m -> inconsistency(cp, probes.get(m.expert()))).average().orElse(Double.NaN);
      picked.add(c);
      steps.add(new Step(c.expert(), bestAcc, bestAcc - prev, inc));
      prev = bestAcc;
    }
    return new Pick(CONCAT, List.copyOf(steps), note(steps.size(), k, probes));
  }

  private static void checkAnchors(List<String> anchors, int k) {
    if (anchors.size() > k)
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, anchors.size() + " anchors do not fit a set of " + k + ": raise the size or name fewer");
    if (new java.util.HashSet<>(anchors).size() < anchors.size())
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "an anchor is named twice: " + String.join(", ", anchors));
  }

  /** The validation accuracy of one probe fitted on {@code joined}. */
  private static double concatAccuracy(Backend backend, Embedding joined, int[] y, int classes, Split split, LinearProbe.Params params, int[] yval) {
    return valAccuracy(fitWeights(backend, List.of(joined), y, classes, split, params).get(0), joined, classes, split, yval);
  }

  /** The validation accuracy of probe weights {@code w} on {@code x}'s validation rows. */
  private static double valAccuracy(float[] w, Embedding x, int classes, Split split, int[] yval) {
    double[] z = logits(w, Split.rows(x.data(), x.cols(), split.val()), x.cols(), classes);
    int right = 0;
    for (int i = 0; i < yval.length; i++) if (argmax(z, i * classes, classes) == yval[i]) right++;
    return (double) right / yval.length;
  }

  /** The embeddings side by side (one row per example). */
  static Embedding join(List<Embedding> es) {
    int rows = es.get(0).rows(), cols = 0;
    for (Embedding e : es) cols += e.cols();
    float[] out = new float[rows * cols];
    int at = 0;
    for (Embedding e : es) {
      for (int i = 0; i < rows; i++) System.arraycopy(e.data(), i * e.cols(), out, i * cols + at, e.cols());
      at += e.cols();
    }
    return new Embedding(String.join("+", es.stream().map(Embedding::expert).toList()), out, rows, cols);
  }

  private static String note(int got, int k, Probes probes) {
    return got < k ? "stopped at " + got + ": only " + probes.probes().size() + " expert(s) have a probe" : null;
  }

  private static int argmax(double[] z, int o, int c) {
    int best = 0;
    for (int j = 1; j < c; j++) if (z[o + j] > z[o + best]) best = j;
    return best;
  }

  /** @return the experts of the probes, in order */
  public static List<String> experts(Probes p) {
    return Collections.unmodifiableList(p.probes().stream().map(Probe::expert).toList());
  }

  /**
   * What to search.
   *
   * @param device ONNX Runtime execution provider: auto, cpu or cuda
   * @param threads CPU threads, 0 for all cores
   * @param imageBatch images per inference call
   * @param backend where the probes are fitted
   * @param settings the linear probe's options and the split's (val-fraction, seed), as the {@code linear} proxy reads them
   * @param size K: the largest set
   * @param methods any of {@link #CALIBRATED}, {@link #DIVERSE}, {@link #CONCAT}
   * @param lambda the diversity weight of {@link #DIVERSE}
   * @param anchors the experts every set starts from, in order (empty: none): each an expert id, or
   *     {@link #ANCHOR_TASK_AGNOSTIC} (the pool's best by metadata not anchored yet, as the task-agnostic strategy picks),
   *     or {@code task-agnostic:N} (its top N)
   */
  public record Config(io.needle.embed.Device device, int threads, int imageBatch, io.needle.engine.Backends.Kind backend,
      io.needle.proxy.Settings settings, int size, List<String> methods, double lambda, List<String> anchors) {
    /** A configuration without an anchor. */
    public Config(io.needle.embed.Device device, int threads, int imageBatch, io.needle.engine.Backends.Kind backend,
        io.needle.proxy.Settings settings, int size, List<String> methods, double lambda) {
      this(device, threads, imageBatch, backend, settings, size, methods, lambda, List.of());
    }

    public Config {
      if (size < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "ensemble size must be at least 1, got " + size);
      if (!(lambda >= 0)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "the diversity weight must be 0 or more, got " + lambda);
      if (methods.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "no ensemble method chosen");
      for (String m : methods)
        if (!List.of(CALIBRATED, DIVERSE, CONCAT).contains(m))
          throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown ensemble method '" + m + "': use calibrated, diverse or concat");
      methods = List.copyOf(methods);
      anchors = anchors == null ? List.of() : anchors.stream().map(String::trim).toList();
      long n = anchorCount(anchors);
      if (n > size) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, n + " anchors do not fit a set of " + size + ": raise --size or name fewer");
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (String a : anchors)
        if (!seen.add(agnosticCount(a) > 0 ? ANCHOR_TASK_AGNOSTIC : a))
          throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, agnosticCount(a) > 0
              ? "task-agnostic may appear once among the anchors: use one task-agnostic:N" : "anchor '" + a + "' is named twice");
    }
  }

  /**
   * One task's search.
   *
   * @param probes every expert's probe (and the failed ones)
   * @param picks one forward selection per method, in the configuration's order
   * @param inconsistency pairwise inconsistencies in the order of {@code probes.probes()}
   * @param problems everything left out: zoo entries, images, experts that could not be embedded or probed
   * @param seconds wall time per stage (embed, probe, search)
   */
  public record Result(Probes probes, List<Pick> picks, double[][] inconsistency, List<Problem> problems, java.util.Map<String, Double> seconds) {}

  /**
   * Embeds the task with every expert of the pool through the same pipeline and cache as {@code needle select} (cached
   * embeddings are reused), fits the probes and runs every configured forward selection.
   *
   * @param cache the embedding cache of this dataset, or null
   * @throws NeedleException BAD_INPUT when no expert could be probed
   */
  public static Result run(List<io.needle.zoo.Expert> pool, List<Problem> zooProblems, io.needle.data.Images images,
      io.needle.embed.EmbeddingCache cache, Config c, Selector.Progress progress) {
    List<Problem> problems = new ArrayList<>(zooProblems);
    problems.addAll(images.problems());
    io.needle.data.Labels labels = images.labelSet();
    java.util.Map<String, Double> seconds = new java.util.LinkedHashMap<>();
    long t0 = System.nanoTime();
    List<Embedding> embeddings = new ArrayList<>();
    int[] done = {0};
    new io.needle.embed.Pipeline(c.device().id(), c.threads(), c.imageBatch()).run(pool, images, cache, new io.needle.embed.Pipeline.Listener() {
      @Override
      public void embedded(io.needle.zoo.Expert e, Embedding x, boolean cached, double s, String device) {
        embeddings.add(new Embedding(e.id(), x.data(), x.rows(), x.cols()));
        if (progress != null) progress.update(++done[0], pool.size(), e.id(), 0, images.size());
      }

      @Override
      public void failed(io.needle.zoo.Expert e, String message) {
        problems.add(new Problem(e.id(), message));
        if (progress != null) progress.update(++done[0], pool.size(), e.id(), 0, images.size());
      }

      @Override
      public void images(io.needle.zoo.Expert e, int n, int total) {
        if (progress != null) progress.update(done[0], pool.size(), e.id(), n, total);
      }
    });
    seconds.put("embed", (System.nanoTime() - t0) / 1e9);
    Split split = Split.stratified(labels, c.settings().get(io.needle.proxy.TaskData.VAL_FRACTION), c.settings().get(io.needle.proxy.TaskData.SEED));
    if (split.val().length == 0 || split.train().length == 0)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, images.source() + ": " + labels.size() + " examples are too few for a train/validation split");
    LinearProbe.Params params = LinearProbe.Params.of(c.settings());
    long t1 = System.nanoTime();
    List<Pick> picks = new ArrayList<>();
    Probes probes;
    try (Backend backend = io.needle.engine.Backends.open(c.backend(), c.threads())) {
      probes = fit(backend, embeddings, labels.classes0(), labels.classes(), split, params);
      problems.addAll(probes.failed());
      if (probes.probes().isEmpty())
        throw new NeedleException(NeedleException.Code.BAD_INPUT, images.source() + ": no expert could be probed (every expert failed)");
      seconds.put("probe", (System.nanoTime() - t1) / 1e9);
      List<String> anchor = anchors(c.anchors(), pool, probes);
      String short_ = anchorsNote(c.anchors(), anchor);
      long t2 = System.nanoTime();
      for (String m : c.methods()) {
        Pick p = switch (m) {
          case CALIBRATED -> greedy(probes, c.size(), 0, anchor);
          case DIVERSE -> greedy(probes, c.size(), c.lambda(), anchor);
          default -> concat(backend, embeddings, labels.classes0(), labels.classes(), split, params, probes, c.size(), anchor);
        };
        picks.add(short_ == null ? p : new Pick(p.method(), p.steps(), p.note() == null ? short_ : short_ + "; " + p.note()));
      }
      seconds.put("search", (System.nanoTime() - t2) / 1e9);
    }
    return new Result(probes, List.copyOf(picks), inconsistency(probes.probes()), List.copyOf(problems), Collections.unmodifiableMap(seconds));
  }

  /**
   * @return the anchors' expert ids on this task, in order ({@link #ANCHOR_TASK_AGNOSTIC} resolved to the probed pool's
   *     best by metadata not anchored yet)
   * @throws NeedleException INVALID_ARGUMENT when an anchor is not in the pool or named twice, BAD_INPUT when it is but
   *     has no probe (it could not be embedded or probed: the problems name why)
   */
  static List<String> anchors(List<String> anchors, List<io.needle.zoo.Expert> pool, Probes probes) {
    List<String> out = new ArrayList<>();
    List<String> byMeta = null;
    for (String anchor : anchors) {
      int n = agnosticCount(anchor);
      if (n > 0) {
        if (byMeta == null) {
          java.util.Map<String, io.needle.zoo.Expert.Metadata> meta = new java.util.HashMap<>();
          for (io.needle.zoo.Expert e : pool) if (e.meta() != null) meta.put(e.id(), e.meta());
          List<String> probed = probes.probes().stream().map(Probe::expert).toList();
          byMeta = new SelectionContext(probed, meta, java.util.Map.of(), null, 1).byMetadata();
        }
        for (String e : byMeta) {
          if (n == 0) break;
          if (!out.contains(e) && !anchors.contains(e)) {
            out.add(e);
            n--;
          }
        }
        continue;
      }
      checkAnchor(anchor, pool);
      if (probes.get(anchor) == null)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, "anchor '" + anchor + "' could not be probed on this task (see the problems listed)");
      if (out.contains(anchor)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "anchor '" + anchor + "' is named twice");
      out.add(anchor);
    }
    return out;
  }

  /** @return a note when fewer anchors could be resolved (probed) than {@code asked} stands for, else null */
  static String anchorsNote(List<String> asked, List<String> resolved) {
    long n = anchorCount(asked);
    return resolved.size() < n ? "only " + resolved.size() + " of the " + n + " anchors asked for could be probed" : null;
  }

  /** @return how many experts the anchors stand for (a {@code task-agnostic:N} counts N) */
  static long anchorCount(List<String> anchors) {
    return anchors.stream().mapToLong(a -> agnosticCount(a) > 0 ? agnosticCount(a) : 1).sum();
  }

  /** @return how many experts a task-agnostic anchor stands for ({@code task-agnostic}: 1, {@code task-agnostic:N}: N), 0 for an expert id */
  static int agnosticCount(String anchor) {
    if (anchor.equals(ANCHOR_TASK_AGNOSTIC)) return 1;
    if (!anchor.startsWith(ANCHOR_TASK_AGNOSTIC + ":")) return 0;
    String n = anchor.substring(ANCHOR_TASK_AGNOSTIC.length() + 1);
    try {
      int v = Integer.parseInt(n);
      if (v >= 1) return v;
    } catch (NumberFormatException e) {
      // said below
    }
    throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "anchor '" + anchor + "': the count after task-agnostic: must be a whole number of 1 or more");
  }

  /**
   * Checks, before anything is embedded, that an anchor names an expert of the pool (or is {@link #ANCHOR_TASK_AGNOSTIC}
   * or {@code task-agnostic:N}); null passes.
   *
   * @throws NeedleException INVALID_ARGUMENT otherwise
   */
  public static void checkAnchor(String anchor, List<io.needle.zoo.Expert> pool) {
    if (anchor != null && agnosticCount(anchor) == 0 && pool.stream().noneMatch(e -> e.id().equals(anchor)))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "anchor '" + anchor + "' is not an expert of the pool (or '" + ANCHOR_TASK_AGNOSTIC + "[:N]')");
  }
}
