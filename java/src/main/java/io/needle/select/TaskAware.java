package io.needle.select;

import java.util.ArrayList;
import java.util.List;

/** {@code task-aware}: the B best by a task-aware proxy; experts it could not score are never picked ([004]). */
public final class TaskAware implements Strategy {
  @Override
  public String id() {
    return "task-aware";
  }

  @Override
  public String description() {
    return "the B best by the first proxy ([004])";
  }

  @Override
  public boolean usesProxy() {
    return true;
  }

  /** Named by the proxy alone in evaluation tables ("knn-loo"). */
  @Override
  public String label(String proxy) {
    return proxy;
  }

  @Override
  public List<Selection.Pick> pick(SelectionContext ctx) {
    List<String> order = ctx.byProxy(ctx.proxy());
    List<Selection.Pick> out = new ArrayList<>();
    for (int i = 0; i < Math.min(ctx.budget(), order.size()); i++)
      out.add(new Selection.Pick(order.get(i), ctx.score(order.get(i), ctx.proxy()), "rank " + (i + 1) + " by " + ctx.proxy()));
    return out;
  }
}
