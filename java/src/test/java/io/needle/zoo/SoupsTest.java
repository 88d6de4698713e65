package io.needle.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import io.needle.NeedleException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 part 4: model soups. Tiny ONNX models are built here with onnx.proto's classes: a linear layer
 * {@code y = reshape(x W + b, [-1, 2])}, whose outputs average exactly as its weights do, so a soup's output can be
 * checked in ONNX Runtime against the mean of its ingredients' outputs.
 */
class SoupsTest {
  @TempDir Path dir;

  static final int IN = 3, OUT = 2;

  static ValueInfoProto value(String name, int type, Object... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims)
      s.addDim(d instanceof String p ? TensorShapeProto.Dimension.newBuilder().setDimParam(p) : TensorShapeProto.Dimension.newBuilder().setDimValue((Integer) d));
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
  }

  static TensorProto floats(String name, float[] v, boolean raw, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    for (long d : dims) t.addDims(d);
    if (raw) {
      ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : v) b.putFloat(x);
      t.setRawData(ByteString.copyFrom(b.array()));
    } else {
      for (float x : v) t.addFloatData(x);
    }
    return t.build();
  }

  static TensorProto longs(String name, long... v) {
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length)
        .addAllInt64Data(java.util.Arrays.stream(v).boxed().toList()).build();
  }

  static NodeProto node(String op, String name, List<String> in, String out) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).build();
  }

  /** {@code y = reshape(x W + b, [-1, 2])}, W stored raw or as float_data. */
  static GraphProto.Builder linear(float[] w, float[] b, boolean raw) {
    return GraphProto.newBuilder().setName("linear")
        .addInput(value("x", TensorProto.DataType.FLOAT_VALUE, "n", IN))
        .addInitializer(floats("W", w, raw, IN, OUT)).addInitializer(floats("b", b, !raw, OUT)).addInitializer(longs("shape", -1, OUT))
        .addNode(node("MatMul", "mm", List.of("x", "W"), "h"))
        .addNode(node("Add", "add", List.of("h", "b"), "z"))
        .addNode(node("Reshape", "reshape", List.of("z", "shape"), "y"))
        .addOutput(value("y", TensorProto.DataType.FLOAT_VALUE, "n", OUT));
  }

  static byte[] model(GraphProto.Builder g) {
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("SoupsTest").addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
        .setGraph(g).build().toByteArray();
  }

  static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  static float[][] run(byte[] model, float[][] x) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions()); OnnxTensor in = OnnxTensor.createTensor(env, x);
        OrtSession.Result r = s.run(Map.of("x", in))) {
      return (float[][]) r.get(0).getValue();
    }
  }

  @Test
  void uniformSoupIsTheMeanOfTheWeightsAndOfALinearModelsOutputs() throws Exception {
    Random r = new Random(7);
    List<float[]> ws = new ArrayList<>(), bs = new ArrayList<>();
    List<Soups.Ingredient> in = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ws.add(random(r, IN * OUT));
      bs.add(random(r, OUT));
      in.add(Soups.of("m" + i, model(linear(ws.get(i), bs.get(i), i % 2 == 0)), null));  // raw and typed storage mixed
    }
    Soups.Soup soup = Soups.uniform(in);
    assertEquals("uniform", soup.method());
    assertEquals(List.of("m0", "m1", "m2"), soup.ingredients());
    Path file = dir.resolve("soup.onnx");
    Soups.write(file, soup);

    // read back with the protobuf classes: every float initializer is the elementwise mean, the int64 one unchanged
    ModelProto back = ModelProto.parseFrom(Files.readAllBytes(file));
    Map<String, double[]> got = Soups.of("back", Files.readAllBytes(file), null).weights();
    assertEquals(List.of("W", "b"), List.copyOf(got.keySet()));
    for (int k = 0; k < IN * OUT; k++) assertEquals((ws.get(0)[k] + ws.get(1)[k] + ws.get(2)[k]) / 3.0, got.get("W")[k], 1e-6);
    for (int k = 0; k < OUT; k++) assertEquals((bs.get(0)[k] + bs.get(1)[k] + bs.get(2)[k]) / 3.0, got.get("b")[k], 1e-6);
    TensorProto shape = back.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("shape")).findFirst().orElseThrow();
    assertEquals(List.of(-1L, 2L), shape.getInt64DataList());
    assertEquals(List.of("MatMul", "Add", "Reshape"), back.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList());
    Map<String, String> meta = new java.util.HashMap<>();
    for (StringStringEntryProto p : back.getMetadataPropsList()) meta.put(p.getKey(), p.getValue());
    assertEquals("uniform", meta.get(Soups.META_METHOD));
    assertEquals("m0,m1,m2", meta.get(Soups.META_INGREDIENTS));

    // linear in its weights: the soup's output is the mean of the ingredients' outputs
    float[][] x = {random(r, IN), random(r, IN), random(r, IN), random(r, IN)};
    float[][] y = run(Files.readAllBytes(file), x);
    float[][][] each = {run(in.get(0).bytes(), x), run(in.get(1).bytes(), x), run(in.get(2).bytes(), x)};
    for (int i = 0; i < x.length; i++)
      for (int j = 0; j < OUT; j++) assertEquals((each[0][i][j] + each[1][i][j] + each[2][i][j]) / 3, y[i][j], 1e-5, "row " + i);
  }

  private static String refusal(GraphProto.Builder a, GraphProto.Builder b) {
    Soups.Ingredient x = Soups.of("semantic-x", model(a), null), z = Soups.of("mlp", model(b), null);
    NeedleException e = assertThrows(NeedleException.class, () -> Soups.uniform(List.of(x, z)));
    assertEquals(NeedleException.Code.BAD_INPUT, e.code());
    assertEquals(e.getMessage(), Soups.difference(x, z));
    return e.getMessage();
  }

  @Test
  void differentGraphsAreRefusedNamingBothAndTheFirstDifference() throws Exception {
    float[] w = new float[IN * OUT], b = new float[OUT];
    UnaryOperator<GraphProto.Builder> same = g -> g;
    assertNull(Soups.difference(Soups.of("a", model(same.apply(linear(w, b, true))), null), Soups.of("b", model(linear(w, b, false)), null)),
        "storage (raw or typed) is no difference");
    assertEquals("semantic-x and mlp differ: initializer 'W' shape [3, 2] vs [3, 4]",
        refusal(linear(w, b, true), linear(w, b, true).setInitializer(0, floats("W", new float[IN * 4], true, IN, 4))));
    assertEquals("semantic-x and mlp differ: initializer 'W' float [3, 2] vs absent",
        refusal(linear(w, b, true), linear(w, b, true).setInitializer(0, floats("W2", w, true, IN, OUT)).setNode(0, node("MatMul", "mm", List.of("x", "W2"), "h"))));
    assertEquals("semantic-x and mlp differ: node 1 Add vs Sub", refusal(linear(w, b, true), linear(w, b, true).setNode(1, node("Sub", "add", List.of("h", "b"), "z"))));
    assertEquals("semantic-x and mlp differ: node 2 (Reshape) outputs [y] vs [r]",
        refusal(linear(w, b, true), linear(w, b, true).setNode(2, node("Reshape", "reshape", List.of("z", "shape"), "r"))
            .addNode(node("Relu", "relu", List.of("r"), "y"))));
    assertEquals("semantic-x and mlp differ: initializer 'shape' (int64, not averaged: integer initializers hold shapes and indices) [-1, 2] vs [2, -1]",
        refusal(linear(w, b, true), linear(w, b, true).setInitializer(2, longs("shape", 2, -1))));
    NodeProto withAttr = NodeProto.newBuilder(node("MatMul", "mm", List.of("x", "W"), "h"))
        .addAttribute(AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT).setF(0.5f)).build();
    assertEquals("semantic-x and mlp differ: node 0 (MatMul) attribute 'alpha' absent vs 0.5", refusal(linear(w, b, true), linear(w, b, true).setNode(0, withAttr)));
    assertEquals("semantic-x and mlp differ: input 'x' float[n, 3] vs float[n, 4]",
        refusal(linear(w, b, true), linear(w, b, true).setInput(0, value("x", TensorProto.DataType.FLOAT_VALUE, "n", 4))));
    ModelProto other = ModelProto.newBuilder(ModelProto.parseFrom(model(linear(w, b, true)))).setOpsetImport(0, OperatorSetIdProto.newBuilder().setVersion(17)).build();
    assertEquals("a and b differ: opset imports {ai.onnx=13} vs {ai.onnx=17}",
        Soups.difference(Soups.of("a", model(linear(w, b, true)), null), Soups.of("b", other.toByteArray(), null)));
    // fewer than two, or one twice: a usage error
    Soups.Ingredient a = Soups.of("a", model(linear(w, b, true)), null);
    assertEquals(NeedleException.Code.INVALID_ARGUMENT, assertThrows(NeedleException.class, () -> Soups.uniform(List.of(a))).code());
    assertEquals("ingredient 'a' is given twice", assertThrows(NeedleException.class, () -> Soups.uniform(List.of(a, a))).getMessage());
  }

  /** Two outputs (an embedding and an upstream head over different label sets): each is cut to its embedding. */
  @Test
  void multiOutputModelsAreCutToTheirEmbeddingAndTheirHeadsDropped() throws Exception {
    Random r = new Random(3);
    List<Soups.Ingredient> in = new ArrayList<>();
    for (int classes : new int[] {5, 3}) {
      GraphProto.Builder g = linear(random(r, IN * OUT), random(r, OUT), true)
          .addInitializer(floats("head.weight", random(r, OUT * classes), true, OUT, classes))
          .addNode(node("MatMul", "head", List.of("y", "head.weight"), "logits"))
          .addOutput(value("logits", TensorProto.DataType.FLOAT_VALUE, "n", classes));
      byte[] m = model(g);
      NeedleException e = assertThrows(NeedleException.class, () -> Soups.of("e" + classes, m, null));
      assertEquals("e" + classes + ": has 2 outputs [y, logits]; name the embedding (\"output\" in zoo.json) so the soup keeps only its graph", e.getMessage());
      in.add(Soups.of("e" + classes, m, "y"));
    }
    Soups.Soup soup = Soups.uniform(in);
    ModelProto m = ModelProto.parseFrom(soup.model());
    assertEquals(List.of("y"), m.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList());
    assertEquals(List.of("W", "b", "shape"), m.getGraph().getInitializerList().stream().map(TensorProto::getName).toList());
    Soups.validate(soup.model(), "soup");
    float[][] x = {random(r, IN)};
    float[][] y = run(soup.model(), x), y0 = run(in.get(0).bytes(), x), y1 = run(in.get(1).bytes(), x);
    for (int j = 0; j < OUT; j++) assertEquals((y0[0][j] + y1[0][j]) / 2, y[0][j], 1e-5);
    // an intermediate value as the embedding: it becomes the only output
    Soups.Ingredient h = Soups.of("h", model(linear(random(r, IN * OUT), random(r, OUT), true)), "h");
    assertEquals("h", h.output());
    assertEquals(List.of("W"), List.copyOf(h.weights().keySet()));
    assertEquals(2, run(h.bytes(), x)[0].length);
    assertEquals("m: no tensor named 'nope' in the graph",
        assertThrows(NeedleException.class, () -> Soups.of("m", model(linear(new float[6], new float[2], true)), "nope")).getMessage());
  }

  @Test
  void weightsThatCannotBeAveragedAreRefused() {
    float[] w = new float[IN * OUT], b = new float[OUT];
    TensorProto half = TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT16_VALUE).addDims(IN).addDims(OUT)
        .setRawData(ByteString.copyFrom(new byte[2 * IN * OUT])).build();
    assertEquals("m: initializer 'W' is float16; soups average float and double weights and compare integer ones only: refused",
        assertThrows(NeedleException.class, () -> Soups.of("m", model(linear(w, b, true).setInitializer(0, half)), null)).getMessage());
    // only what the embedding uses is checked: a float16 tensor of a dropped head is no obstacle
    TensorProto unused = half.toBuilder().setName("head.half").build();
    assertEquals(List.of("W", "b"), List.copyOf(Soups.of("m", model(linear(w, b, true).addInitializer(unused)), null).weights().keySet()));
    TensorProto external = floats("W", w, false, IN, OUT).toBuilder().clearFloatData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")).build();
    assertTrue(assertThrows(NeedleException.class, () -> Soups.of("m", model(linear(w, b, true).setInitializer(0, external)), null))
        .getMessage().contains("external data"));
    TensorProto lying = floats("W", new float[5], true, IN, OUT);
    assertEquals("m: initializer 'W' holds 5 values for shape [3, 2] (6 values)",
        assertThrows(NeedleException.class, () -> Soups.of("m", model(linear(w, b, true).setInitializer(0, lying)), null)).getMessage());
  }

  @Test
  void aSoupOnnxRuntimeRefusesIsNotWritten() {
    float[] w = new float[IN * OUT], b = new float[OUT];
    GraphProto.Builder g = linear(w, b, true).setNode(1, node("NoSuchOp", "add", List.of("h", "b"), "z"));
    Soups.Soup soup = Soups.uniform(List.of(Soups.of("a", model(g), null), Soups.of("b", model(g.clone()), null)));
    Path file = dir.resolve("bad.onnx");
    NeedleException e = assertThrows(NeedleException.class, () -> Soups.write(file, soup));
    assertEquals(NeedleException.Code.BAD_INPUT, e.code());
    assertTrue(e.getMessage().startsWith("bad.onnx: ONNX Runtime cannot load it: "), e.getMessage());
    assertFalse(Files.exists(file));
  }

  /** A scorer that prefers soups whose (constant) W is near 1.5: the greedy soup keeps what does not lower it. */
  @Test
  void greedySoupAddsIngredientsBestFirstWhileTheScoreDoesNotDrop() {
    Map<String, Float> level = Map.of("a", 1f, "b", 2f, "c", 10f, "d", 1.5f, "e", 1.8f);
    List<Soups.Ingredient> in = new ArrayList<>();
    for (String n : List.of("e", "c", "b", "a", "d")) {
      float[] w = new float[IN * OUT];
      java.util.Arrays.fill(w, level.get(n));
      in.add(Soups.of(n, model(linear(w, new float[OUT], true)), null));
    }
    Map<String, Double> heldOut = Map.of("a", 0.9, "b", 0.8, "c", 0.7, "d", 0.7, "e", 0.1);
    List<List<String>> scored = new ArrayList<>();
    Soups.Greedy g = Soups.greedy(in, heldOut, (model, names) -> {
      scored.add(names);
      return 1 - Math.abs(Soups.of("candidate", model, null).weights().get("W")[0] - 1.5) / 10;
    });
    // order: a (0.9), b (0.8), then c and d tied at 0.7 in the given order (c first), then e
    assertEquals(List.of("a", "b", "c", "d", "e"), g.steps().stream().map(Soups.Step::ingredient).toList());
    assertEquals(List.of(List.of("a", "b"), List.of("a", "b", "c"), List.of("a", "b", "d"), List.of("a", "b", "d", "e")), scored);
    assertEquals(List.of(true, true, false, true, false), g.steps().stream().map(Soups.Step::kept).toList());
    assertEquals(1.0, g.score(), 1e-12, "a+b averages to 1.5; d keeps it there (a tie is kept); e moves it off");
    assertEquals(List.of("a", "b", "d"), g.soup().ingredients());
    assertEquals("greedy", g.soup().method());
    assertArrayEquals(new double[] {1.5, 1.5, 1.5, 1.5, 1.5, 1.5}, Soups.of("s", g.soup().model(), null).weights().get("W"), 1e-7);
    assertEquals(0.9, g.steps().get(0).soupScore(), 0, "the first soup is the best ingredient, at its own score");
    // no score for an ingredient: refused before anything is averaged
    assertEquals(NeedleException.Code.INVALID_ARGUMENT,
        assertThrows(NeedleException.class, () -> Soups.greedy(in, Map.of("a", 0.9), (m, n) -> 0)).code());
    // a candidate that cannot be scored (NaN) is left out
    Soups.Greedy none = Soups.greedy(in, heldOut, (m, n) -> Double.NaN);
    assertEquals(List.of("a"), none.soup().ingredients());
  }

  // ---------------------------------------------------------------- with a zoo

  private Zoo zoo(String manifest, Map<String, byte[]> files) throws Exception {
    for (Map.Entry<String, byte[]> f : files.entrySet()) Files.write(dir.resolve(f.getKey()), f.getValue());
    if (manifest != null) Files.writeString(dir.resolve("zoo.json"), manifest);
    return Zoo.open(dir);
  }

  private static Expert expert(Zoo z, String id) {
    return z.experts().stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow(() -> new AssertionError(id + ": " + z.problems()));
  }

  @Test
  void basesFromTheManifestCandidatesAndRegistration() throws Exception {
    Random r = new Random(11);
    Map<String, byte[]> files = new java.util.LinkedHashMap<>();
    for (String n : List.of("base", "ft1", "ft2", "scratch")) files.put(n + ".onnx", model(linear(random(r, IN * OUT), random(r, OUT), true)));
    files.put("wide.onnx", model(linear(random(r, IN * OUT), random(r, OUT), true).setInitializer(1, floats("b", new float[4], true, 4))));
    Zoo z = zoo("""
        {"experts": [
          {"id": "base", "file": "base.onnx", "architecture": "lin", "dimension": 2},
          {"id": "ft1", "file": "ft1.onnx", "architecture": "lin", "dimension": 2, "parent": "base", "preprocess": {"mean": 0.5}},
          {"id": "ft2", "file": "ft2.onnx", "architecture": "lin", "dimension": 2, "parent": "base", "preprocess": {"mean": 0.5}},
          {"id": "ft3", "file": "wide.onnx", "architecture": "lin", "parent": "base", "preprocess": {"mean": 0.5}},
          {"id": "scratch", "file": "scratch.onnx", "architecture": "lin"},
          {"id": "other", "file": "scratch.onnx", "architecture": "lin2", "parent": "base", "preprocess": {"mean": 0.5}}
        ]}""", files);
    Expert base = expert(z, "base"), ft1 = expert(z, "ft1"), ft2 = expert(z, "ft2"), scratch = expert(z, "scratch"), other = expert(z, "other");
    assertEquals("base", ft1.meta().parent());
    assertNull(Soups.baseDifference(ft1, ft2));
    assertEquals("ft1 and base differ: preprocess", Soups.baseDifference(ft1, base), "a fine-tune and its parent share a base, not this preprocessing");
    assertEquals("ft1 and scratch do not share a base: ft1 was fine-tuned from base, zoo.json names no parent for scratch"
        + " (zoo.json's \"parent\": the expert each was fine-tuned from)", Soups.baseDifference(ft1, scratch));
    assertEquals("base and scratch do not share a base: zoo.json names no parent for base, zoo.json names no parent for scratch"
        + " (zoo.json's \"parent\": the expert each was fine-tuned from)", Soups.baseDifference(base, scratch));
    assertEquals("ft1 and other differ: architecture lin vs lin2", Soups.baseDifference(ft1, other));
    assertEquals(List.of("ft1", "ft2", "ft3", "other"), z.filter(Pool.parse("parent=base")).experts().stream().map(Expert::id).toList());

    List<Soups.Group> groups = Soups.candidates(z.experts());
    assertEquals(1, groups.size(), groups.toString());
    assertEquals("base", groups.get(0).base());
    assertEquals("lin", groups.get(0).architecture());
    assertEquals(List.of("ft1", "ft2"), groups.get(0).experts());
    assertEquals(List.of("ft3"), groups.get(0).leftOut().stream().map(io.needle.Problem::subject).toList());
    assertEquals("ft1 and ft3 differ: initializer 'b' shape [2] vs [4]", groups.get(0).leftOut().get(0).message());

    Soups.Soup soup = Soups.uniform(List.of(Soups.read(ft1), Soups.read(ft2)));
    Path file = dir.resolve("soup.onnx");
    Soups.write(file, soup);
    Soups.register(z, "soup-ft", file, List.of(ft1, ft2), soup);
    Zoo after = Zoo.open(dir);
    assertEquals(z.problems(), after.problems());
    Expert s = expert(after, "soup-ft");
    assertEquals(List.of("ft1", "ft2"), s.meta().ingredients());
    assertEquals("base", s.meta().parent());
    assertEquals(List.of("soup", "uniform"), s.meta().tags());
    assertEquals("lin", s.meta().architecture());
    assertEquals(2, s.meta().dimension());
    assertEquals(10L, s.meta().parameters(), "every initializer element, as OnnxFile counts them");
    assertArrayEquals(new float[] {0.5f}, s.preprocess().mean(), "the first ingredient's preprocessing");
    assertEquals(z.experts().size() + 1, after.experts().size());
    assertEquals("the zoo already has an expert 'soup-ft'",
        assertThrows(NeedleException.class, () -> Soups.register(after, "soup-ft", file, List.of(ft1, ft2), soup)).getMessage());
    assertTrue(assertThrows(NeedleException.class, () -> Soups.register(after, "x", Files.createTempDirectory("elsewhere").resolve("x.onnx"), List.of(ft1, ft2), soup))
        .getMessage().contains("is outside the zoo folder"));
  }

  @Test
  void aZooWithoutManifestGetsOneListingItsFilesAndTheSoup() throws Exception {
    Random r = new Random(5);
    Zoo z = zoo(null, Map.of("a.onnx", model(linear(random(r, 6), random(r, 2), true)), "b-1.onnx", model(linear(random(r, 6), random(r, 2), false))));
    Expert a = expert(z, "a"), b = expert(z, "b-1");
    Soups.Soup soup = Soups.uniform(List.of(Soups.read(a), Soups.read(b)));
    Path file = dir.resolve("s.onnx");
    Soups.write(file, soup);
    Soups.register(z, "s", file, List.of(a, b), soup);
    Zoo after = Zoo.open(dir);
    assertEquals(List.of("a", "b-1", "s"), after.experts().stream().map(Expert::id).toList());
    assertNull(expert(after, "s").meta().parent(), "two experts of no declared parent: no shared base to name");
    assertEquals(List.of(), after.problems());
  }

  @Test
  void adaptersOfAPackedModelAreRefused() throws Exception {
    Zoo z = zoo("""
        {"experts": [{"id": "ad", "file": "m.onnx", "adapters": {"input": "k", "count": 2}}]}""",
        Map.of("m.onnx", model(linear(new float[6], new float[2], true))));
    NeedleException e = assertThrows(NeedleException.class, () -> Soups.read(z.experts().get(0)));
    assertEquals("ad@0: one adapter of the packed model m.onnx; soups average whole model files, and averaging a packed model would"
        + " average every adapter in it: refused", e.getMessage());
  }
}
