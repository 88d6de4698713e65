package io.needle.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What Needle reads from an ONNX file itself, before ONNX Runtime sees it: the external-data files its tensors
 * point at (so a model cannot read outside its zoo), its parameter count, and the names of every value in the
 * main graph (so a manifest can name an intermediate tensor as the embedding). Parsed with onnx.proto's
 * generated classes ({@code ai.onnx.proto.OnnxMl}, shipped by Tribuo) on the protobuf runtime, which rejects
 * truncated or corrupt messages and limits nesting.
 */
public final class OnnxFile {
  private OnnxFile() {}

  /**
   * @param parameters elements in the main graph's initializers
   * @param externalData the {@code location} of every tensor stored as external data, in any graph or attribute
   * @param values the names of the main graph's inputs, initializers and node outputs
   * @param outputs the main graph's outputs, in order
   */
  public record Info(long parameters, List<String> externalData, Set<String> values, List<String> outputs) {}

  /**
   * Reads the model's structure.
   *
   * @param who names the file in errors
   * @throws NeedleException BAD_INPUT if the bytes are not a well-formed ONNX model
   */
  public static Info inspect(byte[] model, String who) {
    ModelProto m = parse(model, who);
    if (!m.hasGraph()) throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not an ONNX model (no graph)");
    GraphProto g = m.getGraph();
    List<String> external = new ArrayList<>();
    external(g, external);
    Set<String> values = new LinkedHashSet<>();
    long params = 0;
    for (TensorProto t : g.getInitializerList()) {
      params += t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
      values.add(t.getName());
    }
    for (NodeProto n : g.getNodeList()) values.addAll(n.getOutputList());
    List<String> outputs = g.getOutputList().stream().map(ValueInfoProto::getName).toList();
    g.getInputList().forEach(v -> values.add(v.getName()));
    values.addAll(outputs);
    return new Info(params, List.copyOf(external), values, outputs);
  }

  /**
   * Returns the model with one more graph output: the named value, declared as a float tensor of unknown
   * shape, so ONNX Runtime computes and returns an intermediate tensor.
   */
  public static byte[] withOutput(byte[] model, String value) {
    ModelProto m = parse(model, "model");
    ValueInfoProto out = ValueInfoProto.newBuilder().setName(value)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)))
        .build();
    return m.toBuilder().setGraph(m.getGraph().toBuilder().addOutput(out)).build().toByteArray();
  }

  /** Parses without copying tensor bytes (they alias {@code model}). */
  static ModelProto parse(byte[] model, String who) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(model);
      in.enableAliasing(true);
      ModelProto m = ModelProto.parseFrom(in);
      in.checkLastTagWas(0);
      return m;
    } catch (InvalidProtocolBufferException e) {
      String m = String.valueOf(e.getMessage());
      if (m.contains("levels of nesting"))  // protobuf's recursion limit (100): a crafted file of nested subgraphs
        throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not a valid ONNX model (subgraphs nested deeper than protobuf's limit of 100 levels)");
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not a valid ONNX model (corrupt or truncated protobuf)");
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);  // reading a byte array does no I/O
    }
  }

  /** Collects the external-data locations of every tensor of a graph, its sparse tensors and its nodes' attributes, subgraphs included. */
  private static void external(GraphProto g, List<String> out) {
    g.getInitializerList().forEach(t -> external(t, out));
    g.getSparseInitializerList().forEach(s -> external(s, out));
    for (NodeProto n : g.getNodeList())
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasT()) external(a.getT(), out);
        a.getTensorsList().forEach(t -> external(t, out));
        if (a.hasG()) external(a.getG(), out);
        a.getGraphsList().forEach(sub -> external(sub, out));
        if (a.hasSparseTensor()) external(a.getSparseTensor(), out);
        a.getSparseTensorsList().forEach(s -> external(s, out));
      }
  }

  private static void external(SparseTensorProto s, List<String> out) {
    if (s.hasValues()) external(s.getValues(), out);
    if (s.hasIndices()) external(s.getIndices(), out);
  }

  private static void external(TensorProto t, List<String> out) {
    for (StringStringEntryProto e : t.getExternalDataList())
      if (e.getKey().equals("location")) out.add(e.getValue());
  }
}
