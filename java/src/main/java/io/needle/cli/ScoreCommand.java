package io.needle.cli;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.proxy.Settings;
import io.needle.proxy.Proxy;
import io.needle.report.Reports;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code needle score}: proxies for every expert of a folder of embeddings. */
@Command(name = "score", sortOptions = false,
    description = "Score every expert in a folder of embeddings (*.npy or *.arrow, one N x D matrix per expert, named by file stem) against the task's labels, and print the experts ranked by the first proxy.")
final class ScoreCommand implements Callable<Integer> {
  @Option(names = "--embeddings", required = true, paramLabel = "DIR", description = "folder of per-expert embeddings")
  Path embeddings;

  @Option(names = "--labels", required = true, paramLabel = "FILE", description = ".npy of integers, or .arrow with a 'label' column")
  Path labels;

  @Mixin ProxyOptions proxy;

  @Option(names = "--out", paramLabel = "FILE", description = "write all scores to FILE: .csv, .json or .arrow")
  Path out;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--batch", defaultValue = "8", description = "experts in memory and per backend call (default: ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--seed", defaultValue = "0", description = "seed of the split and of SGD (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--quiet", description = "no progress bar or timing line")
  boolean quiet;

  @Override
  public Integer call() {
    Main.quiet(quiet);
    if (out != null) {
      Outputs.checkFile(out, "--out");
      Reports.checkFormat(out);
    }
    List<Proxy> ps = proxy.proxies();
    Settings o = proxy.settings(seed);
    long t0 = System.nanoTime();
    Labels y = Experts.labels(labels);
    List<Experts.Source> sources = Experts.list(embeddings, labels);
    ProgressBar bar = new ProgressBar(quiet);
    List<Score> scores;
    Map<String, Double> stages;
    String backendName;
    try (Needle needle = Needle.builder().backend(proxy.backend).threads(threads).proxies(ps).settings(o).batch(batch).build()) {
      backendName = needle.backend().name();
      scores = needle.scoreSources(y, sources, (done, total) -> bar.show("score", done, total, "experts", null));
      stages = needle.secondsPerStage();
    }
    bar.clear();
    List<String> ids = ps.stream().map(Proxy::id).toList();
    System.out.print(Reports.table(scores, ids));
    if (out != null) Reports.write(out, scores);
    double seconds = (System.nanoTime() - t0) / 1e9;
    long failedExperts = scores.stream().filter(s -> !s.ok()).map(Score::expert).distinct().count();
    if (!quiet) {
      StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "scored %d experts (%d failed) on %s in %.2f s: %.1f experts/s",
          sources.size(), failedExperts, backendName, seconds, sources.size() / seconds));
      stages.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "; %s %.2f s", k, v)));
      if (out != null) sb.append("; wrote ").append(out);
      System.err.println(sb);
    }
    return Main.exitCode(scores);
  }
}
