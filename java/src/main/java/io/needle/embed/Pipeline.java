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

  /**
   * @param device "auto", "cpu" or "cuda" (ONNX Runtime execution provider)
   * @param threads ONNX Runtime intra-op and preparation threads, 0 for all cores
   * @param batch images per inference call
   */
  public Pipeline(String device, int threads, int batch) {
    if (!device.equals("auto") && !device.equals("cpu") && !device.equals("cuda"))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown device '" + device + "': use auto, cpu or cuda");
    this.device = device;
    this.threads = threads;
    this.batch = batch;
  }

  /** Runs every expert; the cache may be null (nothing reused or kept). */
  public void run(List<Expert> experts, Images images, EmbeddingCache cache, Listener listener) {
    // experts sharing a model file and output share one loaded session
    Map<String, List<Expert>> groups = new LinkedHashMap<>();
    for (Expert e : experts) groups.computeIfAbsent(e.file() + "\n" + e.output(), k -> new ArrayList<>()).add(e);
    long pause = Long.getLong("needle.test.pauseAfterExpertMs", 0);  // test hook: widens the window for kill tests
    try (Embedder embedder = new Embedder(batch, threads)) {
      for (List<Expert> group : groups.values()) {
        List<Expert> todo = new ArrayList<>();
        Map<Expert, String> keys = new LinkedHashMap<>();
        for (Expert e : group) {
          try {
            String key = cache == null ? null : cache.key(e, images);
            keys.put(e, key);
            long t0 = System.nanoTime();
            Embedding hit = key == null ? null : cache.get(e, key);
            if (hit != null && hit.rows() == images.size()) listener.embedded(e, hit, true, (System.nanoTime() - t0) / 1e9, "cache");
            else todo.add(e);
          } catch (NeedleException ex) {
            listener.failed(e, ex.getMessage());
          }
        }
        if (todo.isEmpty()) continue;
        Path file = todo.get(0).file();
        Model model;
        try {
          model = Model.load(file, device, threads, todo.get(0).output());
        } catch (NeedleException ex) {
          if (ex.code() == NeedleException.Code.BACKEND_UNAVAILABLE) throw ex;
          for (Expert e : todo) listener.failed(e, ex.getMessage());
          continue;
        }
        try (model) {
          for (Expert e : todo) {
            long t0 = System.nanoTime();
            try {
              Embedder.Plan plan = embedder.plan(model, e, images);
              Embedding x = embedder.embed(model, plan, images, done -> listener.images(e, done, images.size()));
              double s = (System.nanoTime() - t0) / 1e9;
              if (cache != null) cache.put(e, keys.get(e), x, info(images, plan, model, s));
              listener.embedded(e, x, false, s, model.device());
              if (pause > 0) Thread.sleep(pause);
            } catch (NeedleException ex) {
              if (ex.code() == NeedleException.Code.IO) throw ex;  // the cache cannot be written: stop, nothing is lost
              listener.failed(e, ex.getMessage());
            } catch (InterruptedException ex) {
              Thread.currentThread().interrupt();
              throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
            } catch (RuntimeException ex) {  // a bug or a library's unchecked exception fails this expert, not the run
              listener.failed(e, e.id() + ": unexpected error: " + ex);
            }
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
