package io.needle.select;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code task-agnostic}: the B best by metadata alone ([004]): task-agnostic score (e.g. upstream accuracy), then
 * upstream dataset size, then parameter count, all descending; experts with no score come after.
 */
public final class TaskAgnostic implements Strategy {
  @Override
  public String id() {
    return "task-agnostic";
  }

  @Override
  public String description() {
    return "the B best by metadata: score, upstream size, parameters ([004])";
  }

  @Override
  public boolean needsMetadata() {
    return true;
  }

  @Override
  public List<Selection.Pick> pick(SelectionContext ctx) {
    List<String> order = ctx.byMetadata();
    List<Selection.Pick> out = new ArrayList<>();
    for (int i = 0; i < Math.min(ctx.budget(), order.size()); i++)
      out.add(new Selection.Pick(order.get(i), ctx.proxy() == null ? Double.NaN : ctx.score(order.get(i), ctx.proxy()), "rank " + (i + 1) + " by metadata"));
    return out;
  }
}
