package io.needle.zoo;

import java.nio.file.Path;
import java.util.List;

/**
 * One expert of a zoo: a model file (or one adapter of a packed model) and how to obtain its embedding.
 *
 * @param id unique name in rankings and cache file names ({@code model@adapter} for adapters)
 * @param file the ONNX file
 * @param input the image input's name, or null for the model's only float input
 * @param output the tensor taken as the embedding (an output or a named intermediate), or null for the only output
 * @param adapterInput the integer input that selects the adapter, or null for a plain model
 * @param adapterIndex the value fed to {@code adapterInput}
 * @param preprocess how images are prepared
 * @param meta what is known of the expert (task-agnostic ranking and pools use it)
 * @param logits the tensor holding the expert's upstream classifier outputs (for LEEP, NCE), or null when it has none
 */
public record Expert(String id, Path file, String input, String output, String adapterInput, long adapterIndex,
    Preprocess preprocess, Metadata meta, String logits) {
  /** An expert without upstream logits. */
  public Expert(String id, Path file, String input, String output, String adapterInput, long adapterIndex, Preprocess preprocess, Metadata meta) {
    this(id, file, input, output, adapterInput, adapterIndex, preprocess, meta, null);
  }

  /** The suffix of the id under which an expert's upstream logits are computed and cached. */
  public static final String LOGITS_SUFFIX = "#logits";

  /** @return the same model and adapter with its upstream logits as the output, or null when it has none */
  public Expert logitsExpert() {
    return logits == null ? null : new Expert(id + LOGITS_SUFFIX, file, input, logits, adapterInput, adapterIndex, preprocess, meta, null);
  }

  /** @return true if this expert is one adapter of a packed model */
  public boolean adapter() {
    return adapterInput != null;
  }

  /**
   * Metadata of an expert; every field may be null when unknown.
   *
   * @param architecture e.g. "resnet50"
   * @param parameters parameter count (read from the ONNX file when the manifest does not say)
   * @param dimension embedding dimension
   * @param upstream upstream (pre-training) dataset name
   * @param upstreamSize examples in the upstream dataset
   * @param score the task-agnostic score, e.g. upstream top-1 accuracy (higher is better)
   * @param tags free labels for pools
   * @param parent the id of the expert this one was fine-tuned from (its initialisation), or null: experts with one
   *     parent share a base, which weight averaging ({@link Soups}) needs
   * @param ingredients for a model soup, the ids of the experts whose weights it averages; empty otherwise
   */
  public record Metadata(String architecture, Long parameters, Integer dimension, String upstream, Long upstreamSize,
      Double score, List<String> tags, String parent, List<String> ingredients) {
    public Metadata {
      tags = tags == null ? List.of() : List.copyOf(tags);
      ingredients = ingredients == null ? List.of() : List.copyOf(ingredients);
    }

    /** Metadata without a parent or ingredients. */
    public Metadata(String architecture, Long parameters, Integer dimension, String upstream, Long upstreamSize, Double score, List<String> tags) {
      this(architecture, parameters, dimension, upstream, upstreamSize, score, tags, null, null);
    }

    /** @return this metadata with the dimension set */
    public Metadata withDimension(int d) {
      return new Metadata(architecture, parameters, d, upstream, upstreamSize, score, tags, parent, ingredients);
    }
  }
}
