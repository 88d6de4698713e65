package io.needle.select;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.proxy.Proxies;
import io.needle.zoo.Expert;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What a {@link Strategy} sees of one task: the pool, what is known of each expert, every score, the proxy that ranks
 * task-aware picks and the budget.
 *
 * @param pool the experts that may be picked, by id
 * @param metadata expert id → metadata (empty when none is known)
 * @param scores proxy id → expert id → score (any status)
 * @param proxy the proxy that ranks task-aware picks (may be null for strategies that use none)
 * @param budget how many experts to pick, at least 1
 */
public record SelectionContext(List<String> pool, Map<String, Expert.Metadata> metadata, Map<String, Map<String, Score>> scores,
    String proxy, int budget) {
  public SelectionContext {
    if (budget < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "budget must be at least 1, got " + budget);
    pool = List.copyOf(pool);
    metadata = Map.copyOf(metadata);
    scores = Map.copyOf(scores);
  }

  /** The metadata order of the task-agnostic strategy ([004]): score, upstream size, parameters (all descending; unknown last), id. */
  public static final Comparator<Expert.Metadata> METADATA_ORDER = Comparator
      .comparing((Expert.Metadata m) -> m.score(), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(m -> m.upstreamSize(), Comparator.nullsLast(Comparator.reverseOrder()))
      .thenComparing(m -> m.parameters(), Comparator.nullsLast(Comparator.reverseOrder()));

  private static final Expert.Metadata NONE = new Expert.Metadata(null, null, null, null, null, null, null);

  /** @return the pool in metadata order (best first); experts without metadata last, by id */
  public List<String> byMetadata() {
    return pool.stream().sorted(Comparator.comparing((String e) -> metadata.getOrDefault(e, NONE), METADATA_ORDER)
        .thenComparing(Comparator.naturalOrder())).toList();
  }

  /** @return the experts of the pool with an ok score under {@code proxyId}, best first (the proxy's direction), ties by id */
  public List<String> byProxy(String proxyId) {
    Map<String, Score> s = scores.getOrDefault(proxyId, Map.of());
    double sign = Proxies.higherIsBetter(proxyId) ? -1 : 1;
    return pool.stream().filter(e -> s.containsKey(e) && s.get(e).ok())
        .sorted(Comparator.comparingDouble((String e) -> sign * s.get(e).score()).thenComparing(Comparator.naturalOrder())).toList();
  }

  /** @return the expert's ok score under {@code proxyId}, or NaN */
  public double score(String expert, String proxyId) {
    Score s = scores.getOrDefault(proxyId, Map.of()).get(expert);
    return s != null && s.ok() ? s.score() : Double.NaN;
  }
}
