package io.needle.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.needle.NeedleException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue 11 part 4: OnnxFile on generated ONNX classes finds what the hand-written walk found, and fails as safely. */
class OnnxFileTest {
  private static TensorProto tensor(String name, String location, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name);
    for (long d : dims) t.addDims(d);
    if (location != null) t.addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
    return t.build();
  }

  private static GraphProto subgraph(String location) {
    return GraphProto.newBuilder().setName("branch").addInitializer(tensor("w_" + location, location, 3)).addNode(NodeProto.newBuilder().addOutput("inner")).build();
  }

  @Test
  void externalDataInEveryPlaceParametersOfTheMainGraphOnlyAndValues() {
    GraphProto g = GraphProto.newBuilder()
        .addInput(ValueInfoProto.newBuilder().setName("image"))
        .addInitializer(tensor("w", "w.bin", 2, 3))
        .addInitializer(tensor("b", null, 4))
        .addSparseInitializer(SparseTensorProto.newBuilder().setValues(tensor("sv", "sparse.bin", 5)).setIndices(tensor("si", null, 5)))
        .addNode(NodeProto.newBuilder().addOutput("features")
            .addAttribute(AttributeProto.newBuilder().setName("then_branch").setG(subgraph("then.bin")))
            .addAttribute(AttributeProto.newBuilder().setName("value").setT(tensor("c", "const.bin", 1)))
            .addAttribute(AttributeProto.newBuilder().setName("branches").addGraphs(subgraph("g1.bin")).addGraphs(subgraph("g2.bin"))))
        .addOutput(ValueInfoProto.newBuilder().setName("embedding"))
        .build();
    byte[] model = ModelProto.newBuilder().setIrVersion(8).setGraph(g).build().toByteArray();
    OnnxFile.Info info = OnnxFile.inspect(model, "m.onnx");
    assertEquals(10, info.parameters());
    assertEquals(List.of("w.bin", "sparse.bin", "then.bin", "const.bin", "g1.bin", "g2.bin").stream().sorted().toList(),
        info.externalData().stream().sorted().toList());
    assertTrue(info.values().containsAll(List.of("image", "w", "b", "features", "embedding")), info.values().toString());
    assertTrue(!info.values().contains("inner"), "a subgraph's values are not the main graph's");
    assertEquals(List.of("embedding"), info.outputs());
    assertEquals(List.of("embedding", "features"), OnnxFile.inspect(OnnxFile.withOutput(model, "features"), "m.onnx").outputs());
  }

  private static String error(byte[] model) {
    return assertThrows(NeedleException.class, () -> OnnxFile.inspect(model, "bad.onnx")).getMessage();
  }

  @Test
  void truncatedCorruptGraphlessAndTooDeepModelsAreRefusedByName() {
    byte[] model = ModelProto.newBuilder().setGraph(GraphProto.newBuilder().addInitializer(tensor("w", null, 8, 8)).addNode(NodeProto.newBuilder().addOutput("y"))).build().toByteArray();
    assertEquals("bad.onnx: not a valid ONNX model (corrupt or truncated protobuf)", error(Arrays.copyOf(model, model.length - 3)));
    assertEquals("bad.onnx: not a valid ONNX model (corrupt or truncated protobuf)", error(new byte[] {0x3a, 0x7f, 0x01}));
    assertEquals("bad.onnx: not a valid ONNX model (corrupt or truncated protobuf)", error(new byte[] {0x07}));  // wire type 7
    assertEquals("bad.onnx: not an ONNX model (no graph)", error(ModelProto.newBuilder().setIrVersion(8).build().toByteArray()));
    // graphs nested in attributes past protobuf's depth limit: an error, not a stack overflow
    GraphProto deep = GraphProto.newBuilder().setName("leaf").build();
    for (int i = 0; i < 200; i++)
      deep = GraphProto.newBuilder().addNode(NodeProto.newBuilder().addAttribute(AttributeProto.newBuilder().setName("g").setG(deep))).build();
    assertEquals("bad.onnx: not a valid ONNX model (subgraphs nested deeper than protobuf's limit of 100 levels)",
        error(ModelProto.newBuilder().setGraph(deep).build().toByteArray()));
  }
}
