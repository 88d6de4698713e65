package io.needle.proxy;

import io.needle.data.Embedding;
import java.util.List;
import java.util.Map;

/**
 * Task-level signals: outputs of models that look at the task's images once, whatever the expert, such as [001]'s
 * expert-prediction network and its generic upstream classifier, with what is needed to read them per expert.
 *
 * @param outputs model name → its outputs on the task's N examples (N x K, as the model gives them: logits)
 * @param columns model name → the name of each output column (an expert id for the expert-prediction network, an
 *     upstream label for the generic classifier)
 * @param priors expert id → its upstream label distribution, aligned with the generic classifier's columns
 * @param epnSoftmax whether the expert-prediction network's outputs are a softmax over experts rather than independent
 *     sigmoids
 * @param epnColumns expert id → the expert-prediction column of its upstream slice (experts of one slice share one)
 */
public record TaskSignals(Map<String, Embedding> outputs, Map<String, List<String>> columns, Map<String, double[]> priors,
    boolean epnSoftmax, Map<String, Integer> epnColumns) {
  /** The output name of [001]'s expert-prediction network. */
  public static final String EXPERT_PREDICTION = "expert-prediction";
  /** The output name of [001]'s generic upstream classifier. */
  public static final String GENERIC_CLASSIFIER = "generic-classifier";

  public TaskSignals {
    outputs = Map.copyOf(outputs);
    columns = Map.copyOf(columns);
    priors = Map.copyOf(priors);
    epnColumns = Map.copyOf(epnColumns);
  }

  /** Signals whose expert-prediction columns are one expert each, named by {@code columns}. */
  public TaskSignals(Map<String, Embedding> outputs, Map<String, List<String>> columns, Map<String, double[]> priors,
      boolean epnSoftmax) {
    this(outputs, columns, priors, epnSoftmax, indexOf(columns.get(EXPERT_PREDICTION)));
  }

  private static Map<String, Integer> indexOf(List<String> names) {
    Map<String, Integer> out = new java.util.HashMap<>();
    if (names != null) for (int i = 0; i < names.size(); i++) out.putIfAbsent(names.get(i), i);
    return out;
  }
}
