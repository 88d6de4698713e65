package io.needle.zoo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.needle.NeedleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A zoo's task-level selectors ([001] section 5 and appendices A-B), described by {@code selectors/selectors.json}:
 * the expert-prediction network (EPN: an image → which expert's upstream slice it belongs to) and the generic upstream
 * classifier with each expert's upstream label prior (for KL label matching).
 *
 * <pre>{@code
 * {"upstream_classes": ["t-shirt", ...],
 *  "generic_classifier": {"file": "generic-classifier.onnx", "input": "image", "output": "logits"},
 *  "expert_prediction": {"file": "expert-prediction.onnx", "input": "image", "output": "logits",
 *                        "experts": ["semantic-fashion", ["semantic-shapes", "adapters@shapes"], ...],
 *                        "activation": "sigmoid"},
 *  "label_priors": {"baseline": [0.064, ...], ...}}
 * }</pre>
 *
 * @param expertPrediction the EPN as an expert-like model (its output: one logit per listed expert), or null
 * @param epnExperts the name of each EPN output column: its first expert id
 * @param epnColumns expert id → its EPN column. An entry of {@code "experts"} is an expert id or a list of the ids of
 *     every expert trained on that column's slice (a full expert and an adapter of the same slice share a column)
 * @param epnSoftmax whether the EPN's columns are a softmax over experts ([001]) rather than independent sigmoids
 * @param genericClassifier the generic upstream classifier (its output: one logit per upstream class), or null
 * @param upstreamClasses the upstream class of each generic-classifier column
 * @param priors expert id → its upstream label distribution over {@code upstreamClasses}
 */
public record Selectors(Expert expertPrediction, List<String> epnExperts, Map<String, Integer> epnColumns, boolean epnSoftmax,
    Expert genericClassifier, List<String> upstreamClasses, Map<String, double[]> priors) {
  /** The file, relative to the zoo folder. */
  public static final String FILE = "selectors/selectors.json";

  /**
   * Reads {@link #FILE} of a zoo folder.
   *
   * @return the selectors, or null when the zoo has none
   * @throws NeedleException BAD_INPUT naming the file and the problem
   */
  public static Selectors read(Path zoo) {
    Path f = zoo.resolve(FILE);
    if (!Files.isRegularFile(f)) return null;
    JsonNode doc;
    try {
      doc = new ObjectMapper().readTree(f.toFile());
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": " + e.getMessage());
    }
    Path dir = f.getParent();
    List<String> classes = strings(doc.get("upstream_classes"), f, "upstream_classes");
    Expert epn = null, generic = null;
    List<String> epnExperts = new ArrayList<>();
    Map<String, Integer> epnColumns = new LinkedHashMap<>();
    boolean softmax = false;
    JsonNode e = doc.get("expert_prediction");
    if (e != null && !e.isNull()) {
      JsonNode cols = e.get("experts");
      if (cols == null || !cols.isArray())
        throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": \"expert_prediction.experts\" must be a list of names (or lists of names)");
      for (JsonNode c : cols) {
        List<String> ids = c.isArray() ? strings(c, f, "expert_prediction.experts[" + epnExperts.size() + "]") : List.of(c.asText());
        if (ids.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": expert_prediction.experts[" + epnExperts.size() + "] is empty");
        for (String id : ids)
          if (epnColumns.putIfAbsent(id, epnExperts.size()) != null)
            throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": expert_prediction.experts names " + id + " twice");
        epnExperts.add(ids.get(0));
      }
      epn = model(dir, e, "selector:expert-prediction", f);
      softmax = e.path("activation").asText("sigmoid").equals("softmax");
    }
    JsonNode g = doc.get("generic_classifier");
    if (g != null && !g.isNull()) generic = model(dir, g, "selector:generic-classifier", f);
    Map<String, double[]> priors = new LinkedHashMap<>();
    JsonNode p = doc.get("label_priors");
    if (p != null && p.isObject()) {
      for (var it = p.fields(); it.hasNext(); ) {
        var en = it.next();
        List<Double> v = new ArrayList<>();
        for (JsonNode x : en.getValue()) v.add(x.asDouble());
        if (v.size() != classes.size())
          throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": label_priors." + en.getKey() + " has " + v.size() + " values for " + classes.size() + " upstream classes");
        priors.put(en.getKey(), v.stream().mapToDouble(Double::doubleValue).toArray());
      }
    }
    return new Selectors(epn, epnExperts, epnColumns, softmax, generic, classes, priors);
  }

  private static Expert model(Path dir, JsonNode m, String id, Path f) {
    String file = m.path("file").asText(null);
    if (file == null) throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": " + id.substring(9) + " needs \"file\"");
    Path p;
    try {
      p = Zoo.inside(dir.getParent(), dir, file, "file");
    } catch (NeedleException ex) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": " + id.substring(9) + ": " + ex.getMessage());
    }
    if (!Files.isRegularFile(p)) throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": " + p + " does not exist");
    return new Expert(id, p, m.path("input").asText(null), m.path("output").asText(null), null, 0, Preprocess.DEFAULT,
        new Expert.Metadata(null, null, null, null, null, null, null));
  }

  private static List<String> strings(JsonNode n, Path f, String what) {
    if (n == null || !n.isArray()) throw new NeedleException(NeedleException.Code.BAD_INPUT, f + ": \"" + what + "\" must be a list of names");
    List<String> out = new ArrayList<>();
    for (JsonNode x : n) out.add(x.asText());
    return out;
  }
}
