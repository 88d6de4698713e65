package io.needle.cli;

import io.needle.proxy.Knn;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Proxies;
import io.needle.proxy.Proxy;
import io.needle.proxy.Settings;
import io.needle.proxy.TaskData;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options {@code needle score}, {@code select} and {@code demo} share: which proxies, how, on which backend. */
final class ProxyOptions {
  @Option(names = "--proxy", split = ",", paramLabel = "P",
      description = "proxies, comma separated, or all (see needle proxies; default: knn-loo; demo: all); the first ranks")
  List<String> proxies;

  @Option(names = "--backend", defaultValue = "auto", description = "scoring backend: auto, java, cpu or cuda (default: ${DEFAULT-VALUE})")
  String backend;

  @Option(names = "--k", description = "neighbours voting in the k-NN proxies (default: 1); same as --set k=K")
  Integer k;

  @Option(names = "--metric", description = "euclidean or cosine (default: euclidean); same as --set metric=M")
  String metric;

  @Option(names = "--val-fraction", description = "validation share of the stratified split (default: 0.2); same as --set val-fraction=F")
  Double valFraction;

  @Option(names = "--linear-c", description = "inverse L2 strength, as scikit-learn's C (default: 1.0); same as --set linear-c=C")
  Double linearC;

  @Option(names = "--linear-solver", description = "lbfgs, or sgd for the protocol of [004] (default: lbfgs); same as --set linear-solver=S")
  String solver;

  @Option(names = "--set", paramLabel = "NAME=VALUE", description = "any proxy parameter (needle proxies lists them with defaults), repeatable")
  Map<String, String> set;

  /** @return the chosen proxies, in report order; knn-loo when none was given */
  List<Proxy> proxies() {
    return proxies(List.of("knn-loo"));
  }

  /** @return the chosen proxies, in report order; {@code dflt} when none was given */
  List<Proxy> proxies(List<String> dflt) {
    return Proxies.parse(proxies == null || proxies.isEmpty() ? dflt : proxies);
  }

  /** @return the proxy parameters, with the seed of the split and of randomised proxies */
  Settings settings(long seed) {
    Settings s = Settings.defaults().with(TaskData.SEED, seed);
    if (set != null) for (Map.Entry<String, String> e : set.entrySet()) s = s.with(e.getKey(), e.getValue());
    if (k != null) s = s.with(Knn.K, k);
    if (metric != null) s = s.with(Knn.METRIC.name(), metric);
    if (valFraction != null) s = s.with(TaskData.VAL_FRACTION, valFraction);
    if (linearC != null) s = s.with(LinearProbe.C, linearC);
    if (solver != null) s = s.with(LinearProbe.SOLVER.name(), solver);
    return s;
  }
}
