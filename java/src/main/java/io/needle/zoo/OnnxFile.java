package io.needle.zoo;

import io.needle.NeedleException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What Needle reads from an ONNX file itself, before ONNX Runtime sees it: the external-data files its tensors
 * point at (so a model cannot read outside its zoo), its parameter count, and the names of every value in the
 * main graph (so a manifest can name an intermediate tensor as the embedding). A minimal protobuf walk over
 * the fields of onnx.proto that carry these; everything else is skipped unread.
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

  // field numbers of onnx.proto
  private static final int MODEL_GRAPH = 7;
  private static final int GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12, GRAPH_SPARSE_INITIALIZER = 15;
  private static final int NODE_OUTPUT = 2, NODE_ATTRIBUTE = 5;
  private static final int ATTR_T = 5, ATTR_G = 6, ATTR_TENSORS = 10, ATTR_GRAPHS = 11, ATTR_SPARSE = 22, ATTR_SPARSES = 23;
  private static final int TENSOR_DIMS = 1, TENSOR_EXTERNAL = 13;
  private static final int SPARSE_VALUES = 1, SPARSE_INDICES = 2;
  private static final int ENTRY_KEY = 1, ENTRY_VALUE = 2, VALUE_INFO_NAME = 1;

  /**
   * Reads the model's structure.
   *
   * @param who names the file in errors
   * @throws NeedleException BAD_INPUT if the bytes are not a well-formed ONNX model
   */
  public static Info inspect(byte[] model, String who) {
    try {
      Reader m = new Reader(model, 0, model.length);
      Reader graph = null;
      while (m.next()) {
        if (m.field == MODEL_GRAPH && m.wire == 2) graph = m.message();
        else m.skip();
      }
      if (graph == null) throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not an ONNX model (no graph)");
      List<String> external = new ArrayList<>();
      Set<String> values = new LinkedHashSet<>();
      List<String> outputs = new ArrayList<>();
      long params = graph(graph, external, values, outputs, 0);
      return new Info(params, List.copyOf(external), values, List.copyOf(outputs));
    } catch (TooDeep e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not a valid ONNX model (subgraphs nested deeper than " + MAX_DEPTH + " levels)");
    } catch (IndexOutOfBoundsException | IllegalStateException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, who + ": not a valid ONNX model (corrupt or truncated protobuf)");
    }
  }

  /** How deep subgraphs (If/Loop bodies) may nest: protobuf's own recursion limit is 100. */
  static final int MAX_DEPTH = 64;

  /** A graph nested past {@link #MAX_DEPTH} (a crafted file would otherwise overflow the stack). */
  private static final class TooDeep extends IllegalStateException {}

  /** Walks a GraphProto ({@code depth} 0: the main graph); returns the main graph's initializer element count. */
  private static long graph(Reader g, List<String> external, Set<String> values, List<String> outputs, int depth) {
    if (depth > MAX_DEPTH) throw new TooDeep();
    boolean main = depth == 0;
    long params = 0;
    while (g.next()) {
      switch (g.field) {
        case GRAPH_INITIALIZER -> {
          Reader t = g.message();
          long n = tensor(t, external);
          if (main) {
            params += n;
            values.add(t.name);
          }
        }
        case GRAPH_SPARSE_INITIALIZER -> sparse(g.message(), external);
        case GRAPH_NODE -> {
          Reader node = g.message();
          while (node.next()) {
            if (node.field == NODE_OUTPUT && node.wire == 2) {
              String out = node.string();
              if (main) values.add(out);
            } else if (node.field == NODE_ATTRIBUTE && node.wire == 2) {
              attribute(node.message(), external, depth);
            } else {
              node.skip();
            }
          }
        }
        case GRAPH_INPUT, GRAPH_OUTPUT -> {
          int f = g.field;
          String name = valueInfoName(g.message());
          if (main) {
            values.add(name);
            if (f == GRAPH_OUTPUT) outputs.add(name);
          }
        }
        default -> g.skip();
      }
    }
    return params;
  }

  private static void attribute(Reader a, List<String> external, int depth) {
    while (a.next()) {
      switch (a.field) {
        case ATTR_T, ATTR_TENSORS -> tensor(a.message(), external);
        case ATTR_G, ATTR_GRAPHS -> graph(a.message(), external, new LinkedHashSet<>(), new ArrayList<>(), depth + 1);
        case ATTR_SPARSE, ATTR_SPARSES -> sparse(a.message(), external);
        default -> a.skip();
      }
    }
  }

  private static void sparse(Reader s, List<String> external) {
    while (s.next()) {
      if ((s.field == SPARSE_VALUES || s.field == SPARSE_INDICES) && s.wire == 2) tensor(s.message(), external);
      else s.skip();
    }
  }

  /** Walks a TensorProto: returns its element count; records its external location, if any, and its name in {@code t.name}. */
  private static long tensor(Reader t, List<String> external) {
    long count = 1;
    while (t.next()) {
      if (t.field == TENSOR_DIMS) {
        if (t.wire == 0) {
          count *= t.varint();
        } else {  // packed
          Reader p = t.message();
          while (p.pos < p.end) count *= p.rawVarint();
        }
      } else if (t.field == 8 && t.wire == 2) {
        t.name = t.string();
      } else if (t.field == TENSOR_EXTERNAL && t.wire == 2) {
        Reader e = t.message();
        String key = null, value = null;
        while (e.next()) {
          if (e.field == ENTRY_KEY && e.wire == 2) key = e.string();
          else if (e.field == ENTRY_VALUE && e.wire == 2) value = e.string();
          else e.skip();
        }
        if ("location".equals(key) && value != null) external.add(value);
      } else {
        t.skip();
      }
    }
    return count;
  }

  private static String valueInfoName(Reader v) {
    String name = "";
    while (v.next()) {
      if (v.field == VALUE_INFO_NAME && v.wire == 2) name = v.string();
      else v.skip();
    }
    return name;
  }

  /**
   * Returns the model with one more graph output: the named value, declared as a float tensor of unknown
   * shape, so ONNX Runtime computes and returns an intermediate tensor.
   */
  public static byte[] withOutput(byte[] model, String value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(model.length + 64);
    Reader m = new Reader(model, 0, model.length);
    // ValueInfoProto{name, type: TypeProto{tensor_type: Tensor{elem_type: FLOAT}}}
    ByteArrayOutputStream info = new ByteArrayOutputStream();
    field(info, VALUE_INFO_NAME, value.getBytes(StandardCharsets.UTF_8));
    field(info, 2, new byte[] {0x0a, 0x02, 0x08, 0x01});
    while (m.next()) {
      int start = m.fieldStart;
      if (m.field == MODEL_GRAPH && m.wire == 2) {
        Reader g = m.message();
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        graph.write(model, g.pos, g.end - g.pos);
        field(graph, GRAPH_OUTPUT, info.toByteArray());
        field(out, MODEL_GRAPH, graph.toByteArray());
      } else {
        m.skip();
        out.write(model, start, m.pos - start);
      }
    }
    return out.toByteArray();
  }

  private static void field(ByteArrayOutputStream out, int field, byte[] body) {
    varint(out, ((long) field << 3) | 2);
    varint(out, body.length);
    out.write(body, 0, body.length);
  }

  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  /** A cursor over one protobuf message. */
  private static final class Reader {
    final byte[] b;
    int pos;
    final int end;
    int field, wire, fieldStart;
    String name;

    Reader(byte[] b, int pos, int end) {
      if (end > b.length || pos > end) throw new IllegalStateException("length past end");
      this.b = b;
      this.pos = pos;
      this.end = end;
    }

    boolean next() {
      if (pos >= end) return false;
      fieldStart = pos;
      long tag = rawVarint();
      field = (int) (tag >>> 3);
      wire = (int) (tag & 7);
      if (field == 0) throw new IllegalStateException("field 0");
      return true;
    }

    long rawVarint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) throw new IllegalStateException("truncated varint");
        byte x = b[pos++];
        v |= (long) (x & 0x7F) << shift;
        if (x >= 0) return v;
      }
      throw new IllegalStateException("varint too long");
    }

    long varint() {
      return rawVarint();
    }

    Reader message() {
      if (wire != 2) throw new IllegalStateException("not length-delimited");
      long len = rawVarint();
      if (len < 0 || len > end - pos) throw new IllegalStateException("length past end");
      Reader r = new Reader(b, pos, pos + (int) len);
      pos += (int) len;
      return r;
    }

    String string() {
      Reader r = message();
      return new String(b, r.pos, r.end - r.pos, StandardCharsets.UTF_8);
    }

    void skip() {
      switch (wire) {
        case 0 -> rawVarint();
        case 1 -> pos += 8;
        case 2 -> message();
        case 5 -> pos += 4;
        default -> throw new IllegalStateException("wire type " + wire);
      }
      if (pos > end) throw new IllegalStateException("past end");
    }
  }
}
