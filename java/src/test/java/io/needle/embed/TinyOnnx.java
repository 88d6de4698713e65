package io.needle.embed;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Tiny ONNX models written by the tests themselves (onnx.proto through the generated classes Needle already uses). */
final class TinyOnnx {
  final GraphProto.Builder g = GraphProto.newBuilder().setName("tiny");

  void floats(String name, long[] dims, float... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) b.putFloat(x);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
    for (long d : dims) t.addDims(d);
    g.addInitializer(t);
  }

  void longs(String name, long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) b.putLong(x);
    g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length)
        .setRawData(ByteString.copyFrom(b.array())));
  }

  void node(String op, List<String> in, String out, AttributeProto... attrs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(out).addAllInput(in).addOutput(out);
    for (AttributeProto a : attrs) n.addAttribute(a);
    g.addNode(n);
  }

  static AttributeProto i(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) a.addInts(x);
    return a.build();
  }

  Path write(Path file, int c, int h, int w, String out, int dim) throws Exception {
    g.addInput(value("x", new Object[] {"N", c, h, w}));
    g.addOutput(value(out, new Object[] {"N", dim}));
    Files.write(file, ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
        .setGraph(g).build().toByteArray());
    return file;
  }

  static ValueInfoProto value(String name, Object[] dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      if (d instanceof String p) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(p));
      else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
  }

  /** Fails (Gather out of bounds) on a batch whose first pixel of the first image is >= 0.5; else out = first pixel, [N,1]. */
  static Path failsOnBright(Path file, int h, int w) throws Exception {
    TinyOnnx m = new TinyOnnx();
    m.longs("st", 0, 0, 0, 0);
    m.longs("en", 1, 1, 1, 1);
    m.longs("st2", 0, 0, 0);
    m.longs("en2", Long.MAX_VALUE, 1, 1);
    m.longs("ax2", 1, 2, 3);
    m.floats("two", new long[0], 2f);
    m.floats("table", new long[] {2}, 0f, 0f);
    m.node("Slice", List.of("x", "st", "en"), "s");             // [1,1,1,1]
    m.node("Mul", List.of("s", "two"), "s2");
    m.node("Cast", List.of("s2"), "idx", i("to", TensorProto.DataType.INT64_VALUE));  // 0 or 1 for pixels < 0.5 and 1.0: 2 >= 2 fails
    m.node("Gather", List.of("table", "idx"), "g");              // [1,1,1,1]
    m.node("Slice", List.of("x", "st2", "en2", "ax2"), "p");   // [N,1,1,1]
    m.node("Flatten", List.of("p"), "pf", i("axis", 1));         // [N,1]
    m.node("Reshape", List.of("g", "one"), "gs");
    m.longs("one", 1);
    m.node("Add", List.of("pf", "gs"), "out");
    return m.write(file, 1, h, w, "out", 1);
  }

  /** out = mean of each image, [N,1]. */
  static Path mean(Path file, int h, int w) throws Exception {
    TinyOnnx m = new TinyOnnx();
    m.node("ReduceMean", List.of("x"), "r", ints("axes", 1, 2, 3), i("keepdims", 0));
    m.longs("shape", -1, 1);
    m.node("Reshape", List.of("r", "shape"), "out");
    return m.write(file, 1, h, w, "out", 1);
  }

  /** A slow model: flatten, then {@code layers} 1024x1024 MatMuls sharing one weight. */
  static Path slow(Path file, int h, int w, int layers) throws Exception {
    TinyOnnx m = new TinyOnnx();
    int hw = h * w;
    float[] a = new float[hw * 1024];
    for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i) * 1e-3f;
    m.floats("a", new long[] {hw, 1024}, a);
    float[] b = new float[1024 * 1024];
    for (int i = 0; i < b.length; i++) b[i] = (float) Math.cos(i) * 1e-3f;
    m.floats("b", new long[] {1024, 1024}, b);
    m.node("Flatten", List.of("x"), "f", i("axis", 1));
    m.node("MatMul", List.of("f", "a"), "h0");
    for (int k = 0; k < layers; k++) m.node("MatMul", List.of("h" + k, "b"), "h" + (k + 1));
    m.node("ReduceMean", List.of("h" + layers), "r", ints("axes", 1), i("keepdims", 1));
    m.node("Identity", List.of("r"), "out");
    return m.write(file, 1, h, w, "out", 1);
  }
}
