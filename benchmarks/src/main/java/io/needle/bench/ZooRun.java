package io.needle.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.embed.EmbeddingCache;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whole-pool time per expert: {@code needle select}'s pipeline (session creation, preparation, inference, knn-loo,
 * cache write, the pick) against a bare ONNX Runtime Java loop that only creates each session and runs the same
 * images through it (inputs prepared beforehand in direct buffers, output copied out), the ceiling for any
 * pipeline; the loop runs twice, with ONNX Runtime's default (intra-op threads spin after each run) and without the spinning,
 * as Needle runs it. They alternate, repetition by repetition, in one JVM, so machine noise hits both alike.
 *
 * <p>Usage: ZooRun ZOO DATA N REPS [THREADS [BATCH]]. Prints seconds per expert for each, their ratio per repetition,
 * and the process's peak resident memory.
 */
public final class ZooRun {
  public static void main(String[] a) throws Exception {
    Zoo zoo = Zoo.open(Path.of(a[0]));
    Images images = Images.open(Path.of(a[1])).subsample(Integer.parseInt(a[2]), 0);
    int reps = Integer.parseInt(a[3]), threads = a.length > 4 ? Integer.parseInt(a[4]) : 0, batch = a.length > 5 ? Integer.parseInt(a[5]) : 32;
    List<Expert> experts = zoo.experts();
    System.out.printf(Locale.ROOT, "%d experts in %d files, %d images %s, batch %d, threads %s%n", experts.size(),
        experts.stream().map(Expert::file).distinct().count(), images.size(), images.describe(), batch, threads == 0 ? "all" : threads);
    Selector.Config cfg = new Selector.Config(Device.CPU, threads, batch, Backends.Kind.AUTO, List.of(Proxies.get("knn-loo")),
        Settings.defaults(), Strategies.get("task-aware"), 1);
    for (int r = -1; r < reps; r++) {  // r = -1 warms up both
      long t0 = System.nanoTime();
      long sink = bare(experts, images, threads, batch, true);
      double ort = (System.nanoTime() - t0) / 1e9;
      t0 = System.nanoTime();
      sink += bare(experts, images, threads, batch, false);
      double ortNoSpin = (System.nanoTime() - t0) / 1e9;
      Path cache = Files.createTempDirectory("needle-zoorun");
      long t1 = System.nanoTime();
      Selector.Result res;
      try (EmbeddingCache c = EmbeddingCache.open(cache)) {
        res = Selector.run(zoo, images, c, cfg, null);
      }
      double needle = (System.nanoTime() - t1) / 1e9;
      deleteTree(cache);
      System.out.printf(Locale.ROOT, "%s ORT alone %.2f ms/expert (%.1f s; %.2f ms/expert without spinning), needle select %.2f ms/expert (%.1f s), "
          + "needle/ORT %.3f (%.3f against ORT without spinning); pick %s; peak RSS %d MB [%d]%n",
          r < 0 ? "warm-up" : "rep " + r, 1e3 * ort / experts.size(), ort, 1e3 * ortNoSpin / experts.size(), 1e3 * needle / experts.size(), needle,
          needle / ort, needle / ortNoSpin,
          res.selection().picks().get(0).expert(), peakRssMb(), sink & 1);
    }
  }

  /** Creates each model's session once and runs every expert it holds over the images; returns a checksum. */
  static long bare(List<Expert> experts, Images images, int threads, int batch, boolean spin) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int per = images.height() * images.width() * images.channels(), n = images.size();
    List<FloatBuffer> inputs = new ArrayList<>();
    byte[] px = images.pixels();
    for (int b0 = 0; b0 < n; b0 += batch) {
      int rows = Math.min(batch, n - b0);
      FloatBuffer fb = ByteBuffer.allocateDirect(rows * per * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
      for (int i = 0; i < rows * per; i++) fb.put(i, (px[b0 * per + i] & 0xff) / 255f);
      inputs.add(fb);
    }
    Map<Path, List<Expert>> byFile = new LinkedHashMap<>();
    for (Expert e : experts) byFile.computeIfAbsent(e.file(), k -> new ArrayList<>()).add(e);
    long sink = 0;
    for (Map.Entry<Path, List<Expert>> f : byFile.entrySet()) {
      try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (threads > 0) o.setIntraOpNumThreads(threads);
        if (!spin) o.addConfigEntry("session.intra_op.allow_spinning", "0");
        try (OrtSession s = env.createSession(f.getKey().toString(), o)) {
          String out = f.getValue().get(0).output() != null ? f.getValue().get(0).output() : s.getOutputNames().iterator().next();
          for (Expert e : f.getValue()) {
            String in = e.input() != null ? e.input() : s.getInputNames().stream().filter(k -> !k.equals(e.adapterInput())).findFirst().orElseThrow();
            float[] emb = null;
            int row = 0;
            for (FloatBuffer fb : inputs) {
              long rows = fb.capacity() / per;
              Map<String, OnnxTensor> feed = new HashMap<>();
              try {
                feed.put(in, OnnxTensor.createTensor(env, fb, new long[] {rows, images.channels(), images.height(), images.width()}));
                if (e.adapter()) feed.put(e.adapterInput(), OnnxTensor.createTensor(env, (long) e.adapterIndex()));
                try (OrtSession.Result res = s.run(feed, java.util.Set.of(out))) {
                  OnnxTensor t = (OnnxTensor) res.get(0);
                  FloatBuffer o2 = t.getFloatBuffer();
                  int d = o2.remaining() / (int) rows;
                  if (emb == null) emb = new float[n * d];
                  o2.get(emb, row * d, (int) rows * d);
                  row += (int) rows;
                }
              } finally {
                for (OnnxTensor t : feed.values()) t.close();
              }
            }
            sink += Float.floatToIntBits(emb[0]);
          }
        }
      }
    }
    return sink;
  }

  static long peakRssMb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status")))
        if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
    } catch (java.io.IOException | NumberFormatException e) {
      // not Linux: unknown
    }
    return -1;
  }

  static void deleteTree(Path p) throws java.io.IOException {
    try (var s = Files.walk(p)) {
      for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
    }
  }
}
