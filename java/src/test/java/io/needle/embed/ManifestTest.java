package io.needle.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.data.Npy;
import io.needle.zoo.Expert;
import io.needle.zoo.OnnxFile;
import io.needle.zoo.Pool;
import io.needle.zoo.Zoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Zoo manifests: adapters, named intermediate outputs, layout, colour conversion and resize, pools, errors. */
class ManifestTest {
  @TempDir Path dir;

  Zoo zoo(String json, String... models) throws Exception {
    for (String m : models) Files.copy(EmbedTest.onnx(m), dir.resolve(m));
    Files.writeString(dir.resolve("zoo.json"), json);
    return Zoo.open(dir);
  }

  static Images images() {
    return Images.open(EmbedTest.EXAMPLE.resolve("images"));
  }

  @Test
  void adaptersAreSeparateExpertsOfOneModel() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "packed", "file": "adapters.onnx", "input": "image", "architecture": "linear", "score": 0.5,
          "adapters": {"input": "adapter", "experts": [
            {"name": "a0"}, {"name": "a1", "score": 0.9, "tags": ["special"]}, {"name": "a2"}, {"name": "a3", "index": 3}]}}]}
        """, "adapters.onnx");
    assertTrue(z.problems().isEmpty(), z.problems().toString());
    assertEquals(List.of("packed@a0", "packed@a1", "packed@a2", "packed@a3"), z.experts().stream().map(Expert::id).toList());
    assertEquals(0.9, z.experts().get(1).meta().score());
    assertEquals(0.5, z.experts().get(2).meta().score());
    assertEquals(4L * 784 * 16, z.experts().get(0).meta().parameters());  // read from the ONNX initializers
    Map<String, Object> got = EmbedTest.run(z.experts(), images());
    float[] want = Npy.read(EmbedTest.onnx("adapters.head.npy")).toFloats();  // [4, 10, 16]
    for (int a = 0; a < 4; a++) {
      Embedding x = (Embedding) got.get("packed@a" + a);
      EmbedTest.assertHead(java.util.Arrays.copyOfRange(want, a * 160, (a + 1) * 160), x, 1e-4, "adapter " + a);
    }
    assertNotEquals(((Embedding) got.get("packed@a0")).data()[0] + ((Embedding) got.get("packed@a0")).data()[1],
        ((Embedding) got.get("packed@a1")).data()[0] + ((Embedding) got.get("packed@a1")).data()[1]);
    assertEquals(List.of("packed@a1"), z.filter(Pool.parse("tag=special")).experts().stream().map(Expert::id).toList());
  }

  @Test
  void namedIntermediateTensorIsTheEmbedding() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "feat", "file": "intermediate.onnx", "output": "features"},
                     {"id": "logits", "file": "intermediate.onnx", "output": "logits"},
                     {"id": "missing", "file": "intermediate.onnx", "output": "nope"}]}
        """, "intermediate.onnx");
    assertEquals(1, z.problems().size());
    assertTrue(z.problems().get(0).message().contains("no tensor named 'nope' in the graph (outputs: [logits])"), z.problems().toString());
    Map<String, Object> got = EmbedTest.run(z.experts(), images());
    Embedding feat = (Embedding) got.get("feat");
    assertEquals(32, feat.cols());
    EmbedTest.assertHead(Npy.read(EmbedTest.onnx("intermediate.head.npy")).toFloats(), feat, 1e-4, "features");
    assertEquals(10, ((Embedding) got.get("logits")).cols());
  }

  @Test
  void layoutConversionAndResizeFromTheManifest() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "nhwc", "file": "nhwc.onnx"},
                     {"id": "rgb", "file": "rgb.onnx", "preprocess": {"channels": "rgb", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}},
                     {"id": "big", "file": "size32.onnx", "preprocess": {"resize": 36, "crop": 32}},
                     {"id": "rgb-no-conversion", "file": "rgb.onnx"}]}
        """, "nhwc.onnx", "rgb.onnx", "size32.onnx");
    assertTrue(z.problems().isEmpty(), z.problems().toString());
    Map<String, Object> got = EmbedTest.run(z.experts(), images());
    assertTrue(got.get("nhwc") instanceof Embedding, String.valueOf(got.get("nhwc")));
    assertTrue(got.get("rgb") instanceof Embedding, String.valueOf(got.get("rgb")));
    assertTrue(got.get("big") instanceof Embedding, String.valueOf(got.get("big")));
    assertTrue(String.valueOf(got.get("rgb-no-conversion")).contains("takes 3 channels but the images are 28x28 gray"));
  }

  /** Issue 11 item 1: a dynamic height/width runs at the images' size, or at the manifest's resize/crop. */
  @Test
  void dynamicHeightAndWidthRunAtTheImagesOrTheManifestsSize() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "native", "file": "dynamic-hw.onnx"},
                     {"id": "resized", "file": "dynamic-hw.onnx", "preprocess": {"resize": 20, "crop": 16}},
                     {"id": "plain", "file": "nhwc.onnx"}]}
        """, "dynamic-hw.onnx", "nhwc.onnx");
    assertTrue(z.problems().isEmpty(), z.problems().toString());
    Images im = images();
    Map<String, Object> got = EmbedTest.run(z.experts(), im);
    for (String id : List.of("native", "resized", "plain")) assertTrue(got.get(id) instanceof Embedding, id + ": " + got.get(id));
    // the model gives each image's mean, max and min pixel: at the images' own size, exactly those of the pixels
    Embedding x = (Embedding) got.get("native");
    assertEquals(3, x.cols());
    byte[] px = im.pixels();
    double sum = 0;
    int max = 0, min = 255;
    for (int i = 0; i < 28 * 28; i++) {
      int v = px[i] & 0xff;
      sum += v;
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    assertEquals(sum / (28 * 28) / 255, x.data()[0], 1e-5);
    assertEquals(max / 255f, x.data()[1], 1e-6);
    assertEquals(min / 255f, x.data()[2], 1e-6);
    assertEquals(3, ((Embedding) got.get("resized")).cols());
    try (Model m = Model.load(dir.resolve("dynamic-hw.onnx"), "cpu", 1, null); Embedder emb = new Embedder(32, 1)) {
      assertEquals("[-1, 1, 16, 16]", java.util.Arrays.toString(emb.plan(m, z.experts().get(1), im).inputShape()));
      assertEquals("[-1, 1, 28, 28]", java.util.Arrays.toString(emb.plan(m, z.experts().get(0), im).inputShape()));
    }
  }

  @Test
  void preparationArithmetic() {
    // a 2x2 gray image, values 0, 255, 255, 0: resized to 4x4 (half-pixel bilinear), then normalised
    Images img = new Images("t", 2, 2, 1, new byte[] {0, (byte) 255, (byte) 255, 0, 0, 0, 0, 0}, new int[] {0, 1},
        List.of("a", "b"), List.of("x", "y"), List.of());
    Prepare geometry = new Prepare(img, new io.needle.zoo.Preprocess("rgb", new int[] {4, 4}, null, null, null, "NCHW"), false);
    assertFalse(geometry.plain());
    Images resized = geometry.resized();
    assertEquals("4x4 RGB", resized.describe());
    Prepare p = new Prepare(resized, new io.needle.zoo.Preprocess(null, null, null, new float[] {0.5f}, new float[] {0.5f}, "NCHW"), false);
    assertEquals(3 * 16, p.size());
    float[] out = new float[p.size()];
    p.write(0, out, 0);
    // corner pixel (0,0) maps to source (-0.25,-0.25) -> clamped to (0,0): value 0 -> (0 - 0.5) / 0.5 = -1
    assertEquals(-1f, out[0], 1e-6);
    // pixel (0,1) maps to source x = 0.25: 0.75*0 + 0.25*255 = 63.75, rounded to 64 -> (64/255 - 0.5) / 0.5
    assertEquals((64 / 255f - 0.5f) / 0.5f, out[1], 1e-6);
    // channels are replicated: green plane equals red plane
    for (int i = 0; i < 16; i++) assertEquals(out[i], out[16 + i], 0f);
  }

  @Test
  void manifestErrorsNameTheEntry() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"file": "nhwc.onnx", "ouput": "x"},
                     {"id": "bad id!", "file": "nhwc.onnx"},
                     {"id": "far", "file": "../elsewhere.onnx"},
                     {"id": "gone", "file": "missing.onnx"},
                     {"id": "ok", "file": "nhwc.onnx", "preprocess": {"channels": "cmyk"}},
                     {"id": "dup", "file": "nhwc.onnx"}, {"id": "dup", "file": "nhwc.onnx"}]}
        """, "nhwc.onnx");
    String all = z.problems().toString();
    assertEquals(1, z.experts().size(), all);
    assertTrue(all.contains("entry 1 (nhwc.onnx): unknown key \"ouput\""), all);
    assertTrue(all.contains("id 'bad id!' may use only letters"), all);
    assertTrue(all.contains("file '../elsewhere.onnx' is outside the zoo folder"), all);
    assertTrue(all.contains("missing.onnx: no such file"), all);
    assertTrue(all.contains("channels must be \"gray\" or \"rgb\", not \"cmyk\""), all);
    assertTrue(all.contains("dup: expert id used twice"), all);
    Files.writeString(dir.resolve("zoo.json"), "{\"experts\": [");
    NeedleException e = assertThrows(NeedleException.class, () -> Zoo.open(dir));
    assertTrue(e.getMessage().contains("zoo.json: not valid JSON"), e.getMessage());
  }

  @Test
  void poolsFilterOnMetadata() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "small", "file": "nhwc.onnx", "parameters": 1000, "architecture": "mlp", "upstream": "a", "upstream_size": 10},
                     {"id": "large", "file": "nhwc.onnx", "parameters": 5e6, "architecture": "cnn", "dimension": 512, "tags": ["x"]},
                     {"id": "unknown", "file": "nhwc.onnx"}]}
        """, "nhwc.onnx");
    assertEquals(List.of("small"), ids(z.filter(Pool.parse("params<=1e5,arch=mlp"))));
    assertEquals(List.of("large"), ids(z.filter(Pool.parse("dim>=512"))));
    assertEquals(List.of("small", "large"), ids(z.filter(Pool.parse("arch!=transformer"))));
    assertEquals(List.of("small", "large", "unknown"), ids(z.filter(Pool.parse("params>0"))));  // read from the file
    assertThrows(NeedleException.class, () -> Pool.parse("size<3"));
    assertThrows(NeedleException.class, () -> Pool.parse("params<=lots"));
  }

  static List<String> ids(Zoo z) {
    return z.experts().stream().map(Expert::id).toList();
  }

  @Test
  void protobufInspection() throws Exception {
    byte[] bytes = Files.readAllBytes(EmbedTest.onnx("intermediate.onnx"));
    OnnxFile.Info info = OnnxFile.inspect(bytes, "intermediate.onnx");
    assertEquals(List.of("logits"), info.outputs());
    assertTrue(info.values().contains("features"));
    assertEquals(784L * 32 + 32 + 32 * 10 + 10, info.parameters());
    OnnxFile.Info more = OnnxFile.inspect(OnnxFile.withOutput(bytes, "features"), "x");
    assertEquals(List.of("logits", "features"), more.outputs());
    assertEquals(List.of("inside.weights"), OnnxFile.inspect(Files.readAllBytes(EmbedTest.onnx("inside.onnx")), "x").externalData());
  }

  @Test
  void upstreamLogitsNamedInTheManifestFeedLeepAndNce() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "with", "file": "two-outputs.onnx", "output": "embedding", "logits": "logits"},
                     {"id": "without", "file": "two-outputs.onnx", "output": "embedding"}]}
        """, "two-outputs.onnx");
    assertTrue(z.problems().isEmpty(), z.problems().toString());
    Images im = images();
    io.needle.select.Selector.Config cfg = new io.needle.select.Selector.Config(io.needle.embed.Device.CPU, 1, 32, io.needle.engine.Backends.Kind.JAVA,
        io.needle.proxy.Proxies.parse(List.of("leep", "nce", "knn-loo")), io.needle.proxy.Settings.defaults(),
        io.needle.select.Strategies.get("task-aware"), 1);
    io.needle.select.Selector.Result r = io.needle.select.Selector.run(z, im, null, cfg, null);
    Map<String, io.needle.Score> by = new java.util.HashMap<>();
    for (io.needle.Score s : r.scores()) by.put(s.expert() + "/" + s.proxy(), s);
    assertTrue(by.get("with/leep").ok() && by.get("with/nce").ok(), by.toString());
    assertEquals(io.needle.Score.Status.UNDEFINED, by.get("without/leep").status());
    assertTrue(by.get("without/leep").reason().contains("upstream classifier outputs"), by.get("without/leep").reason());
    assertEquals(by.get("with/knn-loo").score(), by.get("without/knn-loo").score(), 0, "the same embedding either way");
    // the same value as LEEP on the logits output computed directly
    Expert logits = z.experts().get(0).logitsExpert();
    Embedding zl = (Embedding) EmbedTest.run(List.of(logits), im).get(logits.id());
    Embedding x = (Embedding) EmbedTest.run(List.of(z.experts().get(0)), im).get("with");
    try (io.needle.Needle n = io.needle.Needle.builder().backend("java").proxies("leep").build()) {
      double want = n.scoreInputs(im.labelSet(), List.of(new io.needle.proxy.ExpertInput(x, new Embedding("with", zl.data(), zl.rows(), zl.cols()), null)), null).get(0).score();
      assertEquals(want, by.get("with/leep").score(), 1e-12);
    }
    // a logits tensor the graph does not have is an entry problem naming it
    Zoo bad = zoo("""
        {"experts": [{"id": "x", "file": "two-outputs.onnx", "logits": "nope"}]}
        """);
    assertTrue(bad.problems().toString().contains("nope"), bad.problems().toString());
  }
}
