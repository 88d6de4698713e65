package io.needle.select;

import io.needle.Needle;
import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.data.Labels;
import io.needle.embed.EmbeddingCache;
import io.needle.embed.Device;
import io.needle.embed.Pipeline;
import io.needle.engine.Backends;
import io.needle.proxy.ExpertInput;
import io.needle.proxy.TaskSignals;
import io.needle.zoo.Selectors;
import io.needle.zoo.Zoo;
import io.needle.proxy.Proxy;
import io.needle.proxy.Settings;
import io.needle.zoo.Expert;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The whole selection for one task: embed the dataset with every expert of the pool (through the cache),
 * score the embeddings with the proxies while the next expert is being embedded, then pick within the budget.
 */
public final class Selector {
  private Selector() {}

  /**
   * @param device ONNX Runtime execution provider: auto, cpu or cuda
   * @param threads CPU threads (inference, preparation, scoring); 0 for all cores
   * @param imageBatch images per inference call
   * @param backend scoring backend: auto, java, cpu or cuda
   * @param proxies proxies to compute; the first ranks the task-aware picks
   * @param settings proxy parameters
   * @param strategy how to pick
   * @param budget how many experts to pick
   * @param halving successive halving over inference ({@link Halving}), or null to embed every image with every expert
   */
  public record Config(Device device, int threads, int imageBatch, Backends.Kind backend, List<Proxy> proxies, Settings settings,
      Strategy strategy, int budget, Halving halving) {
    /** A configuration without successive halving. */
    public Config(Device device, int threads, int imageBatch, Backends.Kind backend, List<Proxy> proxies, Settings settings,
        Strategy strategy, int budget) {
      this(device, threads, imageBatch, backend, proxies, settings, strategy, budget, null);
    }

    /** @return this configuration with successive halving on (or off, for null) */
    public Config withHalving(Halving h) {
      return new Config(device, threads, imageBatch, backend, proxies, settings, strategy, budget, h);
    }

    public Config {
      java.util.Objects.requireNonNull(device, "device");
      java.util.Objects.requireNonNull(backend, "backend");
      java.util.Objects.requireNonNull(strategy, "strategy");
      if (imageBatch < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "image batch must be at least 1");
      if (proxies.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "no proxy chosen");
      if (budget < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "budget must be at least 1");
      proxies = List.copyOf(proxies);
    }
  }

  /**
   * What one expert went through.
   *
   * @param dimension embedding dimension (0 if it failed)
   * @param cached whether its embeddings came from the cache
   * @param seconds inference (or cache read) time
   * @param device where it ran: cpu, cuda, or cache
   */
  public record ExpertRun(String expert, int dimension, boolean cached, double seconds, String device) {}

  /**
   * @param scores every expert's proxies, failed ones with the reason
   * @param problems everything left out: zoo files, images, experts
   * @param experts per-expert inference facts, for experts that were embedded
   * @param selection the picks
   * @param seconds wall time per stage
   * @param backend the scoring backend used
   * @param halving what successive halving did, or null when it was off
   */
  public record Result(List<Score> scores, List<Problem> problems, List<ExpertRun> experts, Selection selection,
      Map<String, Double> seconds, String backend, Halving.Report halving) {
    /** A result of a run without successive halving. */
    public Result(List<Score> scores, List<Problem> problems, List<ExpertRun> experts, Selection selection, Map<String, Double> seconds, String backend) {
      this(scores, problems, experts, selection, seconds, backend, null);
    }
  }

  /** Told about progress, from the calling thread. */
  public interface Progress {
    /** {@code done} experts of {@code total} are embedded; {@code images} of the current one are done. */
    void update(int done, int total, String current, int images, int imageTotal);
  }

  /**
   * Computes one task's selection for {@code needle select} and {@link io.needle.Suite}: {@link #LOCAL} in this JVM; the
   * needle-spark module's runner spreads the pool over a cluster's executors and picks on the driver.
   */
  @FunctionalInterface
  public interface Runner {
    /**
     * @param zoo the pool (already filtered), with its problems and selectors
     * @param images the task
     * @param cacheDir the task's embedding cache folder (one per dataset), or null to run uncached
     * @param progress told about progress from the calling thread; may be null
     */
    Result run(Zoo zoo, Images images, java.nio.file.Path cacheDir, Config c, Progress progress);
  }

  /** {@link #run(Zoo, Images, EmbeddingCache, Config, Progress)} in this JVM, the cache folder opened (and locked) for the run. */
  public static final Runner LOCAL = (zoo, images, cacheDir, c, progress) -> {
    try (EmbeddingCache cache = cacheDir == null ? null : EmbeddingCache.open(cacheDir)) {
      return run(zoo, images, cache, c, progress);
    }
  };

  /** Runs the selection on a zoo's experts (with its selectors, if any); the cache may be null. */
  public static Result run(Zoo zoo, Images images, EmbeddingCache cache, Config c, Progress progress) {
    return run(zoo.experts(), zoo.problems(), zoo.selectors(), images, cache, c, progress);
  }

  /**
   * Runs the selection; the selectors and the cache may be null. Proxies that need a task-level model (EPN, KL) have it
   * computed first, through the same pipeline and cache as the experts.
   */
  public static Result run(List<Expert> pool, List<Problem> zooProblems, Selectors selectors, Images images, EmbeddingCache cache,
      Config c, Progress progress) {
    if (c.halving() != null) return Halving.run(pool, zooProblems, selectors, images, cache, c, progress);
    return run(pool, zooProblems, selectors, images, cache, c, progress, Map.of());
  }

  /** Embeddings an expert already has: the time they took, and where they ran. */
  record Given(Embedding embedding, double seconds, String device) {}

  /**
   * The full run, with the embeddings some experts already have ({@code ready}, by expert id: they skip the pipeline and
   * its cache; successive halving's finalists).
   */
  static Result run(List<Expert> pool, List<Problem> zooProblems, Selectors selectors, Images images, EmbeddingCache cache,
      Config c, Progress progress, Map<String, Given> given) {
    long t0 = System.nanoTime();
    Result r = pick(pool, score(pool, zooProblems, selectors, images, cache, c, progress, given), c);
    Map<String, Double> seconds = new LinkedHashMap<>(r.seconds());
    seconds.put("total", (System.nanoTime() - t0) / 1e9);
    return new Result(r.scores(), r.problems(), r.experts(), r.selection(), Collections.unmodifiableMap(seconds), r.backend());
  }

  /**
   * What {@link #score} computed: a selection without its picks.
   *
   * @param scores every expert's proxies, failed ones with the reason, in pool order then proxy order
   * @param problems everything left out: zoo files, images, experts
   * @param experts per-expert inference facts, for experts that were embedded, in the order they finished
   * @param seconds wall time per stage (embed, cache-read, score-load, one entry per proxy)
   * @param backend the scoring backend used
   */
  public record Scored(List<Score> scores, List<Problem> problems, List<ExpertRun> experts, Map<String, Double> seconds, String backend) {}

  /**
   * Embeds and scores the pool as {@link #run} does without successive halving, and does not pick: the per-expert part
   * of a selection, which a caller may run on parts of a pool (a cluster's executors, say) and join with {@link #pick}.
   * Each expert's scores depend on that expert and the task only, not on the rest of the pool. The config's strategy,
   * budget and halving are not used.
   */
  public static Scored score(List<Expert> pool, List<Problem> zooProblems, Selectors selectors, Images images, EmbeddingCache cache,
      Config c, Progress progress) {
    return score(pool, zooProblems, selectors, images, cache, c, progress, Map.of());
  }

  /** {@link #score(List, List, Selectors, Images, EmbeddingCache, Config, Progress)} with the embeddings some experts already have. */
  static Scored score(List<Expert> pool, List<Problem> zooProblems, Selectors selectors, Images images, EmbeddingCache cache,
      Config c, Progress progress, Map<String, Given> given) {
    Labels labels = images.labelSet();
    List<Problem> problems = Collections.synchronizedList(new ArrayList<>(zooProblems));
    images.problems().forEach(problems::add);
    boolean wantsSignals = needs(c, Proxy.Need.TASK_MODEL);
    TaskSignals signals = wantsSignals && selectors != null ? signals(selectors, images, cache, c, problems) : null;
    List<ExpertRun> runs = new ArrayList<>();
    List<Score> scores = Collections.synchronizedList(new ArrayList<>());
    Map<String, Double> seconds = new LinkedHashMap<>();
    double[] embedSeconds = {0, 0};
    String backendName;
    int scoreBatch = 8;
    BlockingQueue<ExpertInput> queue = new ArrayBlockingQueue<>(2 * scoreBatch);
    ExpertInput end = ExpertInput.of(new Embedding("", new float[1], 1, 1));
    ExecutorService scorer = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "needle-scorer");
      t.setDaemon(true);
      return t;
    });
    try (Needle needle = Needle.builder().backend(c.backend()).threads(c.threads()).proxies(c.proxies()).settings(c.settings()).batch(scoreBatch).build()) {
      backendName = needle.backend().name();
      // scoring runs beside inference: it takes whatever embeddings are ready, up to a batch at a time
      Future<?> scoring = scorer.submit(() -> {
        List<ExpertInput> ready = new ArrayList<>();
        while (true) {
          ready.clear();
          ready.add(queue.take());
          queue.drainTo(ready, scoreBatch - 1);
          boolean last = ready.remove(end);
          if (!ready.isEmpty()) scores.addAll(needle.scoreInputs(labels, ready, signals));
          if (last) return null;
        }
      });
      int[] done = {0};
      // experts whose upstream logits a proxy needs are followed by a run of their logits output (same model, same
      // cache); the expert goes to scoring once both are in, or without logits (and a note) if that run failed
      boolean wantsLogits = needs(c, Proxy.Need.UPSTREAM_LOGITS);
      List<Expert> runList = new ArrayList<>(), readyList = new ArrayList<>();
      for (Expert e : pool) {
        (given.containsKey(e.id()) ? readyList : runList).add(e);
        if (wantsLogits && e.logits() != null) runList.add(e.logitsExpert());
      }
      Map<String, Embedding> waiting = new java.util.HashMap<>(), waitingLogits = new java.util.HashMap<>();
      java.util.Set<String> noLogits = new java.util.HashSet<>();
      Pipeline.Listener listener = new Pipeline.Listener() {
        @Override
        public void embedded(Expert e, Embedding x, boolean cached, double s, String device) {
          embedSeconds[cached ? 1 : 0] += s;
          if (e.id().endsWith(Expert.LOGITS_SUFFIX)) {
            Embedding emb = waiting.remove(base(e));
            if (emb != null) put(queue, new ExpertInput(emb, x, e.meta()), scoring);
            else waitingLogits.put(base(e), x);
            return;
          }
          runs.add(new ExpertRun(e.id(), x.cols(), cached, s, device));
          progress(++done[0], e, 0);
          if (!wantsLogits || e.logits() == null || noLogits.remove(e.id())) put(queue, new ExpertInput(x, null, e.meta()), scoring);
          else if (waitingLogits.containsKey(e.id())) put(queue, new ExpertInput(x, waitingLogits.remove(e.id()), e.meta()), scoring);
          else waiting.put(e.id(), x);
        }

        private String base(Expert e) {
          return e.id().substring(0, e.id().length() - Expert.LOGITS_SUFFIX.length());
        }

        @Override
        public void failed(Expert e, String message) {
          if (e.id().endsWith(Expert.LOGITS_SUFFIX)) {
            problems.add(new Problem(base(e), "upstream logits '" + e.output() + "' unusable, scored without them: " + message));
            Embedding emb = waiting.remove(base(e));
            if (emb != null) put(queue, new ExpertInput(emb, null, e.meta()), scoring);
            else noLogits.add(base(e));
            return;
          }
          waitingLogits.remove(e.id());
          Selector.failed(e, message, c, problems, scores);
          progress(++done[0], e, 0);
        }

        @Override
        public void images(Expert e, int n, int total) {
          progress(done[0], e, n);
        }

        private void progress(int d, Expert e, int n) {
          if (progress != null) progress.update(d, pool.size(), e.id(), n, images.size());
        }
      };
      for (Expert e : readyList) {
        Given g = given.get(e.id());
        listener.embedded(e, g.embedding(), "cache".equals(g.device()), g.seconds(), g.device());
      }
      new Pipeline(c.device().id(), c.threads(), c.imageBatch()).run(runList, images, cache, listener);
      put(queue, end, scoring);
      try {
        scoring.get();
      } catch (ExecutionException ex) {
        if (ex.getCause() instanceof NeedleException ne) throw ne;
        throw new NeedleException(NeedleException.Code.NATIVE_ERROR, "scoring failed: " + ex.getCause(), ex.getCause());
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
      }
      seconds.put("embed", embedSeconds[0]);
      seconds.put("cache-read", embedSeconds[1]);
      needle.secondsPerStage().forEach((k, v) -> seconds.put(k.equals("load") ? "score-load" : k, v));
    } finally {
      scorer.shutdownNow();
    }
    // scores in pool order, whatever order scoring finished in
    Map<String, Integer> order = new LinkedHashMap<>();
    for (Expert e : pool) order.put(e.id(), order.size());
    List<Score> sorted = new ArrayList<>(scores);
    List<String> proxyIds = c.proxies().stream().map(Proxy::id).toList();
    sorted.sort(java.util.Comparator.comparingInt((Score s) -> order.getOrDefault(s.expert(), Integer.MAX_VALUE))
        .thenComparingInt(s -> proxyIds.indexOf(s.proxy())));
    for (Score s : sorted)
      if (s.status() == Score.Status.FAILED && problems.stream().noneMatch(p -> p.subject().equals(s.expert()) || p.subject().startsWith(s.expert() + " (")))
        problems.add(new Problem(s.expert(), s.reason()));
    return new Scored(List.copyOf(sorted), List.copyOf(problems), List.copyOf(runs), Collections.unmodifiableMap(seconds), backendName);
  }

  /**
   * Applies the config's strategy once over every score of the pool ({@link Strategies#select} on {@link #context}).
   *
   * @param pool the experts, in the order the strategy breaks ties by
   * @param s the pool's scores, as {@link #score} gives them (or the union of its runs on parts of the pool, in pool order)
   */
  public static Result pick(List<Expert> pool, Scored s, Config c) {
    long ts = System.nanoTime();
    Selection sel = Strategies.select(c.strategy(), context(pool, s.scores(), c.proxies().get(0).id(), c.budget()));
    Map<String, Double> seconds = new LinkedHashMap<>(s.seconds());
    seconds.put("select", (System.nanoTime() - ts) / 1e9);
    return new Result(s.scores(), s.problems(), s.experts(), sel, Collections.unmodifiableMap(seconds), s.backend());
  }

  /** An expert that cannot be embedded: a problem naming it and its file, and a failed score for every proxy. */
  static void failed(Expert e, String message, Config c, List<Problem> problems, java.util.Collection<Score> scores) {
    // embedder messages start with "<id> (<file>): "; the subject says that once
    String subject = e.id() + " (" + e.file().getFileName() + ")";
    problems.add(new Problem(subject, message.startsWith(subject + ": ") ? message.substring(subject.length() + 2) : message));
    for (Proxy p : c.proxies()) scores.add(Score.failed(e.id(), p.id(), message));
  }

  /** @return whether a proxy of the configuration needs this */
  static boolean needs(Config c, Proxy.Need need) {
    return c.proxies().stream().anyMatch(p -> p.needs().contains(need));
  }

  /**
   * @return every model a selection with this configuration runs through the pipeline: the pool, the upstream-logits
   *     runs its proxies need, and the zoo's selector models when a proxy needs them (may be null)
   */
  public static List<Expert> models(List<Expert> pool, Selectors selectors, Config c) {
    List<Expert> out = new ArrayList<>(pool);
    if (needs(c, Proxy.Need.UPSTREAM_LOGITS)) for (Expert e : pool) if (e.logits() != null) out.add(e.logitsExpert());
    if (needs(c, Proxy.Need.TASK_MODEL) && selectors != null) out.addAll(selectorModels(selectors));
    return out;
  }

  private static List<Expert> selectorModels(Selectors sel) {
    List<Expert> models = new ArrayList<>();
    if (sel.expertPrediction() != null) models.add(sel.expertPrediction());
    if (sel.genericClassifier() != null) models.add(sel.genericClassifier());
    return models;
  }

  /** Runs the zoo's selector models on the task's images; a selector that fails is a problem, and its proxies undefined. */
  private static TaskSignals signals(Selectors sel, Images images, EmbeddingCache cache, Config c, List<Problem> problems) {
    List<Expert> models = selectorModels(sel);
    Map<String, Embedding> outputs = new LinkedHashMap<>();
    Map<String, List<String>> columns = new LinkedHashMap<>();
    new Pipeline(c.device().id(), c.threads(), c.imageBatch()).run(models, images, cache, new Pipeline.Listener() {
      @Override
      public void embedded(Expert e, Embedding x, boolean cached, double s, String device) {
        boolean epn = e == sel.expertPrediction();
        List<String> cols = epn ? sel.epnExperts() : sel.upstreamClasses();
        if (x.cols() != cols.size()) {
          problems.add(new Problem(e.file().getFileName().toString(), "gives " + x.cols() + " outputs but " + Selectors.FILE + " names " + cols.size()));
          return;
        }
        String key = epn ? TaskSignals.EXPERT_PREDICTION : TaskSignals.GENERIC_CLASSIFIER;
        outputs.put(key, x);
        columns.put(key, cols);
      }

      @Override
      public void failed(Expert e, String message) {
        problems.add(new Problem(e.file().getFileName().toString(), message));
      }
    });
    return new TaskSignals(outputs, columns, sel.priors(), sel.epnSoftmax(), sel.epnColumns());
  }

  /** @return the strategy's view of a task's scores */
  public static SelectionContext context(List<Expert> pool, List<Score> scores, String proxy, int budget) {
    Map<String, Expert.Metadata> meta = new LinkedHashMap<>();
    for (Expert e : pool) meta.put(e.id(), e.meta());
    Map<String, Map<String, Score>> byProxy = new LinkedHashMap<>();
    for (Score s : scores) byProxy.computeIfAbsent(s.proxy(), k -> new LinkedHashMap<>()).put(s.expert(), s);
    return new SelectionContext(pool.stream().map(Expert::id).toList(), meta, byProxy, proxy, budget);
  }

  /** Hands an embedding to the scorer, failing fast if the scorer has died. */
  private static void put(BlockingQueue<ExpertInput> q, ExpertInput x, Future<?> scoring) {
    try {
      while (!q.offer(x, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        if (scoring.isDone()) {
          try {
            scoring.get();
          } catch (ExecutionException ex) {
            if (ex.getCause() instanceof NeedleException ne) throw ne;
            throw new NeedleException(NeedleException.Code.NATIVE_ERROR, "scoring failed: " + ex.getCause(), ex.getCause());
          }
          throw new IllegalStateException("scorer stopped early");
        }
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
    }
  }
}
