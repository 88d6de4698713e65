package io.needle.select;

import io.needle.NeedleException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;

/** The registry of strategies: every {@link Strategy} on the class path, found once with {@link ServiceLoader}. */
public final class Strategies {
  private static volatile Map<String, Strategy> registry;

  private Strategies() {}

  private static Map<String, Strategy> registry() {
    Map<String, Strategy> r = registry;
    if (r == null) {
      synchronized (Strategies.class) {
        if (registry == null) {
          Map<String, Strategy> m = new LinkedHashMap<>();
          for (Strategy s : ServiceLoader.load(Strategy.class, Strategies.class.getClassLoader())) {
            Strategy old = m.putIfAbsent(s.id(), s);
            if (old != null && old.getClass() != s.getClass())
              throw new IllegalStateException("strategy id '" + s.id() + "' is declared by both " + old.getClass().getName() + " and " + s.getClass().getName());
          }
          registry = Collections.unmodifiableMap(m);
        }
        r = registry;
      }
    }
    return r;
  }

  /** @return every registered strategy, in discovery order */
  public static List<Strategy> all() {
    return List.copyOf(registry().values());
  }

  /**
   * @return the strategy with this id
   * @throws NeedleException INVALID_ARGUMENT naming the known ids
   */
  public static Strategy get(String id) {
    Strategy s = registry().get(id.trim().toLowerCase(Locale.ROOT));
    if (s == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown strategy '" + id + "': use " + String.join(", ", registry().keySet()));
    return s;
  }

  /**
   * Reads a trained model ({@code needle evaluate --save-model}): a {@link Fused} or a {@link HistoryBlend}, by its
   * {@code "strategy"} field.
   *
   * @throws NeedleException BAD_INPUT naming the file and the problem
   */
  public static Strategy load(java.nio.file.Path file) {
    var doc = ModelFile.read(file);
    String kind = doc.path("strategy").asText();
    return switch (kind) {
      case "fused" -> Fused.fromJson(doc, file);
      case "history" -> HistoryBlend.fromJson(doc, file);
      default -> throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": not a trained model (\"strategy\" is '" + kind + "'; expected fused or history)");
    };
  }

  /** Runs a strategy and wraps its picks. */
  public static Selection select(Strategy s, SelectionContext ctx) {
    if (s.needsMetadata() && ctx.metadata().isEmpty())
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "strategy " + s.id() + " needs the experts' metadata (a zoo)");
    return new Selection(s.id(), ctx.budget(), s.usesProxy() ? ctx.proxy() : null, s.pick(ctx));
  }
}
