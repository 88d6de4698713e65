package io.needle;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import io.needle.engine.Backends;
import io.needle.proxy.ExpertInput;
import io.needle.proxy.Option;
import io.needle.proxy.Proxies;
import io.needle.proxy.Proxy;
import io.needle.proxy.Settings;
import io.needle.proxy.TaskData;
import io.needle.proxy.TaskSignals;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The scoring entry point a pipeline calls: scores experts (their embeddings of one task's labelled examples) with
 * the chosen proxies on the chosen backend.
 *
 * <pre>{@code
 * try (Needle needle = Needle.builder().proxies("knn-loo", "logme").set(Knn.K, 3).build()) {
 *   List<Score> scores = needle.score(labels, List.of(new Embedding("vit", x, 1000, 768)));
 * }
 * }</pre>
 *
 * Experts are processed in batches ({@link Builder#batch}); a bad expert fails alone, with its reason in its
 * {@link Score}s, and the others are scored. A proxy that does not apply to an expert (it needs upstream logits the
 * expert lacks, say) gives an {@code undefined} score with the reason. Not thread-safe.
 */
public final class Needle implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle");

  private final Backend backend;
  private final List<Proxy> proxies;
  private final Settings settings;
  private final int batch;
  private final Map<String, Long> nanos = new LinkedHashMap<>();

  private Needle(Builder b) {
    this.backend = Backends.open(b.backend, b.threads);
    this.proxies = List.copyOf(b.proxies);
    this.settings = b.settings;
    this.batch = b.batch;
  }

  /** @return a builder with the defaults: backend auto, all cores, knn-loo only, default settings */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures a {@link Needle}. */
  public static final class Builder {
    private String backend = "auto";
    private int threads = 0;
    private List<Proxy> proxies = List.of(Proxies.get("knn-loo"));
    private Settings settings = Settings.defaults();
    private int batch = 8;

    /** @param name auto, java, cpu or cuda */
    public Builder backend(String name) { this.backend = Backends.Kind.parse(name).id(); return this; }
    /** @param kind the backend (AUTO: the best usable here) */
    public Builder backend(Backends.Kind kind) { this.backend = kind.id(); return this; }
    /** @param n CPU threads; 0 means all cores */
    public Builder threads(int n) { this.threads = n; return this; }
    /** @param ids proxy ids ({@link Proxies#ids()}, or "all"), in report order */
    public Builder proxies(String... ids) { return proxies(Proxies.parse(Arrays.asList(ids))); }
    /** @param p the proxies to compute, in report order */
    public Builder proxies(List<Proxy> p) {
      if (p.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "no proxy chosen");
      this.proxies = List.copyOf(new LinkedHashSet<>(p));
      return this;
    }
    /** @param s every proxy parameter at once */
    public Builder settings(Settings s) { this.settings = s; return this; }
    /** Sets one proxy parameter (validated now). */
    public <T> Builder set(Option<T> o, T value) { this.settings = settings.with(o, value); return this; }
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

  /** @return the settings in use */
  public Settings settings() {
    return settings;
  }

  /** @return seconds spent per stage so far ("load", "knn-loo", ...) */
  public Map<String, Double> secondsPerStage() {
    Map<String, Double> out = new LinkedHashMap<>();
    nanos.forEach((k, v) -> out.put(k, v / 1e9));
    return out;
  }

  /** Scores in-memory embeddings. */
  public List<Score> score(Labels labels, List<Embedding> experts) {
    List<ExpertInput> in = new ArrayList<>();
    for (Embedding e : experts) in.add(ExpertInput.of(e));
    return scoreInputs(labels, in, null);
  }

  /** Scores experts with everything known of them (embeddings, upstream logits, metadata) and the task's signals (may be null). */
  public List<Score> scoreInputs(Labels labels, List<ExpertInput> experts, TaskSignals signals) {
    List<Supplier<ExpertInput>> s = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (ExpertInput e : experts) {
      s.add(() -> e);
      names.add(e.id());
    }
    return score(labels, names, s, signals, null, false);
  }

  /** Scores in-memory float arrays, one row-major {@code n x d[t]} matrix per expert, for labels of any integers. */
  public List<Score> score(int[] labels, Map<String, float[]> experts) {
    Labels l = Labels.anyClasses(labels, "labels");
    List<Embedding> list = new ArrayList<>();
    experts.forEach((name, x) -> {
      if (x.length % labels.length != 0)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, name + ": " + x.length + " values are not a multiple of " + labels.length + " examples");
      list.add(new Embedding(name, x, labels.length, x.length / labels.length));
    });
    return score(l, list);
  }

  /**
   * Scores experts listed from a folder, reading each only when its batch comes up (the next batch is read while one is
   * scored). Float32 {@code .npy} embeddings are read off the Java heap into buffers reused from batch to batch, which
   * native backends use in place.
   */
  public List<Score> scoreSources(Labels labels, List<Experts.Source> sources, Progress progress) {
    try (io.needle.data.OffHeap pool = new io.needle.data.OffHeap()) {
      List<Supplier<ExpertInput>> s = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (Experts.Source src : sources) {
        s.add(() -> {
          io.needle.data.Embedding e = src.load(pool);
          try {
            return new ExpertInput(e, src.loadLogits(), null);
          } catch (RuntimeException ex) {
            e.release();
            throw ex;
          }
        });
        names.add(src.expert());
      }
      return score(labels, names, s, null, progress, true);
    }
  }

  /** Told after each batch. */
  public interface Progress {
    void done(int experts, int total);
  }

  /** @param release whether the inputs are this call's own, to {@link io.needle.data.Embedding#release release} once scored */
  private List<Score> score(Labels labels, List<String> names, List<Supplier<ExpertInput>> loaders, TaskSignals signals, Progress progress,
      boolean release) {
    java.util.Set<String> unique = new java.util.HashSet<>();
    for (String name : names)  // results are keyed by name: a second expert of one name would replace the first
      if (!unique.add(name)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "expert '" + name + "' is given twice; expert names must be unique");
    TaskData task = new TaskData(backend, labels, settings, signals);
    if (labels.classes() < 2) {  // nothing to rank against: every score undefined, none failed
      List<Score> out = new ArrayList<>();
      for (String name : names)
        for (Proxy p : proxies)
          out.add(Score.undefined(name, p.id(), name + ": " + p.id() + ": the task has a single class (label " + labels.original(0) + "): no proxy applies"));
      return out;
    }
    for (Proxy p : proxies) {
      String w = p.warning(task);
      if (w != null) LOG.warn(w);
      if (p.needs().contains(Proxy.Need.SPLIT)) task.split();  // too few examples to split stops the run here, once
    }
    List<Score> out = new ArrayList<>();
    // the next batch is read (and validated) on a background thread while this one is scored
    java.util.concurrent.ExecutorService reader = loaders.size() > batch ? java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "needle-read-ahead");
      t.setDaemon(true);
      return t;
    }) : null;
    java.util.concurrent.Future<Object[]> ahead = null;
    List<ExpertInput> ok = List.of();
    try {
      for (int b0 = 0; b0 < loaders.size(); b0 += batch) {
        int b1 = Math.min(loaders.size(), b0 + batch);
        long t0 = System.nanoTime();
        Object[] loaded = ahead != null ? await(ahead) : load(loaders, b0, b1, labels.size(), release);
        add("load", t0);  // the time spent waiting for the batch: reading that did not overlap scoring
        int n0 = b1, n1 = Math.min(loaders.size(), b1 + batch);
        ahead = n0 < n1 ? reader.submit(() -> load(loaders, n0, n1, labels.size(), release)) : null;
        ok = new ArrayList<>();
        Map<String, Score[]> row = new LinkedHashMap<>();
        for (int i = b0; i < b1; i++) {
          String name = names.get(i);
          Score[] r = new Score[proxies.size()];
          row.put(name, r);
          if (loaded[i - b0] instanceof ExpertInput in) ok.add(in);
          else for (int p = 0; p < r.length; p++) r[p] = Score.failed(name, proxies.get(p).id(), ((NeedleException) loaded[i - b0]).getMessage());
        }
        for (int p = 0; p < proxies.size(); p++) {
          Proxy proxy = proxies.get(p);
          long t = System.nanoTime();
          List<ExpertInput> applicable = new ArrayList<>();
          for (ExpertInput in : ok) {
            String missing = missing(proxy, in, signals);
            if (missing == null) applicable.add(in);
            else row.get(in.id())[p] = Score.undefined(in.id(), proxy.id(), in.id() + ": " + proxy.id() + " needs " + missing);
          }
          for (Score s : computeIsolated(proxy, task, applicable)) row.get(s.expert())[p] = s;
          add(proxy.id(), t);
        }
        row.values().forEach(r -> out.addAll(Arrays.asList(r)));
        if (release) ok.forEach(Needle::release);
        if (progress != null) progress.done(b1, loaders.size());
      }
    } finally {
      // on the way out by an exception: the batch being scored and the one read ahead give their buffers back (release
      // is idempotent), and the reader is waited for, so that nothing is still reading when this returns
      if (release) ok.forEach(Needle::release);
      if (ahead != null) {
        try {
          for (Object o : ahead.get())
            if (release && o instanceof ExpertInput in) release(in);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
          // the read-ahead failed: load released what it had read
        }
      }
      if (reader != null) reader.shutdownNow();
    }
    return out;
  }

  /**
   * Reads and validates experts [b0, b1): each entry the {@link ExpertInput}, or the {@link NeedleException} it failed
   * with (an input that fails validation is released at once when {@code release}).
   */
  private static Object[] load(List<Supplier<ExpertInput>> loaders, int b0, int b1, int examples, boolean release) {
    Object[] out = new Object[b1 - b0];
    try {
      for (int i = b0; i < b1; i++) {
        ExpertInput in = null;
        try {
          in = loaders.get(i).get();
          in.embedding().validate(examples);
          if (in.logits() != null) in.logits().validate(examples);
          out[i - b0] = in;
        } catch (NeedleException e) {
          if (release && in != null) release(in);
          out[i - b0] = e;
        } catch (RuntimeException | Error e) {
          if (release && in != null) release(in);
          throw e;
        }
      }
    } catch (RuntimeException | Error e) {  // not an expert's bad input: what was read so far goes back before it travels
      if (release)
        for (Object o : out)
          if (o instanceof ExpertInput in) release(in);
      throw e;
    }
    return out;
  }

  private static void release(ExpertInput in) {
    in.embedding().release();
    if (in.logits() != null) in.logits().release();
  }

  private static Object[] await(java.util.concurrent.Future<Object[]> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NeedleException(NeedleException.Code.IO, "interrupted while reading experts", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      if (e.getCause() instanceof Error err) throw err;
      throw new IllegalStateException(e.getCause());
    }
  }

  /** @return what an expert or the task lacks that the proxy needs, or null */
  private static String missing(Proxy p, ExpertInput in, TaskSignals signals) {
    if (p.needs().contains(Proxy.Need.UPSTREAM_LOGITS) && in.logits() == null)
      return "the expert's upstream classifier outputs (name them with \"logits\" in zoo.json, or give <expert>.logits.npy)";
    if (p.needs().contains(Proxy.Need.METADATA) && in.meta() == null) return "the expert's metadata (a zoo)";
    if (p.needs().contains(Proxy.Need.TASK_MODEL) && signals == null) return "the task's images and the zoo's selectors (selectors/selectors.json)";
    return null;
  }

  /** Computes a proxy for a batch; if the batch fails, retries expert by expert so only the culprit fails. */
  private static List<Score> computeIsolated(Proxy proxy, TaskData task, List<ExpertInput> in) {
    if (in.isEmpty()) return List.of();
    try {
      return checked(proxy, in, proxy.score(task, in));
    } catch (NeedleException e) {
      if (in.size() == 1) return List.of(Score.of(in.get(0).id(), proxy.id(), e));
    }
    List<Score> out = new ArrayList<>();
    for (ExpertInput x : in) {
      try {
        out.addAll(checked(proxy, List.of(x), proxy.score(task, List.of(x))));
      } catch (NeedleException ex) {
        out.add(Score.of(x.id(), proxy.id(), ex));
      }
    }
    return out;
  }

  /** A proxy must return one score per input, in order, under its own id. */
  private static List<Score> checked(Proxy proxy, List<ExpertInput> in, List<Score> got) {
    if (got.size() != in.size())
      throw new IllegalStateException("proxy " + proxy.id() + " returned " + got.size() + " scores for " + in.size() + " experts");
    for (int i = 0; i < got.size(); i++)
      if (!got.get(i).expert().equals(in.get(i).id()) || !got.get(i).proxy().equals(proxy.id()))
        throw new IllegalStateException("proxy " + proxy.id() + " returned a score of " + got.get(i).expert() + "/" + got.get(i).proxy() + " for " + in.get(i).id());
    return got;
  }

  private void add(String stage, long since) {
    nanos.merge(stage, System.nanoTime() - since, Long::sum);
  }

  @Override
  public void close() {
    backend.close();
  }
}
