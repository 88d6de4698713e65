package io.needle.proxy;

import io.needle.Score;
import io.needle.data.Embedding;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** {@code linear}: validation accuracy of multinomial logistic regression fitted on the train split ({@link LinearProbe}). */
public final class Linear implements Proxy {
  @Override
  public String id() {
    return "linear";
  }

  @Override
  public String description() {
    return "validation accuracy of an L2-regularised multinomial logistic regression on the train split ([004])";
  }

  @Override
  public Set<Need> needs() {
    return EnumSet.of(Need.EMBEDDINGS, Need.SPLIT);
  }

  @Override
  public List<Option<?>> options() {
    return LinearProbe.OPTIONS;
  }

  @Override
  public List<Score> score(TaskData task, List<ExpertInput> experts) {
    List<Embedding> xs = new ArrayList<>();
    for (ExpertInput e : experts) xs.add(e.embedding());
    double[] acc = LinearProbe.score(task.backend(), xs, task.y(), task.classes(), task.split(), LinearProbe.Params.of(task.settings()));
    List<Score> out = new ArrayList<>();
    for (int i = 0; i < acc.length; i++) out.add(Score.ok(experts.get(i).id(), id(), acc[i]));
    return out;
  }
}
