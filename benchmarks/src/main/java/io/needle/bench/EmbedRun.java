package io.needle.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.needle.data.Images;
import io.needle.embed.Embedder;
import io.needle.embed.Model;
import io.needle.zoo.Expert;
import io.needle.zoo.Preprocess;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Images per second through Needle's embedding pipeline (8-bit images -> preparation in parallel, overlapped
 * with inference -> ONNX Runtime -> embedding matrix) against ONNX Runtime alone on the same model, batch size
 * and thread setting, on the same session (tensors prepared beforehand; each call creates the input tensor from a direct buffer,
 * runs, and copies the output out, as a minimal ORT program would). The two are interleaved, repetition by
 * repetition, in one JVM, so machine noise hits both alike; the medians are reported with the median of the paired
 * (same-repetition) ratios.
 *
 * <p>Usage: EmbedRun MODEL.onnx CHANNELS HEIGHT WIDTH SRC_HEIGHT SRC_WIDTH N BATCH REPS [THREADS]. When SRC_*
 * differ from HEIGHT/WIDTH the pipeline also resizes (shorter side) and centre-crops, as for a real dataset.
 */
public final class EmbedRun {
  public static void main(String[] a) throws Exception {
    Path model = Path.of(a[0]);
    int c = Integer.parseInt(a[1]), h = Integer.parseInt(a[2]), w = Integer.parseInt(a[3]);
    int sh = Integer.parseInt(a[4]), sw = Integer.parseInt(a[5]), n = Integer.parseInt(a[6]), batch = Integer.parseInt(a[7]);
    int reps = Integer.parseInt(a[8]), threads = a.length > 9 ? Integer.parseInt(a[9]) : 0;
    Random rnd = new Random(0);
    byte[] px = new byte[n * sh * sw * c];
    rnd.nextBytes(px);
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) labels[i] = i % 10;
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) names.add("img" + i);
    Images images = new Images("random", sh, sw, c, px, labels, List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), names, List.of());
    boolean resize = sh != h || sw != w;
    Preprocess pre = new Preprocess(null, resize ? new int[] {Math.min(h, w) * 8 / 7} : null, resize ? new int[] {h, w} : null,
        new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}, "NCHW");
    if (c == 1) pre = new Preprocess(null, pre.resize(), pre.crop(), new float[] {0.5f}, new float[] {0.25f}, "NCHW");
    Expert expert = new Expert("bench", model, null, null, null, 0, pre, new Expert.Metadata(null, null, null, null, null, null, null));

    // ONNX Runtime alone runs on the very session the pipeline uses (one thread pool, no second set of spinning
    // threads), with its inputs ready in direct buffers
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int per = c * h * w;
    List<FloatBuffer> inputs = new ArrayList<>();
    for (int b0 = 0; b0 < n; b0 += batch) {
      int rows = Math.min(batch, n - b0);
      FloatBuffer fb = ByteBuffer.allocateDirect(rows * per * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
      for (int i = 0; i < rows * per; i++) fb.put(i, (float) rnd.nextGaussian());
      inputs.add(fb);
    }

    try (Model m = Model.load(model, "cpu", threads, null); Embedder embedder = new Embedder(batch, threads)) {
      OrtSession raw = m.session();
      String in = raw.getInputNames().iterator().next();
      long tp = System.nanoTime();
      Embedder.Plan plan = embedder.plan(m, expert, images);
      // with resize/crop, plan() resizes the dataset once for every expert of this geometry: reported apart
      System.out.printf(Locale.ROOT, "plan (includes the one-time resize of the dataset, if any): %.1f ms%n", (System.nanoTime() - tp) / 1e6);
      double[] ort = new double[reps], pipe = new double[reps];
      for (int r = -1; r < reps; r++) {  // r = -1 warms both up
        long t0 = System.nanoTime();
        long sink = 0;
        for (int b = 0; b < inputs.size(); b++) {
          FloatBuffer fb = inputs.get(b);
          long rows = fb.capacity() / per;
          try (OnnxTensor t = OnnxTensor.createTensor(env, fb, new long[] {rows, c, h, w});
              OrtSession.Result res = raw.run(Map.of(in, t))) {
            sink += ((OnnxTensor) res.get(0)).getFloatBuffer().remaining();
          }
        }
        double tOrt = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        int dim = embedder.embed(m, plan, images, null).cols();
        double tPipe = (System.nanoTime() - t0) / 1e9;
        if (sink != (long) n * dim) throw new IllegalStateException("output sizes differ");
        if (r >= 0) {
          ort[r] = n / tOrt;
          pipe[r] = n / tPipe;
          System.out.printf(Locale.ROOT, "rep %d: onnxruntime %.1f img/s, needle pipeline %.1f img/s, ratio %.3f%n", r, ort[r], pipe[r], pipe[r] / ort[r]);
        }
      }
      // each repetition pairs the two back to back: the median of the paired ratios is the figure
      double[] ratio = new double[reps];
      for (int r = 0; r < reps; r++) ratio[r] = pipe[r] / ort[r];
      Arrays.sort(ort);
      Arrays.sort(pipe);
      Arrays.sort(ratio);
      System.out.printf(Locale.ROOT, "%s input %dx%dx%d from %dx%d%s, N=%d, batch %d, threads %s: median onnxruntime %.1f img/s, pipeline %.1f img/s;"
              + " paired ratio median %.3f (range %.3f..%.3f over %d reps)%n",
          model.getFileName(), c, h, w, sh, sw, resize ? " (resize+crop)" : "", n, batch, threads == 0 ? "all" : threads, ort[reps / 2], pipe[reps / 2],
          ratio[reps / 2], ratio[0], ratio[reps - 1], reps);
    }
  }
}
