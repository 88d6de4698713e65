package io.needle.proxy;

import io.needle.Score;
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
    return Proxy.ok(this, experts, LinearProbe.score(task.backend(), Proxy.embeddings(experts), task.y(), task.classes(), task.split(), LinearProbe.Params.of(task.settings()),
        task.linearWorkspace()));
  }
}
