package io.needle;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Options;
import io.needle.proxy.Proxy;
import io.needle.proxy.Split;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The entry point a pipeline calls: scores experts (embeddings of one task's labelled examples) with the
 * chosen proxies on the chosen backend.
 *
 * <pre>{@code
 * try (Needle needle = Needle.builder().proxies(Proxy.KNN_LOO, Proxy.LINEAR).build()) {
 *   List<Score> scores = needle.score(labels, List.of(new Embedding("vit", x, 1000, 768)));
 * }
 * }</pre>
 *
 * Experts are processed in batches ({@link Builder#batch}); a bad expert fails alone, with its reason in its
 * {@link Score}s, and the others are scored. Not thread-safe.
 */
public final class Needle implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.needle");

  private final Backend backend;
  private final List<Proxy> proxies;
  private final Options options;
  private final int batch;
  private final Map<String, Long> nanos = new LinkedHashMap<>();

  private Needle(Builder b) {
    this.backend = Backends.open(b.backend, b.threads);
    this.proxies = List.copyOf(b.proxies);
    this.options = b.options;
    this.batch = b.batch;
  }

  /** @return a builder with the defaults: backend auto, all cores, knn-loo only, {@link Options#defaults()} */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures a {@link Needle}. */
  public static final class Builder {
    private String backend = "auto";
    private int threads = 0;
    private List<Proxy> proxies = List.of(Proxy.KNN_LOO);
    private Options options = Options.defaults();
    private int batch = 8;

    /** @param name auto, java, cpu or cuda */
    public Builder backend(String name) { this.backend = name; return this; }
    /** @param n CPU threads; 0 means all cores */
    public Builder threads(int n) { this.threads = n; return this; }
    /** @param p the proxies to compute, in report order */
    public Builder proxies(Proxy... p) { return proxies(Arrays.asList(p)); }
    /** @param p the proxies to compute, in report order */
    public Builder proxies(List<Proxy> p) {
      if (p.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "no proxy chosen");
      this.proxies = List.copyOf(new java.util.LinkedHashSet<>(p));
      return this;
    }
    /** @param o proxy parameters */
    public Builder options(Options o) { this.options = o; return this; }
    /** @param n experts held in memory and sent to the backend together */
    public Builder batch(int n) {
      if (n < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "batch must be at least 1");
      this.batch = n;
      return this;
    }
    /** @throws NeedleException BACKEND_UNAVAILABLE if the named backend cannot run here */
    public Needle build() { return new Needle(this); }
  }

  /** @return the backend in use */
  public Backend backend() {
    return backend;
  }

  /** @return the proxies computed, in report order */
  public List<Proxy> proxies() {
    return proxies;
  }

  /** @return seconds spent per stage so far ("load", "knn-loo", ...) */
  public Map<String, Double> secondsPerStage() {
    Map<String, Double> out = new LinkedHashMap<>();
    nanos.forEach((k, v) -> out.put(k, v / 1e9));
    return out;
  }

  /** Scores in-memory embeddings. */
  public List<Score> score(Labels labels, List<Embedding> experts) {
    List<Supplier<Embedding>> s = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Embedding e : experts) {
      s.add(() -> e);
      names.add(e.expert());
    }
    return score(labels, names, s, null);
  }

  /** Scores in-memory float arrays, one row-major {@code n x d[t]} matrix per expert, for labels of any integers. */
  public List<Score> score(int[] labels, Map<String, float[]> experts) {
    Labels l = Labels.of(labels, "labels");
    List<Embedding> list = new ArrayList<>();
    experts.forEach((name, x) -> {
      if (x.length % labels.length != 0)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, name + ": " + x.length + " values are not a multiple of " + labels.length + " examples");
      list.add(new Embedding(name, x, labels.length, x.length / labels.length));
    });
    return score(l, list);
  }

  /** Scores experts listed from a folder, reading each only when its batch comes up. */
  public List<Score> scoreSources(Labels labels, List<Experts.Source> sources, Progress progress) {
    List<Supplier<Embedding>> s = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Experts.Source src : sources) {
      s.add(src::load);
      names.add(src.expert());
    }
    return score(labels, names, s, progress);
  }

  /** Told after each batch. */
  public interface Progress {
    void done(int experts, int total);
  }

  private List<Score> score(Labels labels, List<String> names, List<Supplier<Embedding>> loaders, Progress progress) {
    int[] y = labels.classes0();
    if (proxies.contains(Proxy.KNN_LOO) && labels.singletons().length > 0)
      LOG.log(System.Logger.Level.WARNING, "classes " + Arrays.toString(labels.singletons())
          + " have a single example: knn-loo counts each as misclassified (its only same-class example is itself, which is excluded)");
    Split split = null;
    if (proxies.contains(Proxy.KNN_SPLIT) || proxies.contains(Proxy.LINEAR)) {
      split = Split.stratified(labels, options.valFraction(), options.seed());
      if (split.val().length == 0 || split.train().length == 0)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, "labels: " + labels.size() + " examples are too few for a train/validation split");
    }
    List<Score> out = new ArrayList<>();
    for (int b0 = 0; b0 < loaders.size(); b0 += batch) {
      int b1 = Math.min(loaders.size(), b0 + batch);
      List<Embedding> ok = new ArrayList<>();
      Map<String, Score[]> row = new LinkedHashMap<>();
      long t0 = System.nanoTime();
      for (int i = b0; i < b1; i++) {
        String name = names.get(i);
        Score[] r = new Score[proxies.size()];
        row.put(name, r);
        try {
          ok.add(loaders.get(i).get().validate(y.length));
        } catch (NeedleException e) {
          for (int p = 0; p < r.length; p++) r[p] = Score.failed(name, proxies.get(p).id(), e.getMessage());
        }
      }
      add("load", t0);
      for (int p = 0; p < proxies.size(); p++) {
        Proxy proxy = proxies.get(p);
        long t = System.nanoTime();
        double[] s = computeIsolated(proxy, ok, y, labels.classes(), split, row, p);
        for (int e = 0; e < ok.size(); e++)
          if (s[e] >= 0) row.get(ok.get(e).expert())[p] = Score.ok(ok.get(e).expert(), proxy.id(), s[e]);
        add(proxy.id(), t);
      }
      row.values().forEach(r -> out.addAll(Arrays.asList(r)));
      if (progress != null) progress.done(b1, loaders.size());
    }
    return out;
  }

  /** Computes a proxy for a batch; if the batch fails, retries expert by expert so only the culprit fails. */
  private double[] computeIsolated(Proxy proxy, List<Embedding> ok, int[] y, int classes, Split split, Map<String, Score[]> row, int p) {
    if (ok.isEmpty()) return new double[0];
    try {
      return compute(proxy, ok, y, classes, split);
    } catch (NeedleException e) {
      if (ok.size() == 1) {
        row.get(ok.get(0).expert())[p] = Score.failed(ok.get(0).expert(), proxy.id(), e.getMessage());
        return new double[] {-1};
      }
    }
    double[] out = new double[ok.size()];
    for (int e = 0; e < ok.size(); e++) {
      try {
        out[e] = compute(proxy, List.of(ok.get(e)), y, classes, split)[0];
      } catch (NeedleException ex) {
        out[e] = -1;
        row.get(ok.get(e).expert())[p] = Score.failed(ok.get(e).expert(), proxy.id(), ex.getMessage());
      }
    }
    return out;
  }

  private double[] compute(Proxy proxy, List<Embedding> ok, int[] y, int classes, Split split) {
    return switch (proxy) {
      case KNN_LOO -> Knn.leaveOneOut(backend, ok, y, options);
      case KNN_SPLIT -> Knn.trainVal(backend, ok, y, split, options);
      case LINEAR -> LinearProbe.score(backend, ok, y, classes, split, options);
    };
  }

  private void add(String stage, long since) {
    nanos.merge(stage, System.nanoTime() - since, Long::sum);
  }

  @Override
  public void close() {
    backend.close();
  }
}
