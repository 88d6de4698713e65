package io.needle.proxy;

import io.needle.Score;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A transferability proxy: a cheap score of how well an expert will do on a task once fine-tuned, computed from
 * what the expert makes of the task's labelled examples. Implementations are found with {@link java.util.ServiceLoader}
 * ({@link Proxies}): a new proxy is one class plus one line in {@code META-INF/services/io.needle.proxy.Proxy}.
 *
 * <p>A proxy says <em>what</em> is computed; heavy linear algebra goes through the {@link TaskData#backend() backend}
 * (java is the reference, cpu and cuda the fast paths). A proxy is stateless and thread-safe; everything it needs comes
 * in {@link TaskData} (labels, split, settings, task-level signals) and the {@link ExpertInput}s.
 */
public interface Proxy {
  /** What a proxy reads besides the labels. */
  enum Need {
    /** The expert's embeddings of the task's examples (every proxy has them). */
    EMBEDDINGS,
    /** The stratified train/validation split of the task ({@link TaskData#split()}). */
    SPLIT,
    /** The expert's upstream classifier outputs on the task's examples ({@link ExpertInput#logits()}). */
    UPSTREAM_LOGITS,
    /** The expert's metadata ({@link ExpertInput#meta()}). */
    METADATA,
    /** A task-level model run on the task's images, such as [001]'s expert-prediction network ({@link TaskData#signals()}). */
    TASK_MODEL
  }

  /** @return the id on the command line, in score tables and reports ("knn-loo", "logme", ...) */
  String id();

  /** @return one line: what it computes and the paper it comes from */
  String description();

  /** @return whether a higher value means a better expert (true for every built-in proxy) */
  default boolean higherIsBetter() {
    return true;
  }

  /** @return what the proxy reads; an expert or task lacking one gets an {@code undefined} score saying which */
  default Set<Need> needs() {
    return EnumSet.of(Need.EMBEDDINGS);
  }

  /** @return the parameters it reads from {@link TaskData#settings()}, with their defaults */
  default List<Option<?>> options() {
    return List.of();
  }

  /** @return a warning about this task for this proxy (said once per task), or null */
  default String warning(TaskData task) {
    return null;
  }

  /**
   * Scores several experts on one task (a batch, so that a backend can cover them in one call).
   *
   * @return one score per input, in input order, each ok, undefined or failed with its reason
   * @throws io.needle.NeedleException to fail the whole batch; the caller then retries expert by expert so that only
   *     the culprit fails ({@code NOT_APPLICABLE} makes the scores undefined instead of failed)
   */
  List<Score> score(TaskData task, List<ExpertInput> experts);

  /** @return the embeddings of a batch, in order (for proxies that hand a whole batch to a backend kernel) */
  static List<io.needle.data.Embedding> embeddings(List<ExpertInput> experts) {
    return experts.stream().map(ExpertInput::embedding).toList();
  }

  /** @return one ok score per expert, {@code values[i]} for {@code experts.get(i)} */
  static List<Score> ok(Proxy p, List<ExpertInput> experts, double[] values) {
    List<Score> out = new java.util.ArrayList<>(values.length);
    for (int i = 0; i < values.length; i++) out.add(Score.ok(experts.get(i).id(), p.id(), values[i]));
    return out;
  }
}
