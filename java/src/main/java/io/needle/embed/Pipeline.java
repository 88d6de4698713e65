package io.needle.embed;

import io.needle.NeedleException;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.zoo.Expert;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Embeds a dataset with every expert of a pool, through the cache: experts whose embeddings are cached are
 * read back without loading their model; the others are computed, written to the cache as soon as each is
 * done, and handed on. A model file is loaded once for all the experts (adapters) it holds. A failure (model
 * will not load, input does not fit, inference error) is reported for the experts concerned and the run goes
 * on.
 */
public final class Pipeline {
  /** Told what happens, in order, from the calling thread. */
  public interface Listener {
    /** An expert's embeddings are ready. */
    void embedded(Expert e, Embedding x, boolean cached, double seconds, String device);

    /** An expert cannot be embedded. */
    void failed(Expert e, String message);

    /** Progress within an expert: {@code done} of {@code total} images. */
    default void images(Expert e, int done, int total) {}
  }

  private final String device;
  private final int threads;
  private final int batch;
  private final int workers;

  /**
   * @param device "auto", "cpu" or "cuda" (ONNX Runtime execution provider)
   * @param threads ONNX Runtime intra-op and preparation threads, 0 for all cores
   * @param batch images per inference call
   */
  public Pipeline(String device, int threads, int batch) {
    this(device, threads, batch, 0);
  }

  /**
   * @param workers models run at the same time, each on its share of the threads; 0 chooses: on the CPU, as many as
   *     there are cores (up to 4) when the models are small (at most {@link #SMALL_MODEL} bytes on average), whose
   *     inference uses several threads poorly and whose session creation is single-threaded; else 1
   */
  public Pipeline(String device, int threads, int batch, int workers) {
    if (!device.equals("auto") && !device.equals("cpu") && !device.equals("cuda"))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown device '" + device + "': use auto, cpu or cuda");
    if (workers < 0) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "workers must be 0 (automatic) or more");
    // "cuda" asked for on a build without the CUDA provider fails here, before the cache is looked at: a run whose
    // embeddings are all cached would otherwise succeed without ever saying the device was not usable
    if (device.equals("cuda")) Model.requireCudaProvider();
    this.device = device;
    this.threads = threads;
    this.batch = batch;
    this.workers = workers;
  }

  /** Models up to this size (bytes, on average over a run) count as small: several run at once on the CPU. */
  public static final long SMALL_MODEL = 8L << 20;

  /** Runs every expert; the cache may be null (nothing reused or kept). */
  public void run(List<Expert> experts, Images images, EmbeddingCache cache, Listener listener) {
    java.util.ArrayList<EmbeddingCache> caches = new ArrayList<>();
    caches.add(cache);
    runTasks(experts, List.of(images), caches, new TaskListener() {
      @Override
      public void embedded(int task, Expert e, Embedding x, boolean cached, double seconds, String device) {
        listener.embedded(e, x, cached, seconds, device);
      }

      @Override
      public void failed(int task, Expert e, String message) {
        listener.failed(e, message);
      }

      @Override
      public void images(int task, Expert e, int done, int total) {
        listener.images(e, done, total);
      }
    });
  }

  /** Told about each expert on each task (expert-major runs). */
  public interface TaskListener {
    void embedded(int task, Expert e, Embedding x, boolean cached, double seconds, String device);

    void failed(int task, Expert e, String message);

    default void images(int task, Expert e, int done, int total) {}
  }

  /**
   * Expert-major: embeds several tasks' images with every expert, each model loaded once for all the tasks, into each
   * task's cache (an expert already cached for a task is skipped there). Memory stays bounded by the models running at
   * once: embeddings go to the caches, not to the caller. Failures are left for the per-task runs to report.
   *
   * @param progress told {@code (done, total, expert)} after each (expert, task), or null
   * @return per expert id, on how many tasks it was computed (not read from the cache)
   */
  public Map<String, Integer> prefetch(List<Expert> experts, List<Images> tasks, List<EmbeddingCache> caches, Progress progress) {
    if (tasks.size() != caches.size() || caches.contains(null)) throw new IllegalArgumentException("one cache per task");
    Map<String, Integer> computed = new LinkedHashMap<>();
    int[] done = {0};
    int total = experts.size() * tasks.size();
    runTasks(experts, tasks, caches, new TaskListener() {
      @Override
      public synchronized void embedded(int task, Expert e, Embedding x, boolean cached, double seconds, String device) {
        if (!cached) computed.merge(e.id(), 1, Integer::sum);
        if (progress != null) progress.update(++done[0], total, e.id());
      }

      @Override
      public synchronized void failed(int task, Expert e, String message) {
        if (progress != null) progress.update(++done[0], total, e.id());
      }
    });
    return computed;
  }

  /** Progress of {@link #prefetch}: {@code done} of {@code total} (expert, task) pairs. */
  public interface Progress {
    void update(int done, int total, String expert);
  }

  private void runTasks(List<Expert> experts, List<Images> tasks, List<EmbeddingCache> caches, TaskListener listener) {
    // experts sharing a model file and output share one loaded session
    Map<String, List<Expert>> groups = new LinkedHashMap<>();
    for (Expert e : experts) groups.computeIfAbsent(e.file() + "\n" + e.output(), k -> new ArrayList<>()).add(e);
    int cores = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    int forced = Integer.getInteger("needle.embedWorkers", 0);  // for benchmarks: overrides the automatic choice
    int w = Math.min(groups.size(), workers > 0 ? workers : forced > 0 ? forced : autoWorkers(groups.values(), cores));
    if (w <= 1) {
      try (Embedder embedder = new Embedder(batch, threads)) {
        for (List<Expert> group : groups.values()) group(group, tasks, caches, listener, embedder, threads);
      }
      return;
    }
    // several models at once, each on its share of the cores; the listener hears one event at a time, and in the
    // order of the experts, as from one worker (what callers build from the events does not depend on timing)
    List<List<Expert>> ordered = new ArrayList<>(groups.values());
    InOrder inOrder = new InOrder(listener, ordered.size());
    int each = Math.max(1, cores / w);
    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(w, r -> {
      Thread t = new Thread(r, "needle-embed");
      t.setDaemon(true);
      return t;
    });
    List<java.util.concurrent.Future<?>> running = new ArrayList<>();
    // a worker runs at most this many groups ahead of the first unfinished one: the events of later groups, each
    // holding its embeddings, wait for that one, so a slow group must not let the others run through the whole pool
    int window = 2 * w;
    try {
      for (int i = 0; i < w; i++) {
        running.add(pool.submit(() -> {
          try (Embedder embedder = new Embedder(batch, each)) {
            while (!stop.get()) {
              int g = next.getAndIncrement();
              if (g >= ordered.size() || !inOrder.admit(g, window, stop)) return null;
              try {
                group(ordered.get(g), tasks, caches, inOrder.of(g), embedder, each);
              } finally {
                inOrder.done(g);
              }
            }
          } catch (RuntimeException | Error ex) {
            stop.set(true);  // a fatal error (the cache cannot be written, CUDA asked for and missing) stops every worker
            inOrder.wake();
            throw ex;
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : running) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException ex) {
          if (ex.getCause() instanceof RuntimeException re) throw re;
          throw new NeedleException(NeedleException.Code.IO, "embedding failed: " + ex.getCause(), ex.getCause());
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          stop.set(true);
          throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
        }
      }
    } finally {
      stop.set(true);
      inOrder.wake();
      pool.shutdownNow();
      // no worker outlives the run: none calls the listener or writes the cache after the caller has moved on (closed
      // the cache, released its lock); a worker finishes at most the batch it is running
      boolean interrupted = false;
      while (true) {
        try {
          if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) break;
        } catch (InterruptedException ex) {
          interrupted = true;
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
    }
  }

  /** As many workers as cores (up to 4) for small models on the CPU, else one (also whenever CUDA may be used). */
  private int autoWorkers(java.util.Collection<List<Expert>> groups, int cores) {
    // one model at a time on a GPU; and with auto, workers loading models at once could put some on CUDA and others
    // on the CPU depending on which hit a failing CUDA start first
    if (Model.mayUseCuda(device) || cores < 2) return 1;
    long bytes = 0;
    int files = 0;
    for (List<Expert> g : groups) {
      try {
        bytes += java.nio.file.Files.size(g.get(0).file());
        files++;
      } catch (java.io.IOException ex) {
        // unreadable: its group fails on its own later
      }
    }
    return files > 0 && bytes / files <= SMALL_MODEL ? Math.min(cores, 4) : 1;
  }

  /**
   * Hands the events of parallel workers on one at a time and in the order of the groups: a group's events wait until
   * every earlier group is done. Workers start a group only within a window of the first unfinished one
   * ({@link #admit}), so at most that many groups' events (and embeddings) are held.
   */
  private static final class InOrder {
    private final TaskListener l;
    private final List<List<Runnable>> waiting = new ArrayList<>();
    private final boolean[] finished;
    private int current;

    InOrder(TaskListener l, int groups) {
      this.l = l;
      for (int i = 0; i < groups; i++) waiting.add(new ArrayList<>());
      finished = new boolean[groups];
    }

    private synchronized void event(int g, Runnable r) {
      if (g == current) r.run();
      else waiting.get(g).add(r);
    }

    /**
     * Waits until group g is within {@code window} groups of the first unfinished one. Cannot deadlock: groups are taken
     * in order, so the first unfinished group is held by a worker that is not waiting here.
     *
     * @return false if the run stopped (or the wait was interrupted) before that
     */
    synchronized boolean admit(int g, int window, java.util.concurrent.atomic.AtomicBoolean stop) {
      while (g >= current + window && !stop.get()) {
        try {
          wait();
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return !stop.get();
    }

    /** Wakes workers waiting in {@link #admit} (the run stops). */
    synchronized void wake() {
      notifyAll();
    }

    synchronized void done(int g) {
      notifyAll();
      finished[g] = true;
      while (current < finished.length && finished[current]) {
        current++;
        if (current < finished.length) {
          for (Runnable r : waiting.get(current)) r.run();
          waiting.get(current).clear();
        }
      }
    }

    TaskListener of(int g) {
      return new TaskListener() {
        @Override
        public void embedded(int task, Expert e, Embedding x, boolean cached, double seconds, String device) {
          event(g, () -> l.embedded(task, e, x, cached, seconds, device));
        }

        @Override
        public void failed(int task, Expert e, String message) {
          event(g, () -> l.failed(task, e, message));
        }

        @Override
        public void images(int task, Expert e, int done, int total) {
          event(g, () -> l.images(task, e, done, total));
        }
      };
    }
  }

  /** Runs the experts of one model file on every task: cache hits first, then one session for the rest. */
  private void group(List<Expert> group, List<Images> tasks, List<EmbeddingCache> caches, TaskListener listener, Embedder embedder, int modelThreads) {
    long pause = Long.getLong("needle.test.pauseAfterExpertMs", 0);  // test hook: widens the window for kill tests
    List<List<Expert>> todo = new ArrayList<>();
    List<Map<Expert, String>> keys = new ArrayList<>();  // per task: the cache key each expert was looked up under
    boolean any = false;
    for (int t = 0; t < tasks.size(); t++) {
      Images images = tasks.get(t);
      EmbeddingCache cache = caches.get(t);
      List<Expert> left = new ArrayList<>();
      Map<Expert, String> taskKeys = new java.util.HashMap<>();
      keys.add(taskKeys);
      for (Expert e : group) {
        try {
          String key = cache == null ? null : cache.key(e, images);
          taskKeys.put(e, key);
          long t0 = System.nanoTime();
          Embedding hit = key == null ? null : cache.get(e, key);
          if (hit != null && hit.rows() == images.size()) listener.embedded(t, e, hit, true, (System.nanoTime() - t0) / 1e9, "cache");
          else left.add(e);
        } catch (NeedleException ex) {
          listener.failed(t, e, ex.getMessage());
        }
      }
      todo.add(left);
      any |= !left.isEmpty();
    }
    if (!any) return;
    Path file = group.get(0).file();
    Model model;
    try {
      model = Model.load(file, device, modelThreads, group.get(0).output());
    } catch (NeedleException ex) {
      if (ex.code() == NeedleException.Code.BACKEND_UNAVAILABLE) throw ex;
      for (int t = 0; t < tasks.size(); t++) for (Expert e : todo.get(t)) listener.failed(t, e, ex.getMessage());
      return;
    }
    try (model) {
      for (int t = 0; t < tasks.size(); t++) {
        Images images = tasks.get(t);
        EmbeddingCache cache = caches.get(t);
        int task = t;
        for (Expert e : todo.get(t)) {
          long t0 = System.nanoTime();
          try {
            Embedder.Plan plan = embedder.plan(model, e, images);
            Embedding x = embedder.embed(model, plan, images, done -> listener.images(task, e, done, images.size()));
            double s = (System.nanoTime() - t0) / 1e9;
            if (cache != null) cache.put(e, keys.get(t).get(e), x, info(images, plan, model, s));
            listener.embedded(t, e, x, false, s, model.device());
            if (pause > 0) Thread.sleep(pause);
          } catch (NeedleException ex) {
            if (ex.code() == NeedleException.Code.IO) throw ex;  // the cache cannot be written: stop, nothing is lost
            listener.failed(t, e, ex.getMessage());
          } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
          } catch (RuntimeException ex) {  // a bug or a library's unchecked exception fails this expert, not the run
            listener.failed(t, e, e.id() + ": unexpected error: " + ex);
          } catch (OutOfMemoryError ex) {  // its embedding (rows x output size) did not fit the heap: it fails alone, the big array is gone
            listener.failed(t, e, e.id() + ": out of memory for its embedding of " + images.size() + " images (" + ex.getMessage()
                + "); give Java more heap (-Xmx) or use fewer images (--n)");
          }
        }
      }
    }
  }

  private static Map<String, String> info(Images images, Embedder.Plan plan, Model model, double seconds) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("needle.dataset", images.source());
    m.put("needle.dataset_sha256", images.hash());
    m.put("needle.input", plan.describe());
    m.put("needle.device", model.device());
    m.put("needle.seconds", String.format(Locale.ROOT, "%.3f", seconds));
    m.put("needle.created", java.time.Instant.now().toString());
    return m;
  }
}
