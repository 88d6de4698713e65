package io.needle.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.needle.NeedleException;
import io.needle.data.AtomicWrite;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes a zoo of N small, distinct ONNX experts with a {@code zoo.json}, for benchmarks and tests at the scale
 * Needle is meant for (hundreds to thousands of experts) without committing the models. Every expert takes
 * {@code [N, channels, size, size]} float images and has random He-initialised weights from its own seed, so
 * no two give the same embedding; architectures and widths vary the way a real pool does (CNNs of three depths
 * and several widths, MLPs, and a few models that pack {@link #ADAPTERS} adapters selected by an int64 input, as
 * in [001]). The metadata is plausible (an upstream name and size, an upstream score, tags), drawn from the seed.
 * The same arguments write the same bytes.
 */
public final class GeneratedZoo {
  /** Adapters per packed model. */
  public static final int ADAPTERS = 8;
  private static final String[] UPSTREAMS = {"imagenet-1k", "imagenet-21k", "inaturalist", "places365", "jft-slice", "fashion",
      "digits", "textures", "satellite", "medical"};

  private GeneratedZoo() {}

  /**
   * What was written.
   *
   * @param experts experts listed in the manifest (each adapter counts once)
   * @param files model files written
   * @param bytes their total size
   */
  public record Written(int experts, int files, long bytes) {}

  /**
   * Writes {@code experts} experts (rounded so a packed model is never split) into {@code dir} with a manifest.
   *
   * @param size image height and width the experts take
   * @param channels 1 or 3
   * @throws NeedleException INVALID_ARGUMENT for a bad count, size or channel number; IO if a file cannot be written
   */
  public static Written write(Path dir, int experts, int size, int channels, long seed) {
    if (experts < 1 || experts > 1_000_000) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "experts must be 1..1000000");
    if (size < 8 || size > 512) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "size must be 8..512");
    if (channels != 1 && channels != 3) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "channels must be 1 or 3");
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    ArrayNode list = root.putArray("experts");
    int count = 0, files = 0;
    long bytes = 0;
    for (int k = 0; count < experts; k++) {
      Random r = new Random(seed * 1_000_003L + k);
      // one model in 25 packs adapters (when enough experts are left to fill it)
      boolean packed = k % 25 == 24 && experts - count >= ADAPTERS;
      String arch;
      byte[] model;
      int width = new int[] {8, 12, 16, 24, 32}[r.nextInt(5)];
      if (packed) {
        arch = "mlp-adapters-h" + width * 4;
        model = adapters(r, channels, size, width * 4, 32);
      } else {
        switch (r.nextInt(4)) {
          case 0 -> {
            arch = "mlp-h" + width * 8;
            model = mlp(r, channels, size, width * 8, width * 4);
          }
          case 1 -> {
            arch = "cnn3-w" + width;
            model = cnn(r, channels, size, width, 3);
          }
          default -> {
            arch = "cnn2-w" + width;
            model = cnn(r, channels, size, width, 2);
          }
        }
      }
      String id = String.format(java.util.Locale.ROOT, "gen-%05d", k);
      String file = id + ".onnx";
      AtomicWrite.write(dir.resolve(file), out -> out.write(model));
      files++;
      bytes += model.length;
      ObjectNode e = list.addObject();
      e.put("id", id);
      e.put("file", file);
      e.put("output", "embedding");
      e.put("architecture", arch);
      String up = UPSTREAMS[r.nextInt(UPSTREAMS.length)];
      e.put("upstream", up);
      e.put("upstream_size", 1000 * (10 + r.nextInt(990)));
      e.put("score", Math.round((0.5 + 0.45 * r.nextDouble()) * 1e4) / 1e4);
      e.putArray("tags").add(up.contains("-") ? "generic" : "specialist").add("generated");
      if (packed) {
        ObjectNode a = e.putObject("adapters");
        a.put("input", "expert_index");
        ArrayNode names = a.putArray("experts");
        for (int i = 0; i < ADAPTERS; i++) {
          ObjectNode n = names.addObject();
          n.put("name", "a" + i);
          n.put("index", i);
          n.put("upstream", up + "/slice-" + i);
          n.put("score", Math.round((0.5 + 0.45 * r.nextDouble()) * 1e4) / 1e4);
        }
        count += ADAPTERS;
      } else {
        count++;
      }
    }
    byte[] manifest;
    try {
      manifest = json.writeValueAsBytes(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
      throw new IllegalStateException(ex);
    }
    AtomicWrite.write(dir.resolve(Zoo.MANIFEST), out -> out.write(manifest));
    return new Written(count, files, bytes);
  }

  /** Conv-ReLU-MaxPool blocks (each doubling the width), global average pool: the embedding has 2^(depth-1)*width dims. */
  static byte[] cnn(Random r, int channels, int size, int width, int depth) {
    Graph g = new Graph();
    String x = "image";
    int cin = channels, w = width;
    for (int l = 0; l < depth; l++) {
      String conv = "conv" + l;
      g.init(conv + ".weight", he(r, new long[] {w, cin, 3, 3}, cin * 9));
      g.init(conv + ".bias", zeros(w));
      g.node("Conv", List.of(x, conv + ".weight", conv + ".bias"), conv, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1));
      g.node("Relu", List.of(conv), conv + ".relu");
      x = conv + ".relu";
      if (l < depth - 1) {
        g.node("MaxPool", List.of(x), "pool" + l, ints("kernel_shape", 2, 2), ints("strides", 2, 2));
        x = "pool" + l;
        cin = w;
        w *= 2;
      }
    }
    g.node("GlobalAveragePool", List.of(x), "gap");
    g.node("Flatten", List.of("gap"), "embedding");
    return g.model(channels, size, w, false);
  }

  /** Flatten, two dense layers with ReLU: the embedding has {@code out} dims. */
  static byte[] mlp(Random r, int channels, int size, int hidden, int out) {
    Graph g = new Graph();
    int in = channels * size * size;
    g.node("Flatten", List.of("image"), "flat");
    g.init("fc1.weight", he(r, new long[] {in, hidden}, in));
    g.init("fc1.bias", zeros(hidden));
    g.node("Gemm", List.of("flat", "fc1.weight", "fc1.bias"), "fc1");
    g.node("Relu", List.of("fc1"), "fc1.relu");
    g.init("fc2.weight", he(r, new long[] {hidden, out}, hidden));
    g.init("fc2.bias", zeros(out));
    g.node("Gemm", List.of("fc1.relu", "fc2.weight", "fc2.bias"), "fc2");
    g.node("Relu", List.of("fc2"), "embedding");
    return g.model(channels, size, out, false);
  }

  /** A shared dense layer, then one of {@link #ADAPTERS} adapter matrices picked by the int64 scalar {@code expert_index}. */
  static byte[] adapters(Random r, int channels, int size, int hidden, int out) {
    Graph g = new Graph();
    int in = channels * size * size;
    g.node("Flatten", List.of("image"), "flat");
    g.init("shared.weight", he(r, new long[] {in, hidden}, in));
    g.init("shared.bias", zeros(hidden));
    g.node("Gemm", List.of("flat", "shared.weight", "shared.bias"), "shared");
    g.node("Relu", List.of("shared"), "shared.relu");
    g.init("adapters.weight", he(r, new long[] {ADAPTERS, hidden, out}, hidden));
    g.node("Gather", List.of("adapters.weight", "expert_index"), "adapter", AttributeProto.newBuilder().setName("axis").setI(0)
        .setType(AttributeProto.AttributeType.INT).build());
    g.node("MatMul", List.of("shared.relu", "adapter"), "adapted");
    g.node("Relu", List.of("adapted"), "embedding");
    return g.model(channels, size, out, true);
  }

  private static TensorProto he(Random r, long[] dims, int fanIn) {
    long n = 1;
    for (long d : dims) n *= d;
    ByteBuffer b = ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN);
    double s = Math.sqrt(2.0 / fanIn);
    for (long i = 0; i < n; i++) b.putFloat((float) (r.nextGaussian() * s));
    return tensor(dims, b.array());
  }

  private static TensorProto zeros(int n) {
    return tensor(new long[] {n}, new byte[n * 4]);
  }

  private static TensorProto tensor(long[] dims, byte[] raw) {
    TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(raw));
    for (long d : dims) t.addDims(d);
    return t.build();
  }

  private static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) a.addInts(x);
    return a.build();
  }

  /** A graph under construction. */
  private static final class Graph {
    private final GraphProto.Builder g = GraphProto.newBuilder().setName("needle-generated");

    void init(String name, TensorProto t) {
      g.addInitializer(t.toBuilder().setName(name));
    }

    void node(String op, List<String> inputs, String output, AttributeProto... attrs) {
      NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(output).addAllInput(inputs).addOutput(output);
      for (AttributeProto a : attrs) n.addAttribute(a);
      g.addNode(n);
    }

    byte[] model(int channels, int size, int dim, boolean adapterInput) {
      g.addInput(value("image", TensorProto.DataType.FLOAT_VALUE, new Object[] {"N", channels, size, size}));
      if (adapterInput) g.addInput(value("expert_index", TensorProto.DataType.INT64_VALUE, new Object[0]));
      g.addOutput(value("embedding", TensorProto.DataType.FLOAT_VALUE, new Object[] {"N", dim}));
      return ModelProto.newBuilder().setIrVersion(8).setProducerName("needle zoo generate")
          .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).setGraph(g).build().toByteArray();
    }

    private static ValueInfoProto value(String name, int type, Object[] dims) {
      TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
      for (Object d : dims) {
        if (d instanceof String p) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(p));
        else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
      }
      return ValueInfoProto.newBuilder().setName(name)
          .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }
  }
}
