package io.needle.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.data.AtomicWrite;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.zoo.Expert;
import io.needle.zoo.Preprocess;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Races and lifetimes of the embedding pipeline and cache, each found by a review and failing before its fix: a failed
 * expert's pending batch corrupting the next expert's input, workers running unboundedly ahead of a slow expert, workers
 * outliving {@link Pipeline#run}, a refused second open dropping the first open's lock, temporaries matched too loosely.
 */
class ConcurrencyTest {
  @TempDir Path dir;

  static Expert expert(String id, Path f) {
    return new Expert(id, f, null, null, null, -1, Preprocess.DEFAULT, new Expert.Metadata(null, null, null, null, null, null, List.of()));
  }

  static Images noise(int n, int h, int w) {
    byte[] px = new byte[n * h * w];
    new java.util.Random(1).nextBytes(px);
    int[] labels = new int[n];
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      labels[i] = i % 2;
      names.add("r" + i);
    }
    return new Images("t", h, w, 1, px, labels, List.of("a", "b"), names, List.of());
  }

  /**
   * Model f fails on its second batch while the third is being prepared into the Embedder's shared buffer; g, run next
   * by the same Embedder, must see its own images only. Before the fix 15 of 40 trials gave g a wrong embedding (which
   * the cache would have kept).
   */
  @Test
  void aFailedExpertLeavesNothingInTheNextExpertsInput() throws Exception {
    int h = 224, w = 224, per = h * w, b = 64, n = 3 * b;
    byte[] px = new byte[n * per];
    int[] labels = new int[n];
    List<String> names = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      byte v = (byte) (r < b ? r : r < 2 * b ? 255 : 200);  // batch 1 is bright: f fails there
      java.util.Arrays.fill(px, r * per, (r + 1) * per, v);
      labels[r] = r % 2;
      names.add("r" + r);
    }
    Images images = new Images("t", h, w, 1, px, labels, List.of("a", "b"), names, List.of());
    Path fp = TinyOnnx.failsOnBright(dir.resolve("f.onnx"), h, w), gp = TinyOnnx.mean(dir.resolve("g.onnx"), h, w);
    Expert f = expert("f", fp), g = expert("g", gp);
    try (Model mf = Model.load(fp, "cpu", 1, null); Model mg = Model.load(gp, "cpu", 1, null)) {
      float[] want;
      try (Embedder fresh = new Embedder(b, 4)) {
        want = fresh.embed(mg, fresh.plan(mg, g, images), images, null).data().clone();
      }
      for (int t = 0; t < 20; t++) {
        try (Embedder e = new Embedder(b, 4)) {
          assertThrows(NeedleException.class, () -> e.embed(mf, e.plan(mf, f, images), images, null));
          float[] got = e.embed(mg, e.plan(mg, g, images), images, null).data();
          for (int i = 0; i < n; i++) assertEquals(want[i], got[i], 1e-6, "trial " + t + ", row " + i + " of g after f failed");
        }
      }
    }
  }

  /** While the first expert is slow, the other workers run at most a window ahead: their embeddings wait in memory. */
  @Test
  void workersRunABoundedWindowAheadOfASlowExpert() throws Exception {
    int h = 16, w = 16;
    Images images = noise(512, h, w);
    List<Expert> experts = new ArrayList<>();
    experts.add(expert("slow", TinyOnnx.slow(dir.resolve("slow.onnx"), h, w, 40)));
    for (int k = 0; k < 60; k++) experts.add(expert("fast" + k, TinyOnnx.mean(dir.resolve("fast" + k + ".onnx"), h, w)));
    Path cdir = dir.resolve("cache");
    int[] filesAtFirstEvent = {-1};
    List<String> order = new ArrayList<>();
    try (EmbeddingCache cache = EmbeddingCache.open(cdir)) {
      new Pipeline("cpu", 4, 32, 4).run(experts, images, cache, new Pipeline.Listener() {
        @Override
        public void embedded(Expert e, Embedding x, boolean cached, double s, String device) {
          order.add(e.id());
          if (filesAtFirstEvent[0] < 0) {
            try (var st = Files.list(cdir)) {
              filesAtFirstEvent[0] = (int) st.filter(p -> p.toString().endsWith(".arrow")).count();
            } catch (java.io.IOException ex) {
              throw new java.io.UncheckedIOException(ex);
            }
          }
        }

        @Override
        public void failed(Expert e, String message) {
          order.add(e.id() + " failed: " + message);
        }
      });
    }
    assertEquals(experts.stream().map(Expert::id).toList(), order, "every expert, in order");
    // 4 workers, a window of 8 groups: besides the slow one, at most 7 are done when its event comes (before: all 60)
    assertTrue(filesAtFirstEvent[0] - 1 <= 7, (filesAtFirstEvent[0] - 1) + " finished embeddings held while the first expert ran");
  }

  static long aliveWorkers() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("needle-embed") && t.isAlive()).count();
  }

  /** A run that stops on a fatal error returns only when its workers are done: none calls the listener afterwards. */
  @Test
  void noWorkerOutlivesTheRun() throws Exception {
    int h = 16, w = 16;
    Images images = noise(512, h, w);
    List<Expert> experts = new ArrayList<>();
    experts.add(expert("bad", TinyOnnx.mean(dir.resolve("bad.onnx"), h, w)));
    for (int k = 0; k < 3; k++) experts.add(expert("slow" + k, TinyOnnx.slow(dir.resolve("slow" + k + ".onnx"), h, w, 40)));
    Path cdir = dir.resolve("cache");
    Files.createDirectories(cdir.resolve("bad.arrow").resolve("x"));  // the cache cannot write bad.arrow: IO, the run stops
    long[] alive = {-1};
    AtomicInteger late = new AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean returned = new java.util.concurrent.atomic.AtomicBoolean();
    try (EmbeddingCache cache = EmbeddingCache.open(cdir)) {
      NeedleException e = assertThrows(NeedleException.class, () -> new Pipeline("cpu", 4, 512, 4).run(experts, images, cache, new Pipeline.Listener() {
        @Override
        public void embedded(Expert x, Embedding y, boolean c, double s, String d) {
          if (returned.get()) late.incrementAndGet();
        }

        @Override
        public void failed(Expert x, String m) {
          if (returned.get()) late.incrementAndGet();
        }

        @Override
        public void images(Expert x, int d, int t) {
          if (returned.get()) late.incrementAndGet();
        }
      }));
      returned.set(true);
      // a worker's thread lives a moment after its last task; before the fix, they went on embedding for 0.6-0.75 s
      long t0 = System.nanoTime();
      while (aliveWorkers() > 0 && System.nanoTime() - t0 < 0.2e9) Thread.sleep(5);
      alive[0] = aliveWorkers();
      assertTrue(e.getMessage().contains("bad.arrow"), e.getMessage());
    }
    assertEquals(0, alive[0], "workers still running after run() threw (the cache was still open)");
    Thread.sleep(200);
    assertEquals(0, late.get(), "listener calls after run() threw");
  }

  /** Takes the lock of a cache folder from another process, as a second needle run would: prints GOT or REFUSED. */
  public static void main(String[] args) throws Exception {
    try (FileChannel ch = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
      System.out.print(ch.tryLock() != null ? "GOT" : "REFUSED");
    }
  }

  static boolean anotherProcessCanLock(Path lock) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ConcurrencyTest.class.getName(), lock.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    assertEquals(0, p.waitFor(), out);
    return out.endsWith("GOT");
  }

  @Test
  void aRefusedSecondOpenKeepsTheFirstLock() throws Exception {
    try (EmbeddingCache first = EmbeddingCache.open(dir)) {
      assertFalse(anotherProcessCanLock(dir.resolve(".lock")), "held");
      NeedleException e = assertThrows(NeedleException.class, () -> EmbeddingCache.open(dir.resolve(".").resolve("..").resolve(dir.getFileName())));
      assertTrue(e.getMessage().contains("already using"), e.getMessage());
      // before: the refused open closed a channel of the lock file, which drops every lock this process has on it
      assertFalse(anotherProcessCanLock(dir.resolve(".lock")), "still held after a refused second open");
    }
    assertTrue(anotherProcessCanLock(dir.resolve(".lock")), "released by close");
    EmbeddingCache.open(dir).close();  // and this process can open it again
  }

  @Test
  void onlyRealTemporariesAreCleared() throws Exception {
    Path kept = Files.writeString(dir.resolve("resnet.tmp-v2.arrow"), "an expert whose id contains .tmp-");
    Path left = Files.writeString(dir.resolve(".resnet.arrow.tmp-123-abc9z"), "a killed run's temporary");
    assertTrue(AtomicWrite.isTemporary(left.getFileName().toString()));
    assertFalse(AtomicWrite.isTemporary(kept.getFileName().toString()));
    assertFalse(AtomicWrite.isTemporary(".lock"));
    EmbeddingCache.open(dir).close();
    assertTrue(Files.exists(kept), "a finished file whose name contains .tmp- stays");
    assertFalse(Files.exists(left));
  }
}
