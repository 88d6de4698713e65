package io.needle.proxy;

import io.needle.Score;
import io.needle.data.Embedding;
import java.util.ArrayList;
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
    int[] single = task.labels().singletons();
    return single.length == 0 ? null : "classes " + java.util.Arrays.toString(single)
        + " have a single example: knn-loo counts each as misclassified (its only same-class example is itself, which is excluded)";
  }

  @Override
  public List<Score> score(TaskData task, List<ExpertInput> experts) {
    List<Embedding> xs = new ArrayList<>();
    for (ExpertInput e : experts) xs.add(e.embedding());
    double[] acc = Knn.leaveOneOut(task.backend(), xs, task.y(), task.settings().get(Knn.K), task.settings().get(Knn.METRIC).equals("cosine"));
    List<Score> out = new ArrayList<>();
    for (int i = 0; i < acc.length; i++) out.add(Score.ok(experts.get(i).id(), id(), acc[i]));
    return out;
  }
}
