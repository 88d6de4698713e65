package io.needle.proxy;

import io.needle.data.Embedding;
import io.needle.zoo.Expert;

/**
 * What a proxy gets of one expert.
 *
 * @param embedding the expert's embeddings of the task's N examples (validated: N rows, finite)
 * @param logits the expert's upstream classifier outputs on the same examples (N x Z, pre-softmax), or null when the
 *     expert has no upstream head (or the manifest does not name it)
 * @param meta the expert's metadata, or null when unknown (scoring a folder of embeddings)
 */
public record ExpertInput(Embedding embedding, Embedding logits, Expert.Metadata meta) {
  /** @return the expert's name */
  public String id() {
    return embedding.expert();
  }

  /** @return an input with embeddings only */
  public static ExpertInput of(Embedding e) {
    return new ExpertInput(e, null, null);
  }
}
