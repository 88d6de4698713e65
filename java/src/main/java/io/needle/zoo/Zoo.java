package io.needle.zoo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.needle.NeedleException;
import io.needle.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A folder of ONNX experts, optionally described by a manifest {@code zoo.json}.
 *
 * <p>Without a manifest every {@code *.onnx} file is one expert named by its stem, with {@link
 * Preprocess#DEFAULT}. With one, the manifest lists the experts (other files are ignored); each entry needs
 * only {@code file}. See the README for the format. Opening a zoo checks what can be checked without running
 * a model: the manifest, the protobuf, external-data paths (they must stay inside the zoo folder), named
 * outputs. A bad entry or file becomes a {@link Problem} and the rest of the zoo stays usable.
 */
public final class Zoo {
  /** The manifest's file name. */
  public static final String MANIFEST = "zoo.json";
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._+@-]+");
  private static final Set<String> ENTRY_KEYS = Set.of("id", "file", "input", "output", "logits", "preprocess", "architecture",
      "parameters", "dimension", "upstream", "upstream_size", "score", "tags", "parent", "ingredients", "adapters");
  private static final Set<String> ADAPTER_KEYS = Set.of("input", "count", "experts");
  private static final Set<String> ADAPTER_EXPERT_KEYS = Set.of("name", "index", "architecture", "parameters", "dimension",
      "upstream", "upstream_size", "score", "tags");
  /** The most adapters one model may hold (a corrupt count would otherwise list billions of experts). */
  static final int MAX_ADAPTERS = 1 << 16;
  private static final Set<String> PREPROCESS_KEYS = Set.of("channels", "resize", "crop", "mean", "std", "layout");

  private final Path dir;
  private final List<Expert> experts;
  private final List<Problem> problems;
  private final Map<Path, OnnxFile.Info> info;
  private final Selectors selectors;

  private Zoo(Path dir, List<Expert> experts, List<Problem> problems, Map<Path, OnnxFile.Info> info, Selectors selectors) {
    this.dir = dir;
    this.experts = List.copyOf(experts);
    this.problems = List.copyOf(problems);
    this.info = info;
    this.selectors = selectors;
  }

  /** @return the zoo's task-level selectors ({@code selectors/selectors.json}), or null when it has none */
  public Selectors selectors() {
    return selectors;
  }

  /** @return the zoo folder */
  public Path dir() {
    return dir;
  }

  /** @return the usable experts, in manifest order (or by file name) */
  public List<Expert> experts() {
    return experts;
  }

  /** @return the entries and files that were rejected, with the reason */
  public List<Problem> problems() {
    return problems;
  }

  /** @return what was read from a model file of this zoo */
  public OnnxFile.Info info(Path file) {
    return info.get(file);
  }

  /** @return the experts a pool admits (problems are kept) */
  public Zoo filter(Pool pool) {
    return new Zoo(dir, experts.stream().filter(pool::admits).toList(), problems, info, selectors);
  }

  /**
   * Opens a zoo folder.
   *
   * @throws NeedleException BAD_INPUT if the folder does not exist, the manifest is not JSON, or nothing is listed
   */
  public static Zoo open(Path dir) {
    if (!Files.isDirectory(dir)) throw new NeedleException(NeedleException.Code.BAD_INPUT, dir + ": not a directory");
    Path root;
    try {
      root = dir.toRealPath();
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, dir + ": " + e.getMessage(), e);
    }
    List<Expert> experts = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    Map<Path, OnnxFile.Info> info = new HashMap<>();
    Path manifest = root.resolve(MANIFEST);
    if (Files.exists(manifest)) {
      JsonNode doc;
      try {
        doc = new ObjectMapper().readTree(manifest.toFile());
      } catch (JsonProcessingException e) {
        throw new NeedleException(NeedleException.Code.BAD_INPUT, manifest + ": not valid JSON: " + e.getOriginalMessage()
            + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ")" : ""));
      } catch (IOException e) {
        throw new NeedleException(NeedleException.Code.IO, manifest + ": " + e.getMessage(), e);
      }
      JsonNode list = doc.get("experts");
      if (list == null || !list.isArray())
        throw new NeedleException(NeedleException.Code.BAD_INPUT, manifest + ": expected {\"experts\": [...]}");
      for (int i = 0; i < list.size(); i++) {
        JsonNode e = list.get(i);
        String subject = MANIFEST + " entry " + (i + 1) + (e.hasNonNull("id") ? " '" + e.get("id").asText() + "'"
            : e.hasNonNull("file") ? " (" + e.get("file").asText() + ")" : "");
        try {
          entry(root, e, experts, info);
        } catch (NeedleException ex) {
          problems.add(new Problem(subject, ex.getMessage()));
        }
      }
    } else {
      List<Path> files;
      try (Stream<Path> s = Files.list(root)) {
        files = s.filter(p -> p.getFileName().toString().endsWith(".onnx") && Files.isRegularFile(p)).sorted().toList();
      } catch (IOException e) {
        throw new NeedleException(NeedleException.Code.IO, dir + ": cannot list: " + e.getMessage(), e);
      }
      for (Path f : files) {
        String stem = f.getFileName().toString();
        stem = stem.substring(0, stem.length() - ".onnx".length());
        try {
          OnnxFile.Info in = model(root, f);
          info.put(f, in);
          experts.add(new Expert(sanitize(stem), f, null, null, null, 0, Preprocess.DEFAULT, meta(null, in)));
        } catch (NeedleException ex) {
          problems.add(new Problem(f.getFileName().toString(), stripSubject(ex.getMessage(), f)));
        }
      }
    }
    // ids must be unique: later duplicates are problems
    Map<String, Expert> seen = new LinkedHashMap<>();
    for (Iterator<Expert> it = experts.iterator(); it.hasNext(); ) {
      Expert e = it.next();
      if (seen.putIfAbsent(e.id(), e) != null) {
        problems.add(new Problem(e.id(), "expert id used twice (" + seen.get(e.id()).file().getFileName() + " and " + e.file().getFileName() + ")"));
        it.remove();
      }
    }
    if (experts.isEmpty() && problems.isEmpty())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, dir + ": no experts (no *.onnx files and no " + MANIFEST + ")");
    Selectors selectors = null;
    try {
      selectors = Selectors.read(root);
    } catch (NeedleException ex) {
      problems.add(new Problem(Selectors.FILE, ex.getMessage()));
    }
    return new Zoo(root, experts, problems, info, selectors);
  }

  private static void entry(Path root, JsonNode e, List<Expert> out, Map<Path, OnnxFile.Info> info) {
    if (!e.isObject()) throw bad("an entry must be a JSON object");
    unknown(e, ENTRY_KEYS, "");
    String file = text(e, "file");
    if (file == null) throw bad("\"file\" is required");
    Path f = inside(root, file, "file");
    String stem = f.getFileName().toString().replaceFirst("\\.onnx$", "");
    String id = e.hasNonNull("id") ? text(e, "id") : sanitize(stem);
    if (!ID.matcher(id).matches()) throw bad("id '" + id + "' may use only letters, digits and . _ + - @");
    String output = text(e, "output"), logits = text(e, "logits");
    OnnxFile.Info in = info.containsKey(f) ? info.get(f) : model(root, f);
    info.put(f, in);
    if (output != null && !in.values().contains(output))
      throw bad(f.getFileName() + ": no tensor named '" + output + "' in the graph (outputs: " + in.outputs() + ")");
    if (logits != null && !in.values().contains(logits))
      throw bad(f.getFileName() + ": no tensor named '" + logits + "' (\"logits\") in the graph (outputs: " + in.outputs() + ")");
    Preprocess pre = preprocess(e.get("preprocess"));
    Expert.Metadata meta = meta(e, in);
    String input = text(e, "input");
    JsonNode adapters = e.get("adapters");
    if (adapters == null || adapters.isNull()) {
      out.add(new Expert(id, f, input, output, null, 0, pre, meta, logits));
      return;
    }
    if (!adapters.isObject()) throw bad("\"adapters\" must be an object {\"input\": ..., \"count\" or \"experts\": ...}");
    unknown(adapters, ADAPTER_KEYS, "adapters.");
    String selector = text(adapters, "input");
    if (selector == null) throw bad("adapters.input (the integer input that selects the adapter) is required");
    List<Expert> group = new ArrayList<>();
    if (adapters.has("experts")) {
      JsonNode list = adapters.get("experts");
      if (!list.isArray() || list.isEmpty()) throw bad("adapters.experts must be a non-empty list");
      for (int i = 0; i < list.size(); i++) {
        JsonNode a = list.get(i);
        if (!a.isObject()) throw bad("adapters.experts[" + i + "] must be an object");
        unknown(a, ADAPTER_EXPERT_KEYS, "adapters.experts[" + i + "].");
        String name = a.hasNonNull("name") ? text(a, "name") : String.valueOf(i);
        long index = a.hasNonNull("index") ? integer(a, "index") : i;
        Expert.Metadata m = merge(meta, a);
        group.add(new Expert(id + "@" + name, f, input, output, selector, index, pre, m, logits));
      }
    } else {
      long count = adapters.hasNonNull("count") ? integer(adapters, "count") : 0;
      if (count < 1) throw bad("adapters needs \"count\" (a positive integer) or an \"experts\" list");
      if (count > MAX_ADAPTERS) throw bad("adapters.count " + count + " is more than " + MAX_ADAPTERS + " adapters");
      for (int i = 0; i < count; i++) group.add(new Expert(id + "@" + i, f, input, output, selector, i, pre, meta, logits));
    }
    for (Expert x : group)
      if (!ID.matcher(x.id()).matches()) throw bad("adapter id '" + x.id() + "' may use only letters, digits and . _ + - @");
    out.addAll(group);
  }

  /**
   * Resolves a manifest path against the zoo folder.
   *
   * @throws NeedleException BAD_INPUT if it is not a valid path or leaves the folder (".." or absolute)
   */
  static Path inside(Path root, String path, String key) {
    return inside(root, root, path, key);
  }

  /** As {@link #inside(Path, String, String)}, for a path relative to {@code base}, a folder of the zoo. */
  static Path inside(Path root, Path base, String path, String key) {
    Path f;
    try {
      f = base.resolve(path).normalize();
    } catch (java.nio.file.InvalidPathException ex) {
      throw bad(key + " '" + path + "' is not a valid path");
    }
    if (!f.startsWith(root)) throw bad(key + " '" + path + "' is outside the zoo folder");
    return f;
  }

  /** Reads and checks a model file's structure; it, and its external data, must be inside the zoo and present. */
  private static OnnxFile.Info model(Path root, Path f) {
    if (!Files.isRegularFile(f)) throw bad(f.getFileName() + ": no such file");
    try {
      if (!f.toRealPath().startsWith(root)) throw bad(f.getFileName() + ": links outside the zoo folder; refused");
    } catch (IOException ex) {
      throw bad(f.getFileName() + ": cannot read: " + ex.getMessage());
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(f);
    } catch (IOException e) {
      throw bad(f.getFileName() + ": cannot read: " + e.getMessage());
    }
    OnnxFile.Info in = OnnxFile.inspect(bytes, f.getFileName().toString());
    for (String loc : in.externalData()) {
      Path p;
      try {
        p = f.getParent().resolve(loc).normalize();
      } catch (java.nio.file.InvalidPathException ex) {
        throw bad(f.getFileName() + ": external data path '" + loc + "' is not a valid path");
      }
      if (Path.of(loc).isAbsolute() || !p.startsWith(root))
        throw bad(f.getFileName() + ": external data path '" + loc + "' points outside the zoo folder; refused");
      if (!Files.isRegularFile(p)) throw bad(f.getFileName() + ": external data file '" + loc + "' is missing");
      try {
        if (!p.toRealPath().startsWith(root))
          throw bad(f.getFileName() + ": external data path '" + loc + "' links outside the zoo folder; refused");
      } catch (IOException ex) {
        throw bad(f.getFileName() + ": external data file '" + loc + "': " + ex.getMessage());
      }
    }
    return in;
  }

  private static Preprocess preprocess(JsonNode p) {
    if (p == null || p.isNull()) return Preprocess.DEFAULT;
    if (!p.isObject()) throw bad("\"preprocess\" must be an object");
    unknown(p, PREPROCESS_KEYS, "preprocess.");
    return new Preprocess(text(p, "channels"), ints(p, "resize"), ints(p, "crop"), floats(p, "mean"), floats(p, "std"), text(p, "layout"));
  }

  private static Expert.Metadata meta(JsonNode e, OnnxFile.Info in) {
    Long params = e != null && e.hasNonNull("parameters") ? integer(e, "parameters") : Long.valueOf(in.parameters());
    if (e == null) return new Expert.Metadata(null, params, null, null, null, null, null);
    return new Expert.Metadata(text(e, "architecture"), params,
        e.hasNonNull("dimension") ? (int) integer(e, "dimension") : null, text(e, "upstream"),
        e.hasNonNull("upstream_size") ? integer(e, "upstream_size") : null, number(e, "score"), strings(e, "tags"), text(e, "parent"),
        strings(e, "ingredients"));
  }

  /** An adapter's own metadata over its model's. */
  private static Expert.Metadata merge(Expert.Metadata base, JsonNode a) {
    List<String> tags = new ArrayList<>(base.tags());
    List<String> own = strings(a, "tags");
    if (own != null) tags.addAll(own);
    return new Expert.Metadata(a.hasNonNull("architecture") ? text(a, "architecture") : base.architecture(),
        a.hasNonNull("parameters") ? Long.valueOf(integer(a, "parameters")) : base.parameters(),
        a.hasNonNull("dimension") ? Integer.valueOf((int) integer(a, "dimension")) : base.dimension(),
        a.hasNonNull("upstream") ? text(a, "upstream") : base.upstream(),
        a.hasNonNull("upstream_size") ? Long.valueOf(integer(a, "upstream_size")) : base.upstreamSize(),
        a.hasNonNull("score") ? number(a, "score") : base.score(), tags, base.parent(), base.ingredients());
  }

  private static void unknown(JsonNode o, Set<String> allowed, String prefix) {
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!allowed.contains(k)) throw bad("unknown key \"" + prefix + k + "\" (allowed: " + new java.util.TreeSet<>(allowed) + ")");
    }
  }

  private static String text(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v == null || v.isNull()) return null;
    if (!v.isTextual()) throw bad("\"" + k + "\" must be a string");
    return v.asText();
  }

  private static long integer(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v.isIntegralNumber()) return v.asLong();
    if (v.isNumber() && v.asDouble() == Math.rint(v.asDouble())) return (long) v.asDouble();  // 5e6
    throw bad("\"" + k + "\" must be an integer");
  }

  private static Double number(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v == null || v.isNull()) return null;
    if (!v.isNumber()) throw bad("\"" + k + "\" must be a number");
    return v.asDouble();
  }

  private static List<String> strings(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v == null || v.isNull()) return null;
    if (!v.isArray()) throw bad("\"" + k + "\" must be a list of strings");
    List<String> out = new ArrayList<>();
    v.forEach(x -> out.add(x.asText()));
    return out;
  }

  private static int[] ints(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v == null || v.isNull()) return null;
    if (v.isIntegralNumber()) return new int[] {v.asInt()};
    if (!v.isArray()) throw bad("\"" + k + "\" must be an integer or a list of integers");
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) {
      if (!v.get(i).isIntegralNumber()) throw bad("\"" + k + "\" must hold integers");
      out[i] = v.get(i).asInt();
    }
    return out;
  }

  private static float[] floats(JsonNode o, String k) {
    JsonNode v = o.get(k);
    if (v == null || v.isNull()) return null;
    if (v.isNumber()) return new float[] {(float) v.asDouble()};
    if (!v.isArray()) throw bad("\"" + k + "\" must be a number or a list of numbers");
    float[] out = new float[v.size()];
    for (int i = 0; i < out.length; i++) {
      if (!v.get(i).isNumber()) throw bad("\"" + k + "\" must hold numbers");
      out[i] = (float) v.get(i).asDouble();
    }
    return out;
  }

  static String sanitize(String stem) {
    return stem.replaceAll("[^A-Za-z0-9._+-]", "_");
  }

  private static String stripSubject(String msg, Path f) {
    String p = f.getFileName() + ": ";
    return msg.startsWith(p) ? msg.substring(p.length()) : msg;
  }

  private static NeedleException bad(String msg) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, msg);
  }
}
