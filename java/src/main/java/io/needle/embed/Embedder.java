package io.needle.embed;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.needle.NeedleException;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.zoo.Expert;
import io.needle.zoo.Preprocess;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Runs one expert over a dataset (one at a time: not thread-safe): checks that the model's input fits the images, prepares batches in parallel
 * (the next batch while ONNX Runtime runs the current one) and collects the embedding, flattened per example.
 */
public final class Embedder implements AutoCloseable {
  private final int batch;
  private final ForkJoinPool prep;
  /** Datasets resized to a geometry, most recent two (an expert pool usually shares one or two input sizes). */
  private final Map<String, Images> resizedCache = new java.util.LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Images> eldest) {
      return size() > 2;
    }
  };

  /**
   * @param batch images per ONNX Runtime call (a model whose batch dimension is fixed uses its own)
   * @param threads threads preparing images; 0 for all cores
   */
  public Embedder(int batch, int threads) {
    if (batch < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "batch must be at least 1");
    this.batch = batch;
    this.prep = new ForkJoinPool(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
  }

  /**
   * How an expert's model is fed: checked against the images before any inference.
   *
   * @param input the image input's name
   * @param inputShape the shape fed: the model's, with a dynamic channel, height or width taken from the prepared
   *     images (a dynamic batch stays -1)
   * @param batch examples per call
   * @param output the embedding tensor's name
   */
  public record Plan(Expert expert, String input, long[] inputShape, boolean nhwc, int batch, String output,
      Prepare prepare, TensorInfo adapter) {
    /** @return e.g. "image float[-1,1,28,28] NCHW, batch 32 -> embedding" */
    public String describe() {
      return input + " " + Arrays.toString(inputShape).replace(" ", "") + (nhwc ? " NHWC" : " NCHW") + ", batch " + batch + " -> " + output;
    }
  }

  /**
   * Checks that the expert's model can take the images and says how it will be fed.
   *
   * @throws NeedleException BAD_INPUT naming the expert and what does not fit
   */
  public Plan plan(Model model, Expert e, Images images) {
    String who = e.id() + " (" + model.file.getFileName() + ")";
    TensorInfo adapter = null;
    if (e.adapter()) {
      adapter = model.inputs.get(e.adapterInput());
      if (adapter == null) throw bad(who, "has no input '" + e.adapterInput() + "' to select the adapter (inputs: " + model.inputs.keySet() + ")");
      if (adapter.type != OnnxJavaType.INT64 && adapter.type != OnnxJavaType.INT32)
        throw bad(who, "adapter input '" + e.adapterInput() + "' is " + Model.type(adapter.type) + "; expected int64 or int32");
      if (adapter.getShape().length > 1) throw bad(who, "adapter input '" + e.adapterInput() + "' must be a scalar or a vector");
    }
    String input = e.input();
    if (input == null) {
      List<String> cands = model.inputs.keySet().stream().filter(k -> !k.equals(e.adapterInput())).toList();
      if (cands.size() != 1) throw bad(who, "has inputs " + model.inputs.keySet() + "; name the image input with \"input\" in zoo.json");
      input = cands.get(0);
    }
    TensorInfo in = model.inputs.get(input);
    if (in == null) throw bad(who, "has no input '" + input + "' (inputs: " + model.inputs.keySet() + ")");
    for (String other : model.inputs.keySet())
      if (!other.equals(input) && !other.equals(e.adapterInput()))
        throw bad(who, "has an input '" + other + "' that Needle cannot feed (only the image" + (e.adapter() ? " and the adapter" : "") + ")");
    long[] shape = in.getShape();
    String sig = "input '" + input + "' " + Model.type(in.type) + Arrays.toString(shape).replace(" ", "");
    if (in.type != OnnxJavaType.FLOAT) throw bad(who, sig + " is not float32; Needle feeds float32 images");
    if (shape.length != 4) throw bad(who, sig + " has rank " + shape.length + "; an image input is 4-D, [B,C,H,W] or [B,H,W,C]");
    boolean nhwc;
    String layout = e.preprocess().layout();
    if (layout != null) {
      nhwc = layout.equals("NHWC");
    } else {
      boolean c1 = shape[1] == 1 || shape[1] == 3, c3 = shape[3] == 1 || shape[3] == 3;
      nhwc = c3 && !c1;
    }
    long mc = nhwc ? shape[3] : shape[1], mh = nhwc ? shape[1] : shape[2], mw = nhwc ? shape[2] : shape[3];
    Prepare prepare;
    try {
      prepare = new Prepare(images, e.preprocess(), nhwc);
      if (!prepare.plain()) {  // resize/crop/convert once per geometry, then only normalise per expert
        Prepare geometry = prepare;
        Images resized = resizedCache.computeIfAbsent(images.hash() + "/" + geometry.geometry(), k -> geometry.resized());
        Preprocess p = e.preprocess();
        prepare = new Prepare(resized, new Preprocess(null, null, null, p.mean(), p.std(), p.layout()), nhwc);
      }
    } catch (NeedleException ex) {
      throw bad(who, ex.getMessage());
    }
    String imgs = "the images are " + images.describe();
    if (mc > 0 && mc != prepare.channels)
      throw bad(who, sig + " takes " + mc + " channel" + (mc == 1 ? "" : "s") + " but " + imgs
          + (e.preprocess().channels() == null ? "; convert with preprocess.channels (\"gray\" or \"rgb\") in zoo.json" : " and preprocess.channels gives " + prepare.channels));
    if ((mh > 0 && mh != prepare.height) || (mw > 0 && mw != prepare.width))
      throw bad(who, sig + " takes " + (mh > 0 ? mh : "any") + "x" + (mw > 0 ? mw : "any") + " images but " + imgs
          + (e.preprocess().resize() == null && e.preprocess().crop() == null ? "; set preprocess.resize/crop in zoo.json"
              : " (" + prepare.height + "x" + prepare.width + " after preprocessing)"));
    int b = shape[0] > 0 ? (int) shape[0] : batch;
    // a dynamic channel, height or width runs at the prepared images' (the task's size, or preprocess resize/crop)
    long[] feed = shape.clone();
    feed[nhwc ? 3 : 1] = prepare.channels;
    feed[nhwc ? 1 : 2] = prepare.height;
    feed[nhwc ? 2 : 3] = prepare.width;
    String output = e.output();
    if (output == null) {
      if (model.outputs.size() != 1)
        throw bad(who, "has " + model.outputs.size() + " outputs " + model.outputs.keySet() + "; name the embedding with \"output\" in zoo.json");
      output = model.outputs.keySet().iterator().next();
    }
    TensorInfo out = model.outputs.get(output);
    if (out != null && out.type != OnnxJavaType.FLOAT) throw bad(who, "output '" + output + "' is " + Model.type(out.type) + ", not float32");
    return new Plan(e, input, feed, nhwc, b, output, prepare, adapter);
  }

  /**
   * Embeds every image of the dataset with the planned expert.
   *
   * @param progress told the number of images done after each batch, or null
   * @throws NeedleException BAD_INPUT naming the expert if inference fails or gives an unusable output
   */
  public Embedding embed(Model model, Plan plan, Images images, IntConsumer progress) {
    String who = plan.expert().id();
    int n = images.size(), per = plan.prepare().size();
    long[] shape = plan.inputShape().clone();
    FloatBuffer[] slots = slots(plan.batch() * per);
    float[] result = null;
    int dim = -1;
    Future<?> next = null;
    boolean ok = false;
    try {
      next = prepare(plan, slots[0], 0, Math.min(n, plan.batch()));
      for (int b0 = 0, k = 0; b0 < n; b0 += plan.batch(), k++) {
        int rows = Math.min(plan.batch(), n - b0);
        next.get();
        int b1 = b0 + plan.batch();
        FloatBuffer cur = slots[k & 1];
        next = b1 < n ? prepare(plan, slots[(k + 1) & 1], b1, Math.min(n, b1 + plan.batch())) : null;
        shape[0] = plan.inputShape()[0] > 0 ? plan.inputShape()[0] : rows;
        if (rows < shape[0]) {  // a fixed batch larger than what is left: pad with zeros
          for (int i = rows * per; i < (int) shape[0] * per; i++) cur.put(i, 0f);
        }
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
          cur.position(0).limit((int) shape[0] * per);
          feed.put(plan.input(), OnnxTensor.createTensor(model.env, cur, shape));
          if (plan.adapter() != null) feed.put(plan.expert().adapterInput(), adapterTensor(model, plan, (int) shape[0]));
          try (OrtSession.Result r = model.session.run(feed, Set.of(plan.output()))) {
            OnnxValue v = r.get(plan.output()).orElseThrow();
            if (!(v instanceof OnnxTensor t) || ((TensorInfo) t.getInfo()).type != OnnxJavaType.FLOAT)
              throw bad(who, "output '" + plan.output() + "' is not a float32 tensor");
            long[] os = ((TensorInfo) t.getInfo()).getShape();
            if (os.length < 1 || os[0] != shape[0])
              throw bad(who, "output '" + plan.output() + "' has shape " + Arrays.toString(os) + "; its first dimension must be the batch (" + shape[0] + ")");
            long d = 1;
            for (int i = 1; i < os.length; i++) d *= os[i];
            if (dim < 0) {
              if (d < 1 || d * n > Integer.MAX_VALUE) throw bad(who, "output '" + plan.output() + "' has " + d + " values per example");
              dim = (int) d;
              result = new float[n * dim];
            } else if (d != dim) {
              throw bad(who, "output '" + plan.output() + "' changed from " + dim + " to " + d + " values per example between batches");
            }
            FloatBuffer fb = t.getFloatBuffer();
            fb.get(result, b0 * dim, rows * dim);
          }
        } finally {
          for (OnnxTensor t : feed.values()) t.close();
          cur.clear();
        }
        if (progress != null) progress.accept(b0 + rows);
      }
      ok = true;
    } catch (OrtException | IllegalArgumentException ex) {  // ONNX Runtime's Java API throws the latter for shapes it refuses
      throw bad(who, "ONNX Runtime failed: " + Model.firstLine(ex.getMessage()));
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new NeedleException(NeedleException.Code.IO, who + ": interrupted", ex);
    } catch (ExecutionException ex) {
      Throwable c = ex.getCause();
      if (c instanceof NeedleException ne) throw ne;
      throw bad(who, "preparing images failed: " + c);
    } finally {
      // a failed batch leaves the next one being prepared into a buffer that the next expert is handed: wait for it,
      // or, if that wait is interrupted, drop both buffers so that no later expert reads rows written for this one
      if (!ok && next != null) settle(next);
    }
    return new Embedding(who, result, n, dim).validate(n);
  }

  private void settle(Future<?> pending) {
    try {
      pending.get();
    } catch (ExecutionException ignored) {
      // the batch's own failure, if any, is not the one being reported
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      slots = null;
    }
  }

  /** Prepares images [from, to) into a batch buffer: each into a per-thread array, then one bulk copy. */
  private Future<?> prepare(Plan plan, FloatBuffer into, int from, int to) {
    int per = plan.prepare().size();
    IntStream rows = IntStream.range(from, to);
    // small batches (tiny images) are prepared by one thread: forking costs more than it saves
    boolean parallel = (long) (to - from) * per >= 1 << 18;
    return prep.submit(() -> (parallel ? rows.parallel() : rows).forEach(i -> {
      float[] one = scratch.get();
      if (one.length < per) scratch.set(one = new float[per]);
      plan.prepare().write(i, one, 0);
      into.put((i - from) * per, one, 0, per);
    }));
  }

  private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);

  private static OnnxTensor adapterTensor(Model model, Plan plan, int rows) throws OrtException {
    long idx = plan.expert().adapterIndex();
    boolean i64 = plan.adapter().type == OnnxJavaType.INT64;
    long[] s = plan.adapter().getShape();
    if (s.length == 0) return OnnxTensor.createTensor(model.env, i64 ? (Object) idx : (Object) (int) idx);
    int len = s[0] > 0 ? (int) s[0] : rows;
    if (i64) {
      long[] v = new long[len];
      Arrays.fill(v, idx);
      return OnnxTensor.createTensor(model.env, v);
    }
    int[] v = new int[len];
    Arrays.fill(v, (int) idx);
    return OnnxTensor.createTensor(model.env, v);
  }

  /**
   * The two batch buffers (one being run, one being prepared), kept across experts: allocating and first
   * touching tens of MB of direct memory per expert costs more than the preparation itself.
   */
  private FloatBuffer[] slots(int floats) {
    if (slots == null || slots[0].capacity() < floats) slots = new FloatBuffer[] {direct(floats), direct(floats)};
    for (FloatBuffer b : slots) b.clear();
    return slots;
  }

  private FloatBuffer[] slots;

  private static FloatBuffer direct(int floats) {
    return ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static NeedleException bad(String who, String msg) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, who + ": " + msg);
  }

  @Override
  public void close() {
    prep.shutdown();
  }
}
