package io.needle.select;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** {@code hybrid}: the best task-agnostic expert plus the B−1 best task-aware others ([004] section 3). */
public final class Hybrid implements Strategy {
  @Override
  public String id() {
    return "hybrid";
  }

  @Override
  public String description() {
    return "the best expert by metadata plus the B-1 best others by the first proxy ([004])";
  }

  @Override
  public boolean usesProxy() {
    return true;
  }

  @Override
  public boolean needsMetadata() {
    return true;
  }

  @Override
  public List<Selection.Pick> pick(SelectionContext ctx) {
    List<String> meta = ctx.byMetadata(), aware = ctx.byProxy(ctx.proxy());
    LinkedHashSet<String> picked = new LinkedHashSet<>();
    if (!meta.isEmpty()) picked.add(meta.get(0));
    for (String e : aware) {
      if (picked.size() >= ctx.budget()) break;
      picked.add(e);
    }
    List<Selection.Pick> out = new ArrayList<>();
    for (String e : picked)
      out.add(new Selection.Pick(e, ctx.score(e, ctx.proxy()), out.isEmpty() ? "best by metadata" : "rank " + (aware.indexOf(e) + 1) + " by " + ctx.proxy()));
    return out;
  }
}
