package io.needle.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.data.AtomicWrite;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Model soups (Wortsman et al. 2022, "Model soups: averaging weights of multiple fine-tuned models improves accuracy
 * without increasing inference time"): a new expert whose weights are the elementwise mean of experts fine-tuned from
 * one base, written as an ONNX file Needle scores like any other.
 *
 * <p>Averaging is only meaningful between experts of one graph that start from one set of weights (fine-tunes of a
 * common parent); between independently trained networks it mixes unrelated units. So this class refuses, with a
 * reason naming both experts and the first difference, experts whose graphs differ: the node list (op types,
 * inputs, outputs, attributes), the graph's inputs and outputs, opsets, and the initializers' names, types and
 * shapes. Float and double initializers are averaged, BatchNorm running means and variances included (they are
 * float initializers like the rest; in the bundled zoos BatchNorm is folded into the convolutions); integer ones
 * (shapes, indices) and strings are not averaged and must be equal. {@link #baseDifference} checks what only the
 * manifest knows: the architecture, the shared base ({@code "parent"} in {@code zoo.json}) and the preprocessing.
 *
 * <p>Each ingredient is first cut down to the part of its graph that computes its embedding (the manifest's
 * {@code output}, or the model's only output): other outputs, such as an upstream classifier head whose label space
 * differs from expert to expert, are dropped, so a soup is a body without upstream logits. Adapters of a packed
 * model are refused (averaging the file would average every adapter), as are models with external data or sparse
 * initializers. A soup is validated by creating an ONNX Runtime session on it before it is written, atomically.
 */
public final class Soups {
  private Soups() {}

  /** The metadata keys of a soup's ONNX file: how it was made and what it averages. */
  public static final String META_METHOD = "needle.soup", META_INGREDIENTS = "needle.soup.ingredients";

  /** One expert's model cut down to its embedding's graph, checked and ready to be compared and averaged. */
  public static final class Ingredient {
    private final String name;
    private final ModelProto model;
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();

    private Ingredient(String name, ModelProto model) {
      this.name = name;
      this.model = model;
      for (TensorProto t : model.getGraph().getInitializerList()) initializers.put(t.getName(), t);
    }

    /** @return the name errors use (the expert's id) */
    public String name() {
      return name;
    }

    /** @return the cut-down model's bytes: the graph that computes the embedding, with this expert's weights */
    public byte[] bytes() {
      return model.toByteArray();
    }

    /** @return the cut-down graph's only output, the embedding */
    public String output() {
      return model.getGraph().getOutput(0).getName();
    }

    /** @return every float or double initializer's values, as doubles, by name (for checks and tests) */
    public Map<String, double[]> weights() {
      Map<String, double[]> out = new LinkedHashMap<>();
      for (TensorProto t : initializers.values()) if (isFloat(t)) out.put(t.getName(), doubles(t));
      return out;
    }
  }

  /**
   * Reads an expert's model as an ingredient.
   *
   * @throws NeedleException BAD_INPUT naming the expert if it is an adapter of a packed model, its file cannot be
   *     read or parsed, it has several outputs and names none, or its weights cannot be averaged (external data,
   *     sparse initializers, a type other than float, double, integers, booleans or strings, a size that does not
   *     match its shape)
   */
  public static Ingredient read(Expert e) {
    if (e.adapter())
      throw bad(e.id() + ": one adapter of the packed model " + e.file().getFileName() + "; soups average whole model files, and averaging a"
          + " packed model would average every adapter in it: refused");
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(e.file());
    } catch (IOException ex) {
      throw bad(e.id() + ": cannot read " + e.file().getFileName() + ": " + ex.getMessage());
    }
    return of(e.id(), bytes, e.output());
  }

  /**
   * Reads a model as an ingredient.
   *
   * @param name names it in errors
   * @param output the embedding's tensor (a graph output or an intermediate value), or null for the model's only output
   * @throws NeedleException BAD_INPUT as {@link #read(Expert)}
   */
  public static Ingredient of(String name, byte[] model, String output) {
    ModelProto m = OnnxFile.parse(model, name);
    if (!m.hasGraph()) throw bad(name + ": not an ONNX model (no graph)");
    GraphProto g = m.getGraph();
    if (g.getSparseInitializerCount() > 0) throw bad(name + ": has sparse initializers, which soups do not average: refused");
    if (output == null) {
      if (g.getOutputCount() != 1)
        throw bad(name + ": has " + g.getOutputCount() + " outputs " + g.getOutputList().stream().map(ValueInfoProto::getName).toList()
            + "; name the embedding (\"output\" in zoo.json) so the soup keeps only its graph");
      output = g.getOutput(0).getName();
    }
    GraphProto kept = prune(g, output, name);
    for (TensorProto t : kept.getInitializerList()) check(name, t);  // what the embedding does not use is dropped, not checked
    return new Ingredient(name, m.toBuilder().setGraph(kept).build());
  }

  /** An initializer must be averageable or comparable, and hold as many values as its shape says. */
  private static void check(String who, TensorProto t) {
    String what = who + ": initializer '" + t.getName() + "'";
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0)
      throw bad(what + " is stored as external data; soups read weights from the model file only: refused");
    int size = elementSize(t.getDataType());
    if (size == 0 && t.getDataType() != TensorProto.DataType.STRING_VALUE)
      throw bad(what + " is " + dtype(t.getDataType()) + "; soups average float and double weights and compare integer ones only: refused");
    long n = count(t, what), have;
    if (t.getDataType() == TensorProto.DataType.STRING_VALUE) have = t.getStringDataCount();
    else if (!t.getRawData().isEmpty()) {
      if (t.getRawData().size() % size != 0) throw bad(what + " holds " + t.getRawData().size() + " bytes, not a whole number of " + dtype(t.getDataType()) + " values");
      have = t.getRawData().size() / size;
    } else {
      have = switch (t.getDataType()) {
        case TensorProto.DataType.FLOAT_VALUE -> t.getFloatDataCount();
        case TensorProto.DataType.DOUBLE_VALUE -> t.getDoubleDataCount();
        case TensorProto.DataType.INT64_VALUE -> t.getInt64DataCount();
        case TensorProto.DataType.UINT32_VALUE, TensorProto.DataType.UINT64_VALUE -> t.getUint64DataCount();
        default -> t.getInt32DataCount();
      };
    }
    if (have != n) throw bad(what + " holds " + have + " values for shape " + t.getDimsList() + " (" + n + " values)");
  }

  /** Elements of a tensor, from its dims. */
  private static long count(TensorProto t, String what) {
    long n = 1;
    for (long d : t.getDimsList()) {
      if (d < 0) throw bad(what + " has a negative dimension " + t.getDimsList());
      n = Math.multiplyExact(n, d);
    }
    if (n > Integer.MAX_VALUE - 8) throw bad(what + " has more than 2^31 values");
    return n;
  }

  /**
   * The graph that computes {@code output}: the nodes it needs (a node with subgraphs needs every value they read),
   * the initializers, inputs and value infos those read, and {@code output} as the only graph output.
   */
  static GraphProto prune(GraphProto g, String output, String who) {
    Set<String> needed = new HashSet<>(Set.of(output));
    List<NodeProto> nodes = g.getNodeList();
    boolean[] keep = new boolean[nodes.size()];
    for (boolean changed = true; changed; ) {  // one backward pass suffices for a sorted graph; repeat for one that is not
      changed = false;
      for (int i = nodes.size() - 1; i >= 0; i--) {
        NodeProto n = nodes.get(i);
        if (keep[i] || n.getOutputList().stream().noneMatch(needed::contains)) continue;
        keep[i] = changed = true;
        for (String x : n.getInputList()) if (!x.isEmpty()) needed.add(x);
        for (AttributeProto a : n.getAttributeList()) {
          if (a.hasG()) reads(a.getG(), needed);
          a.getGraphsList().forEach(sub -> reads(sub, needed));
        }
      }
    }
    boolean produced = g.getInitializerList().stream().anyMatch(t -> t.getName().equals(output))
        || g.getInputList().stream().anyMatch(v -> v.getName().equals(output))
        || nodes.stream().anyMatch(n -> n.getOutputList().contains(output));
    if (!produced) throw bad(who + ": no tensor named '" + output + "' in the graph");
    GraphProto.Builder b = g.toBuilder().clearNode().clearInitializer().clearInput().clearOutput().clearValueInfo();
    for (int i = 0; i < nodes.size(); i++) if (keep[i]) b.addNode(nodes.get(i));
    g.getInitializerList().stream().filter(t -> needed.contains(t.getName())).forEach(b::addInitializer);
    g.getInputList().stream().filter(v -> needed.contains(v.getName())).forEach(b::addInput);
    g.getValueInfoList().stream().filter(v -> needed.contains(v.getName()) && !v.getName().equals(output)).forEach(b::addValueInfo);
    b.addOutput(g.getOutputList().stream().filter(v -> v.getName().equals(output)).findFirst()
        .orElse(ValueInfoProto.newBuilder().setName(output)   // an intermediate value: a float tensor of unknown shape
            .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))).build()));
    return b.build();
  }

  /** Every value a subgraph's nodes read (an outer value among them must be kept). */
  private static void reads(GraphProto g, Set<String> out) {
    for (NodeProto n : g.getNodeList()) {
      for (String x : n.getInputList()) if (!x.isEmpty()) out.add(x);
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG()) reads(a.getG(), out);
        a.getGraphsList().forEach(sub -> reads(sub, out));
      }
    }
  }

  // ---------------------------------------------------------------- compatibility

  /**
   * Whether two ingredients can be averaged.
   *
   * @return null if they can, else "{@code a and b differ: <the first difference>}", e.g. {@code semantic-x and mlp
   *     differ: initializer 'conv1.weight' shape [16, 1, 3, 3] vs absent}
   */
  public static String difference(Ingredient a, Ingredient b) {
    String d = firstDifference(a, b);
    return d == null ? null : a.name + " and " + b.name + " differ: " + d;
  }

  private static String firstDifference(Ingredient a, Ingredient b) {
    GraphProto ga = a.model.getGraph(), gb = b.model.getGraph();
    Map<String, Long> oa = opsets(a.model), ob = opsets(b.model);
    if (!oa.equals(ob)) return "opset imports " + oa + " vs " + ob;
    String d = values("input", ga.getInputList(), gb.getInputList(), true);
    if (d != null) return d;
    d = values("output", ga.getOutputList(), gb.getOutputList(), false);
    if (d != null) return d;
    for (TensorProto t : a.initializers.values()) {
      TensorProto u = b.initializers.get(t.getName());
      String what = "initializer '" + t.getName() + "'";
      if (u == null) return what + " " + shape(t) + " vs absent";
      if (t.getDataType() != u.getDataType()) return what + " type " + dtype(t.getDataType()) + " vs " + dtype(u.getDataType());
      if (!t.getDimsList().equals(u.getDimsList())) return what + " shape " + t.getDimsList() + " vs " + u.getDimsList();
    }
    for (TensorProto u : b.initializers.values())
      if (!a.initializers.containsKey(u.getName())) return "initializer '" + u.getName() + "' absent vs " + shape(u);
    List<NodeProto> na = ga.getNodeList(), nb = gb.getNodeList();
    for (int i = 0; i < Math.max(na.size(), nb.size()); i++) {
      if (i >= na.size()) return "node " + i + " absent vs " + op(nb.get(i));
      if (i >= nb.size()) return "node " + i + " " + op(na.get(i)) + " vs absent";
      d = node(na.get(i), nb.get(i));
      if (d != null) return "node " + i + " " + d;
    }
    if (!a.model.getFunctionsList().equals(b.model.getFunctionsList())) return "model-local functions";
    for (TensorProto t : a.initializers.values()) {
      if (isFloat(t)) continue;
      TensorProto u = b.initializers.get(t.getName());
      String va = values(t), vb = values(u);
      if (!va.equals(vb))
        return "initializer '" + t.getName() + "' (" + dtype(t.getDataType()) + ", not averaged: integer initializers hold shapes and indices) "
            + brief(va) + " vs " + brief(vb);
    }
    return null;
  }

  private static Map<String, Long> opsets(ModelProto m) {
    Map<String, Long> out = new TreeMap<>();
    for (OperatorSetIdProto o : m.getOpsetImportList()) out.put(o.getDomain().isEmpty() ? "ai.onnx" : o.getDomain(), o.getVersion());
    return out;
  }

  private static String values(String kind, List<ValueInfoProto> a, List<ValueInfoProto> b, boolean fullType) {
    List<String> na = a.stream().map(ValueInfoProto::getName).toList(), nb = b.stream().map(ValueInfoProto::getName).toList();
    if (!na.equals(nb)) return kind + "s " + na + " vs " + nb;
    for (int i = 0; i < a.size(); i++) {
      TypeProto ta = a.get(i).getType(), tb = b.get(i).getType();
      boolean same = fullType ? ta.equals(tb) : ta.getTensorType().getElemType() == tb.getTensorType().getElemType();
      if (!same) return kind + " '" + na.get(i) + "' " + type(ta) + " vs " + type(tb);
    }
    return null;
  }

  /** The difference between two nodes at one position (names aside: exporters number them), or null. */
  private static String node(NodeProto a, NodeProto b) {
    if (!op(a).equals(op(b))) return op(a) + " vs " + op(b);
    if (!a.getInputList().equals(b.getInputList())) return "(" + op(a) + ") inputs " + a.getInputList() + " vs " + b.getInputList();
    if (!a.getOutputList().equals(b.getOutputList())) return "(" + op(a) + ") outputs " + a.getOutputList() + " vs " + b.getOutputList();
    Map<String, AttributeProto> xa = attributes(a), xb = attributes(b);
    Set<String> names = new java.util.TreeSet<>(xa.keySet());
    names.addAll(xb.keySet());
    for (String n : names)
      if (!Objects.equals(xa.get(n), xb.get(n))) return "(" + op(a) + ") attribute '" + n + "' " + attribute(xa.get(n)) + " vs " + attribute(xb.get(n));
    return null;
  }

  private static Map<String, AttributeProto> attributes(NodeProto n) {
    Map<String, AttributeProto> out = new TreeMap<>();
    for (AttributeProto x : n.getAttributeList()) out.put(x.getName(), x.toBuilder().clearDocString().build());
    return out;
  }

  private static String op(NodeProto n) {
    return (n.getDomain().isEmpty() ? "" : n.getDomain() + ":") + n.getOpType();
  }

  private static String attribute(AttributeProto a) {
    if (a == null) return "absent";
    return switch (a.getType()) {
      case FLOAT -> String.valueOf(a.getF());
      case INT -> String.valueOf(a.getI());
      case STRING -> "'" + a.getS().toStringUtf8() + "'";
      case FLOATS -> a.getFloatsList().toString();
      case INTS -> a.getIntsList().toString();
      case TENSOR -> "a tensor " + shape(a.getT());
      case GRAPH -> "a subgraph";
      default -> "a " + a.getType().name().toLowerCase(Locale.ROOT);
    };
  }

  private static String type(TypeProto t) {
    if (!t.hasTensorType()) return t.getValueCase().name().toLowerCase(Locale.ROOT);
    TypeProto.Tensor tt = t.getTensorType();
    if (!tt.hasShape()) return dtype(tt.getElemType());
    return dtype(tt.getElemType()) + tt.getShape().getDimList().stream()
        .map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.hasDimParam() ? d.getDimParam() : "?").collect(Collectors.joining(", ", "[", "]"));
  }

  private static String shape(TensorProto t) {
    return dtype(t.getDataType()) + " " + t.getDimsList();
  }

  private static String dtype(int code) {
    TensorProto.DataType d = TensorProto.DataType.forNumber(code);
    return d == null ? "type " + code : d.name().toLowerCase(Locale.ROOT);
  }

  private static String brief(String values) {
    return values.length() <= 60 ? values : values.substring(0, 57) + "...";
  }

  /**
   * Whether the manifest lets two experts be averaged: same architecture (when both name one), same preprocessing,
   * and one base: each expert's base is its {@code parent}, or itself when it names none (so a fine-tune and its
   * parent share a base, as do two fine-tunes of one parent; two experts trained from scratch do not).
   *
   * @return null if they may be averaged, else why not, naming both
   */
  public static String baseDifference(Expert a, Expert b) {
    String aa = a.meta().architecture(), ab = b.meta().architecture();
    if (aa != null && ab != null && !aa.equals(ab)) return a.id() + " and " + b.id() + " differ: architecture " + aa + " vs " + ab;
    if (!base(a).equals(base(b)))
      return a.id() + " and " + b.id() + " do not share a base: " + lineage(a) + ", " + lineage(b)
          + " (zoo.json's \"parent\": the expert each was fine-tuned from)";
    if (!samePreprocess(a.preprocess(), b.preprocess())) return a.id() + " and " + b.id() + " differ: preprocess";
    return null;
  }

  /** @return the expert's base: its parent, or itself when it names none */
  public static String base(Expert e) {
    return e.meta().parent() != null ? e.meta().parent() : e.id();
  }

  private static String lineage(Expert e) {
    return e.meta().parent() != null ? e.id() + " was fine-tuned from " + e.meta().parent() : "zoo.json names no parent for " + e.id();
  }

  private static boolean samePreprocess(Preprocess p, Preprocess q) {
    return Objects.equals(p.channels(), q.channels()) && Arrays.equals(p.resize(), q.resize()) && Arrays.equals(p.crop(), q.crop())
        && Arrays.equals(p.mean(), q.mean()) && Arrays.equals(p.std(), q.std()) && Objects.equals(p.layout(), q.layout());
  }

  /**
   * @throws NeedleException INVALID_ARGUMENT for fewer than two ingredients or a name given twice; BAD_INPUT with
   *     {@link #difference} for the first ingredient that differs from the first one
   */
  public static void check(List<Ingredient> ingredients) {
    if (ingredients.size() < 2) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "a soup needs at least two ingredients");
    Set<String> seen = new HashSet<>();
    for (Ingredient i : ingredients)
      if (!seen.add(i.name)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "ingredient '" + i.name + "' is given twice");
    for (Ingredient i : ingredients.subList(1, ingredients.size())) {
      String d = difference(ingredients.get(0), i);
      if (d != null) throw bad(d);
    }
  }

  // ---------------------------------------------------------------- soups

  /**
   * A soup.
   *
   * @param method "uniform" or "greedy"
   * @param ingredients the names of the averaged ingredients, in order
   * @param model the ONNX model's bytes (not copied)
   */
  public record Soup(String method, List<String> ingredients, byte[] model) {
    public Soup {
      ingredients = List.copyOf(ingredients);
    }
  }

  /**
   * The uniform soup: every float and double initializer is the mean of the ingredients' (computed in double,
   * rounded once), everything else is the first ingredient's. Its ONNX metadata names the method and the
   * ingredients ({@link #META_METHOD}, {@link #META_INGREDIENTS}).
   *
   * @throws NeedleException as {@link #check}
   */
  public static Soup uniform(List<Ingredient> ingredients) {
    check(ingredients);
    return average(ingredients, "uniform");
  }

  private static Soup average(List<Ingredient> ingredients, String method) {
    Ingredient first = ingredients.get(0);
    GraphProto.Builder g = first.model.getGraph().toBuilder().clearInitializer();
    for (TensorProto t : first.initializers.values()) {
      if (!isFloat(t)) {
        g.addInitializer(t);
        continue;
      }
      double[] sum = new double[(int) count(t, t.getName())];
      for (Ingredient i : ingredients) {
        double[] v = doubles(i.initializers.get(t.getName()));
        for (int k = 0; k < sum.length; k++) sum[k] += v[k];
      }
      int n = ingredients.size();
      boolean f32 = t.getDataType() == TensorProto.DataType.FLOAT_VALUE;
      ByteBuffer out = ByteBuffer.allocate(sum.length * (f32 ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
      for (double s : sum) {
        if (f32) out.putFloat((float) (s / n));
        else out.putDouble(s / n);
      }
      g.addInitializer(t.toBuilder().clearFloatData().clearDoubleData().setRawData(ByteString.copyFrom(out.array())));
    }
    List<String> names = ingredients.stream().map(Ingredient::name).toList();
    ModelProto.Builder m = first.model.toBuilder().setGraph(g).clearMetadataProps();
    first.model.getMetadataPropsList().stream().filter(p -> !p.getKey().startsWith(META_METHOD)).forEach(m::addMetadataProps);
    m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(META_METHOD).setValue(method))
        .addMetadataProps(StringStringEntryProto.newBuilder().setKey(META_INGREDIENTS).setValue(String.join(",", names)));
    return new Soup(method, names, m.build().toByteArray());
  }

  /** Scores a candidate soup on held-out data; higher is better (NaN: it could not be scored). */
  public interface Scorer {
    double score(byte[] model, List<String> ingredients);
  }

  /**
   * One step of a greedy soup.
   *
   * @param ingredient the ingredient tried
   * @param score its own held-out score
   * @param soupScore the held-out score of the soup with it (its own score for the first)
   * @param kept whether it stayed in the soup
   */
  public record Step(String ingredient, double score, double soupScore, boolean kept) {}

  /**
   * @param soup the greedy soup (method "greedy"; a single ingredient when no other one helped)
   * @param score its held-out score
   * @param steps every ingredient, in the order tried
   */
  public record Greedy(Soup soup, double score, List<Step> steps) {
    public Greedy {
      steps = List.copyOf(steps);
    }
  }

  /**
   * The greedy soup (Wortsman et al. 2022, recipe 1): ingredients sorted by their held-out score, best first; the
   * soup starts as the best one, and each next ingredient is added if the uniform average of the soup with it
   * scores at least as well as the soup without it. Ties in the order keep the given order.
   *
   * @param heldOut each ingredient's own held-out score, by name (higher is better)
   * @param scorer scores a candidate soup on the same held-out data
   * @throws NeedleException as {@link #check}; INVALID_ARGUMENT if an ingredient has no finite held-out score
   */
  public static Greedy greedy(List<Ingredient> ingredients, Map<String, Double> heldOut, Scorer scorer) {
    check(ingredients);
    for (Ingredient i : ingredients) {
      Double s = heldOut.get(i.name);
      if (s == null || !Double.isFinite(s))
        throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, i.name + ": no held-out score to order the greedy soup by" + (s == null ? "" : " (" + s + ")"));
    }
    List<Ingredient> order = new ArrayList<>(ingredients);
    order.sort(Comparator.comparingDouble((Ingredient i) -> heldOut.get(i.name)).reversed());  // stable: ties keep the given order
    List<Ingredient> soup = new ArrayList<>(List.of(order.get(0)));
    double best = heldOut.get(order.get(0).name);
    List<Step> steps = new ArrayList<>(List.of(new Step(order.get(0).name, best, best, true)));
    for (Ingredient i : order.subList(1, order.size())) {
      List<Ingredient> candidate = new ArrayList<>(soup);
      candidate.add(i);
      Soup c = average(candidate, "greedy");
      double s = scorer.score(c.model(), c.ingredients());
      boolean keep = s >= best;  // false for NaN
      steps.add(new Step(i.name, heldOut.get(i.name), s, keep));
      if (keep) {
        soup = candidate;
        best = s;
      }
    }
    return new Greedy(average(soup, "greedy"), best, steps);
  }

  // ---------------------------------------------------------------- output

  /**
   * Checks that ONNX Runtime accepts a model: a session is created on it (graph, types and kernels resolved).
   *
   * @throws NeedleException BAD_INPUT naming {@code who} with ONNX Runtime's reason
   */
  public static void validate(byte[] model, String who) {
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        OrtSession s = OrtEnvironment.getEnvironment().createSession(model, o)) {
      if (s.getOutputNames().isEmpty()) throw bad(who + ": ONNX Runtime sees no output");
    } catch (OrtException e) {
      String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      throw bad(who + ": ONNX Runtime cannot load it: " + m);
    }
  }

  /**
   * Validates the soup ({@link #validate}) and writes it atomically: a failed write or a soup ONNX Runtime refuses
   * leaves {@code file} as it was.
   */
  public static void write(Path file, Soup soup) {
    validate(soup.model(), file.getFileName().toString());
    AtomicWrite.write(file, out -> out.write(soup.model()));
  }

  /**
   * Adds a soup to a zoo's manifest, atomically, so that it is scored like any other expert: its id and file, the
   * first ingredient's input and preprocessing, the ingredients' architecture, dimension and base (as
   * {@code parent}, when they share one), the ingredients, its parameter count and the tags {@code soup} and the method. A zoo without a
   * manifest gets one that lists every {@code .onnx} file it held (same experts, same ids) and the soup.
   *
   * @param file the soup's model, inside the zoo folder
   * @throws NeedleException INVALID_ARGUMENT if the id is taken or the file is outside the zoo; BAD_INPUT if the
   *     manifest cannot be read; IO if it cannot be written
   */
  public static void register(Zoo zoo, String id, Path file, List<Expert> ingredients, Soup soup) {
    Path root = zoo.dir(), f;
    try {
      f = file.toAbsolutePath().getParent().toRealPath().resolve(file.getFileName());
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": " + e.getMessage(), e);
    }
    if (!f.startsWith(root)) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, file + " is outside the zoo folder " + root);
    if (zoo.experts().stream().anyMatch(e -> e.id().equals(id)))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "the zoo already has an expert '" + id + "'");
    ObjectMapper json = new ObjectMapper();
    Path manifest = root.resolve(Zoo.MANIFEST);
    ObjectNode doc;
    if (Files.exists(manifest)) {
      try {
        JsonNode d = json.readTree(manifest.toFile());
        if (!(d instanceof ObjectNode o) || !d.path("experts").isArray()) throw bad(manifest + ": expected {\"experts\": [...]}");
        doc = o;
      } catch (IOException e) {
        throw bad(manifest + ": cannot read: " + e.getMessage());
      }
    } else {
      doc = json.createObjectNode();
      ArrayNode list = doc.putArray("experts");
      try (Stream<Path> s = Files.list(root)) {
        s.filter(p -> p.getFileName().toString().endsWith(".onnx") && Files.isRegularFile(p) && !p.equals(f)).sorted()
            .forEach(p -> list.addObject().put("file", p.getFileName().toString()));
      } catch (IOException e) {
        throw new NeedleException(NeedleException.Code.IO, root + ": cannot list: " + e.getMessage(), e);
      }
    }
    Expert t = ingredients.get(0);
    ObjectNode entry = json.createObjectNode().put("id", id).put("file", root.relativize(f).toString().replace('\\', '/'));
    for (JsonNode e : doc.get("experts")) {  // the first ingredient's entry: its input and preprocessing, as written
      String eid = e.hasNonNull("id") ? e.get("id").asText() : Zoo.sanitize(e.path("file").asText().replaceFirst("\\.onnx$", ""));
      if (!eid.equals(t.id())) continue;
      if (e.hasNonNull("input")) entry.set("input", e.get("input"));
      if (e.hasNonNull("preprocess")) entry.set("preprocess", e.get("preprocess"));
    }
    if (t.meta().architecture() != null) entry.put("architecture", t.meta().architecture());
    entry.put("parameters", OnnxFile.inspect(soup.model(), id).parameters());
    if (t.meta().dimension() != null) entry.put("dimension", t.meta().dimension());
    if (ingredients.stream().map(Soups::base).distinct().count() == 1) entry.put("parent", base(t));
    ArrayNode in = entry.putArray("ingredients");
    soup.ingredients().forEach(in::add);
    entry.putArray("tags").add("soup").add(soup.method());
    ((ArrayNode) doc.get("experts")).add(entry);
    AtomicWrite.write(manifest, out -> {
      out.write(json.writerWithDefaultPrettyPrinter().writeValueAsString(doc).getBytes(StandardCharsets.UTF_8));
      out.write('\n');
    });
  }

  // ---------------------------------------------------------------- detection

  /**
   * A set of experts that can make a soup.
   *
   * @param base the expert they were fine-tuned from (which may be among them)
   * @param architecture their architecture, or null when the manifest does not say
   * @param experts the experts, in zoo order, each graph-compatible with the first
   * @param leftOut experts of the same base, architecture and preprocessing that cannot be averaged with these (their
   *     graph differs, or it cannot be read), with the reason
   */
  public record Group(String base, String architecture, List<String> experts, List<Problem> leftOut) {}

  /**
   * Finds the groups of experts that could make a soup: same base ({@link #base}), same architecture and
   * preprocessing, and graphs that can be averaged ({@link #difference}, after cutting each to its embedding).
   * Adapters are skipped; groups of fewer than two experts are not listed. Experts of a group's base, architecture
   * and preprocessing that cannot join it are listed with it, with the reason.
   */
  public static List<Group> candidates(List<Expert> experts) {
    Map<String, List<Expert>> byBase = new LinkedHashMap<>();
    for (Expert e : experts)
      if (!e.adapter())
        byBase.computeIfAbsent(String.join("\n", base(e), Objects.requireNonNullElse(e.meta().architecture(), ""), e.preprocess().canonical()),
            k -> new ArrayList<>()).add(e);
    List<Group> out = new ArrayList<>();
    for (List<Expert> members : byBase.values()) {
      if (members.size() < 2) continue;
      // classes of averageable graphs, each named by its first member; one group per class of two or more
      List<List<Expert>> classes = new ArrayList<>();
      List<Ingredient> heads = new ArrayList<>();
      List<Problem> unreadable = new ArrayList<>();
      Map<Expert, Ingredient> read = new LinkedHashMap<>();
      for (Expert e : members) {
        try {
          Ingredient i = read(e);
          read.put(e, i);
          int c = 0;
          while (c < heads.size() && difference(heads.get(c), i) != null) c++;
          if (c == heads.size()) {
            heads.add(i);
            classes.add(new ArrayList<>());
          }
          classes.get(c).add(e);
        } catch (NeedleException ex) {
          unreadable.add(new Problem(e.id(), ex.getMessage()));
        }
      }
      for (List<Expert> c : classes) {
        if (c.size() < 2) continue;
        List<Problem> left = new ArrayList<>(unreadable);
        for (List<Expert> d : classes)
          if (d.size() == 1) left.add(new Problem(d.get(0).id(), difference(read.get(c.get(0)), read.get(d.get(0)))));
        out.add(new Group(base(c.get(0)), c.get(0).meta().architecture(), c.stream().map(Expert::id).toList(), left));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- tensors

  private static boolean isFloat(TensorProto t) {
    return t.getDataType() == TensorProto.DataType.FLOAT_VALUE || t.getDataType() == TensorProto.DataType.DOUBLE_VALUE;
  }

  /** Bytes per element of the types an initializer may have here (0: not averaged or compared here, or strings). */
  private static int elementSize(int type) {
    return switch (type) {
      case TensorProto.DataType.FLOAT_VALUE, TensorProto.DataType.INT32_VALUE, TensorProto.DataType.UINT32_VALUE -> 4;
      case TensorProto.DataType.DOUBLE_VALUE, TensorProto.DataType.INT64_VALUE, TensorProto.DataType.UINT64_VALUE -> 8;
      case TensorProto.DataType.INT16_VALUE, TensorProto.DataType.UINT16_VALUE -> 2;
      case TensorProto.DataType.INT8_VALUE, TensorProto.DataType.UINT8_VALUE, TensorProto.DataType.BOOL_VALUE -> 1;
      default -> 0;
    };
  }

  /** A float or double initializer's values. */
  private static double[] doubles(TensorProto t) {
    int n = (int) count(t, t.getName());
    double[] out = new double[n];
    boolean f32 = t.getDataType() == TensorProto.DataType.FLOAT_VALUE;
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) out[i] = f32 ? b.getFloat() : b.getDouble();
    } else {
      for (int i = 0; i < n; i++) out[i] = f32 ? t.getFloatData(i) : t.getDoubleData(i);
    }
    return out;
  }

  /** A non-float initializer's values as text, for equality (raw or typed storage alike). */
  private static String values(TensorProto t) {
    if (t.getDataType() == TensorProto.DataType.STRING_VALUE)
      return t.getStringDataList().stream().map(ByteString::toStringUtf8).toList().toString();
    int size = elementSize(t.getDataType()), n = (int) count(t, t.getName());
    boolean unsigned = t.getDataType() == TensorProto.DataType.UINT32_VALUE || t.getDataType() == TensorProto.DataType.UINT64_VALUE
        || t.getDataType() == TensorProto.DataType.UINT8_VALUE || t.getDataType() == TensorProto.DataType.UINT16_VALUE
        || t.getDataType() == TensorProto.DataType.BOOL_VALUE;
    long[] v = new long[n];
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++)
        v[i] = switch (size) {
          case 1 -> unsigned ? b.get() & 0xff : b.get();
          case 2 -> unsigned ? b.getShort() & 0xffff : b.getShort();
          case 4 -> unsigned ? b.getInt() & 0xffffffffL : b.getInt();
          default -> b.getLong();
        };
    } else {
      for (int i = 0; i < n; i++)
        v[i] = switch (t.getDataType()) {
          case TensorProto.DataType.INT64_VALUE -> t.getInt64Data(i);
          case TensorProto.DataType.UINT32_VALUE, TensorProto.DataType.UINT64_VALUE -> t.getUint64Data(i);
          default -> t.getInt32Data(i);
        };
    }
    return Arrays.toString(v);
  }

  private static NeedleException bad(String msg) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, msg);
  }
}
