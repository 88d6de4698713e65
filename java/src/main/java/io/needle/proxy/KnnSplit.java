package io.needle.proxy;

import io.needle.Score;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** {@code knn-split}: k-NN accuracy of the validation split against the train split (stratified, seeded; 80/20 by default). */
public final class KnnSplit implements Proxy {
  @Override
  public String id() {
    return "knn-split";
  }

  @Override
  public String description() {
    return "k-NN accuracy of the validation split against the train split ([004])";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.EMBEDDINGS, Need.SPLIT);
  }

  @Override
  public List<Option<?>> options() {
    return List.of(Knn.K, Knn.METRIC);
  }

  @Override
  public List<Score> score(TaskData task, List<ExpertInput> experts) {
    return Proxy.ok(this, experts, Knn.trainVal(task.backend(), Proxy.embeddings(experts), task.y(), task.split(), task.settings().get(Knn.K), Knn.cosine(task.settings())));
  }
}
