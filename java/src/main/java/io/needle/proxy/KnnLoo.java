package io.needle.proxy;

import io.needle.Score;
import java.util.List;

/**
 * {@code knn-loo}: leave-one-out k-NN accuracy over all N examples ([004]). Each example is classified by its k nearest
 * other examples (its own index excluded explicitly, so duplicates and zero distances are handled exactly); ties in
 * distance go to the lowest index. An example whose class has no other member is always misclassified.
 */
public final class KnnLoo implements Proxy {
  @Override
  public String id() {
    return "knn-loo";
  }

  @Override
  public String description() {
    return "leave-one-out k-NN accuracy over all examples ([004])";
  }

  @Override
  public List<Option<?>> options() {
    return List.of(Knn.K, Knn.METRIC);
  }

  @Override
  public String warning(TaskData task) {
    long[] single = task.labels().singletons();
    return single.length == 0 ? null : "classes " + java.util.Arrays.toString(single)
        + " have a single example: knn-loo counts each as misclassified (its only same-class example is itself, which is excluded)";
  }

  @Override
  public List<Score> score(TaskData task, List<ExpertInput> experts) {
    return Proxy.ok(this, experts, Knn.leaveOneOut(task.backend(), Proxy.embeddings(experts), task.y(), task.settings().get(Knn.K), Knn.cosine(task.settings())));
  }
}
