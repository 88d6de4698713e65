package io.needle.proxy;

import io.needle.Score;
import io.needle.data.Embedding;
import java.util.ArrayList;
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
    List<Embedding> xs = new ArrayList<>();
    for (ExpertInput e : experts) xs.add(e.embedding());
    double[] acc = Knn.trainVal(task.backend(), xs, task.y(), task.split(), task.settings().get(Knn.K), task.settings().get(Knn.METRIC).equals("cosine"));
    List<Score> out = new ArrayList<>();
    for (int i = 0; i < acc.length; i++) out.add(Score.ok(experts.get(i).id(), id(), acc[i]));
    return out;
  }
}
