package io.needle.cli;

import io.needle.NeedleException;
import io.needle.proxy.Options;
import io.needle.proxy.Proxy;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options {@code needle score} and {@code needle select} share: which proxies, how, on which backend. */
final class ProxyOptions {
  @Option(names = "--proxy", split = ",", paramLabel = "P",
      description = "proxies, comma separated: knn-loo, knn-split, linear (default: knn-loo; demo: all three); the first ranks")
  List<String> proxies;

  @Option(names = "--backend", defaultValue = "auto", description = "scoring backend: auto, java, cpu or cuda (default: ${DEFAULT-VALUE})")
  String backend;

  @Option(names = "--k", defaultValue = "1", description = "neighbours voting in the k-NN proxies (default: ${DEFAULT-VALUE})")
  int k;

  @Option(names = "--metric", defaultValue = "euclidean", description = "euclidean or cosine (default: ${DEFAULT-VALUE})")
  String metric;

  @Option(names = "--val-fraction", defaultValue = "0.2", description = "validation share of the stratified split (default: ${DEFAULT-VALUE})")
  double valFraction;

  @Option(names = "--linear-c", defaultValue = "1.0", description = "inverse L2 strength, as scikit-learn's C (default: ${DEFAULT-VALUE})")
  double linearC;

  @Option(names = "--linear-solver", defaultValue = "lbfgs", description = "lbfgs, or sgd for the protocol of [004] (default: ${DEFAULT-VALUE})")
  String solver;

  /** @return the chosen proxies, in report order; knn-loo when none was given */
  List<Proxy> proxies() {
    return proxies(List.of(Proxy.KNN_LOO));
  }

  /** @return the chosen proxies, in report order; {@code dflt} when none was given */
  List<Proxy> proxies(List<Proxy> dflt) {
    if (proxies == null || proxies.isEmpty()) return dflt;
    List<Proxy> ps = new ArrayList<>();
    for (String p : proxies) ps.add(Proxy.parse(p));
    return ps;
  }

  /** @return the proxy parameters, with the seed of the split and of SGD */
  Options options(long seed) {
    if (!metric.equals("euclidean") && !metric.equals("cosine"))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown metric '" + metric + "': use euclidean or cosine");
    return Options.defaults().withK(k).withCosine(metric.equals("cosine")).withValFraction(valFraction).withSeed(seed)
        .withLinearC(linearC).withSolver(solver);
  }
}
