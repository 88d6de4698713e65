package io.needle.spark;

import io.needle.NeedleException;
import io.needle.embed.EmbeddingCache;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The embedding caches of one executor JVM. A cache folder is locked by one process at a time, and an executor runs
 * several tasks at once: they share one opened cache (its writes are atomic per file, so tasks of one JVM may write side
 * by side), opened by the first task that needs it and closed, lock released, when the last one is done. A folder
 * another process holds (a second executor on the host, a local run) gives way to a sibling folder of this executor;
 * if that cannot be opened either the task runs uncached, with one warning.
 */
final class ExecutorCaches {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle.spark");
  private static final Map<String, Held> OPEN = new HashMap<>();
  private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

  private ExecutorCaches() {}

  private static final class Held {
    final EmbeddingCache cache;
    int users;

    Held(EmbeddingCache cache) {
      this.cache = cache;
    }
  }

  /** A task's use of a cache folder; {@link #cache()} is null when the task runs uncached. Close it when the task is done. */
  static final class Lease implements AutoCloseable {
    private final String key;
    private final EmbeddingCache cache;

    private Lease(String key, EmbeddingCache cache) {
      this.key = key;
      this.cache = cache;
    }

    EmbeddingCache cache() {
      return cache;
    }

    @Override
    public void close() {
      if (key != null) release(key);
    }
  }

  /**
   * @param dir the task's cache folder, or null for none
   * @param executor this executor's id, naming its own folder when another process holds {@code dir}
   */
  static synchronized Lease acquire(String dir, String executor) {
    if (dir == null) return new Lease(null, null);
    String own = dir + "-executor-" + executor.replaceAll("[^A-Za-z0-9._-]", "_");
    for (String d : new String[] {dir, own}) {
      Held h = OPEN.get(d);
      if (h == null) {
        try {
          h = new Held(EmbeddingCache.open(Path.of(d)));
          OPEN.put(d, h);
        } catch (NeedleException ex) {
          if (d.equals(dir)) LOG.info("executor " + executor + ": " + ex.getMessage() + "; trying " + own);
          else if (WARNED.add(dir)) LOG.warn("executor " + executor + ": " + ex.getMessage() + "; running without an embedding cache");
          continue;
        }
      }
      h.users++;
      return new Lease(d, h.cache);
    }
    return new Lease(null, null);
  }

  private static synchronized void release(String dir) {
    Held h = OPEN.get(dir);
    if (h != null && --h.users == 0) {
      OPEN.remove(dir);
      h.cache.close();
    }
  }
}
