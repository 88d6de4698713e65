package io.needle.zoo;

import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pool: the experts a selection may choose from, as a filter over metadata ([004]'s pools, e.g. "all models
 * with at most 25M parameters"). Written as comma-separated conditions that must all hold:
 *
 * <pre>params&lt;=25e6,dim&lt;=512,arch=resnet50,tag=semantic,upstream!=imagenet21k</pre>
 *
 * Fields: {@code id}, {@code arch}, {@code tag}, {@code upstream}, {@code parent} (text; {@code =} and {@code !=}) and
 * {@code params}, {@code dim}, {@code upstream_size}, {@code score} (numbers; {@code < <= > >= = !=}). An
 * expert whose metadata lacks a field a condition needs is not in the pool.
 */
public final class Pool {
  private static final Pattern COND = Pattern.compile("\\s*([a-z_]+)\\s*(<=|>=|!=|=|<|>)\\s*(.+?)\\s*");
  private final String text;
  private final List<Predicate<Expert>> conditions;

  private Pool(String text, List<Predicate<Expert>> conditions) {
    this.text = text;
    this.conditions = conditions;
  }

  /** The pool of every expert. */
  public static final Pool ALL = new Pool("all", List.of());

  /**
   * Parses a pool filter.
   *
   * @throws NeedleException INVALID_ARGUMENT naming the condition that does not parse
   */
  public static Pool parse(String text) {
    if (text == null || text.isBlank() || text.trim().equals("all")) return ALL;
    List<Predicate<Expert>> out = new ArrayList<>();
    for (String part : text.split(",")) {
      Matcher m = COND.matcher(part);
      if (!m.matches()) throw invalid("pool condition '" + part.trim() + "' is not FIELD OP VALUE (e.g. params<=25e6)");
      String field = m.group(1), op = m.group(2), value = m.group(3);
      switch (field) {
        case "id", "arch", "architecture", "tag", "upstream", "parent" -> {
          if (!op.equals("=") && !op.equals("!=")) throw invalid("pool field '" + field + "' is text: use = or !=");
          boolean eq = op.equals("=");
          out.add(e -> {
            List<String> have = switch (field) {
              case "id" -> List.of(e.id());
              case "tag" -> e.meta().tags();
              case "upstream" -> e.meta().upstream() == null ? null : List.of(e.meta().upstream());
              case "parent" -> e.meta().parent() == null ? null : List.of(e.meta().parent());
              default -> e.meta().architecture() == null ? null : List.of(e.meta().architecture());
            };
            return have != null && have.contains(value) == eq;
          });
        }
        case "params", "parameters", "dim", "dimension", "upstream_size", "score" -> {
          double v;
          try {
            v = Double.parseDouble(value);
          } catch (NumberFormatException ex) {
            throw invalid("pool condition '" + part.trim() + "': '" + value + "' is not a number");
          }
          out.add(e -> {
            Number have = switch (field) {
              case "params", "parameters" -> e.meta().parameters();
              case "dim", "dimension" -> e.meta().dimension();
              case "upstream_size" -> e.meta().upstreamSize();
              default -> e.meta().score();
            };
            if (have == null) return false;
            double h = have.doubleValue();
            return switch (op) {
              case "<" -> h < v;
              case "<=" -> h <= v;
              case ">" -> h > v;
              case ">=" -> h >= v;
              case "=" -> h == v;
              default -> h != v;
            };
          });
        }
        default -> throw invalid("unknown pool field '" + field + "' (use id, arch, tag, upstream, parent, params, dim, upstream_size, score)");
      }
    }
    return new Pool(text.trim(), List.copyOf(out));
  }

  /** @return true if the expert is in the pool */
  public boolean admits(Expert e) {
    for (Predicate<Expert> c : conditions) if (!c.test(e)) return false;
    return true;
  }

  @Override
  public String toString() {
    return text;
  }

  private static NeedleException invalid(String msg) {
    return new NeedleException(NeedleException.Code.INVALID_ARGUMENT, msg);
  }
}
