package io.needle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.needle.NeedleException;
import io.needle.data.Tasks;
import io.needle.eval.Evaluation;
import io.needle.eval.Oracle;
import io.needle.proxy.Proxy;
import io.needle.select.Selector;
import io.needle.Suite;
import io.needle.select.Strategies;
import io.needle.zoo.Zoo;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code needle demo}: the bundled benchmark end to end. Select on every task of the bundled mini-VTAB with the
 * bundled zoo, evaluate the regret of every strategy against the recorded fine-tune oracle for budgets 1..5, and
 * set the cost of selection beside the cost of the exhaustive fine-tuning the oracle took.
 */
@Command(name = "demo", sortOptions = false,
    description = "Run the bundled benchmark: select on every bundled task, evaluate regret against the fine-tune oracle for budgets 1..5, and compare the cost of selection with the recorded cost of exhaustive fine-tuning.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--benchmark", defaultValue = "mini-vtab", paramLabel = "NAME",
      description = "a bundled benchmark under examples/: mini-vtab (mixed architectures, ~1 min) or mini-experts ([001]'s setting: one architecture, experts from slices of an upstream hierarchy) (default: ${DEFAULT-VALUE})")
  String benchmark;

  @Option(names = "--dir", paramLabel = "DIR", description = "another benchmark folder: zoo/, tasks/tasks.json, oracle.csv (overrides --benchmark)")
  Path dir;

  @Mixin ProxyOptions proxy;

  @Option(names = "--budget", defaultValue = "1..5", paramLabel = "B", description = "budgets to evaluate (default: ${DEFAULT-VALUE})")
  String budget;

  @Option(names = "--out", defaultValue = "needle-demo", paramLabel = "DIR", description = "outputs (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--device", defaultValue = "auto", description = "ONNX Runtime provider: auto, cpu or cuda (default: ${DEFAULT-VALUE})")
  String device;

  @Mixin RunOptions opts;

  @Option(names = "--resamples", defaultValue = "1000", description = "bootstrap resamples of the tasks (default: ${DEFAULT-VALUE})")
  int resamples;

  @Override
  public Integer call() {
    Path cacheRoot = opts.start(out);
    Path d = dir != null ? dir : bundled(benchmark);
    Zoo zoo = Zoo.open(d.resolve("zoo"));
    TaskOptions.checkAny(zoo.experts(), zoo.problems(), d.resolve("zoo"));
    List<Tasks.Task> tasks = Tasks.read(d.resolve("tasks"));
    Path oracleFile = d.resolve("oracle.csv");
    // said once: by the suite as it skips the task, or here when --quiet silences the suite
    Oracle oracle = EvaluateCommand.withoutExcluded(Oracle.read(oracleFile), tasks, opts.quiet);
    List<Proxy> ps = proxy.proxies(List.of("all"));
    System.out.println("needle demo: " + Tasks.included(tasks).size() + " tasks x " + zoo.experts().size() + " experts from " + d);
    long cpu0 = cpuNanos();
    Selector.Config cfg = new Selector.Config(io.needle.embed.Device.parse(device), threads, 32, io.needle.engine.Backends.Kind.parse(proxy.backend), ps, proxy.settings(0), Strategies.get("hybrid"), 2);
    Suite.Run run = Suite.run(zoo, tasks, cfg, 1000, 0, cacheRoot, out, ProgressBar.listener(new ProgressBar(opts.quiet), opts.quiet));
    double cpu = (cpuNanos() - cpu0) / 1e9;
    // embeddings computed expert-major before the per-task selections were read back from the cache by them: not cached
    long cached = Math.max(0, run.tasks().stream().flatMap(t -> t.result().experts().stream()).filter(Selector.ExpertRun::cached).count()
        - run.computedUpFront());
    long runs = run.tasks().stream().mapToLong(t -> t.result().experts().size()).sum();

    Evaluation.Config ec = new Evaluation.Config(zoo.experts(), null, EvaluateCommand.groups(Tasks.included(tasks)), EvaluateCommand.budgets(budget), resamples, 0,
        secondsPerExpert(run, ps), Files.isRegularFile(d.resolve("oracle").resolve("runs.csv")) ? io.needle.eval.SeedRuns.read(d.resolve("oracle").resolve("runs.csv")) : null);
    Evaluation.Result r = Evaluation.run(oracle, Suite.scoreTable(run.tasks()), ec);
    System.out.println();
    EvaluateCommand.print(r, out.resolve("evaluation"), "The bundled benchmark " + d + ": scores from needle demo against " + oracleFile);
    Path logits = d.resolve("oracle").resolve("logits");
    if (Files.isDirectory(logits) && ec.runs() != null)  // the oracle saved its test logits: ensembles of the picks too
      EvaluateCommand.ensembles(r, logits, Tasks.included(tasks), ec.runs(), List.of(), "fused", out.resolve("evaluation"), false);
    if (r.models().containsKey("fused"))
      EvaluateCommand.saveModel(r, out.resolve("evaluation").resolve("fused-model.json"), "fused", "trained by needle demo on " + r.tasks().size() + " tasks of " + d);

    System.out.println();
    System.out.println("Cost");
    System.out.println(String.format(Locale.ROOT, "  selection (this run): %.1f s wall, %.1f s CPU for %d tasks x %d experts, proxies %s%s",
        run.seconds(), cpu, run.tasks().size(), zoo.experts().size(), String.join(",", ps.stream().map(io.needle.proxy.Proxy::id).toList()),
        cached > 0 ? " (" + cached + " of " + runs + " embeddings from the cache; --no-cache for the full cost)" : ""));
    JsonNode cost = cost(d.resolve("oracle").resolve("cost.json"));
    if (cost != null) {
      double ft = cost.path("cpu_seconds").asDouble(Double.NaN);
      System.out.println(String.format(Locale.ROOT, "  exhaustive fine-tuning (recorded with the oracle): %.0f s CPU for %d fine-tunes (%s)",
          ft, cost.path("fine_tunes").asLong(), cost.path("machine").asText("machine not recorded")));
      if (cached == 0)
        System.out.println(String.format(Locale.ROOT, "  selection took %.1f%% of the fine-tuning's CPU time (%.0fx less); with B=2 a hybrid pick then fine-tunes 2 of %d experts",
            100 * cpu / ft, ft / cpu, zoo.experts().size()));
      else  // a cached run skipped the embedding: its time says nothing about the cost of selection
        System.out.println("  no ratio: this run read embeddings from the cache; run with --no-cache to compare the full cost of selection");
    }
    Main.printLeftOut(run.problems());
    Main.info("needle: wrote " + out.resolve(Suite.SCORES) + ", " + out.resolve("evaluation").resolve("report.html") + " and a selection report per task under " + out.resolve("tasks"));
    return SelectCommand.suiteExit(run, zoo);
  }

  /** Scoring seconds per expert and task of each proxy, over the whole run. */
  static java.util.Map<String, Double> secondsPerExpert(Suite.Run run, List<Proxy> ps) {
    java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
    long scored = run.tasks().stream().mapToLong(t -> t.result().experts().size()).sum();
    for (Proxy p : ps) {
      double s = run.tasks().stream().mapToDouble(t -> t.result().seconds().getOrDefault(p.id(), 0.0)).sum();
      if (scored > 0) out.put(p.id(), s / scored);
    }
    return out;
  }

  private static JsonNode cost(Path f) {
    if (!Files.isRegularFile(f)) return null;
    try {
      return new ObjectMapper().readTree(f.toFile());
    } catch (IOException e) {
      System.err.println("needle: " + f + ": " + e.getMessage() + " (fine-tune cost not shown)");
      return null;
    }
  }

  private static long cpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean s) return s.getProcessCpuTime();
    return 0;
  }

  /** The bundled benchmarks {@code --benchmark} accepts (folders under {@code examples/}). */
  static final List<String> BENCHMARKS = List.of("mini-vtab", "mini-experts");

  /** examples/NAME under the working directory, else beside the jar's checkout (java/target/needle.jar). */
  static Path bundled(String name) {
    if (!BENCHMARKS.contains(name))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--benchmark " + name + ": no such bundled benchmark (bundled: " + String.join(", ", BENCHMARKS) + ")");
    Path rel = Path.of("examples", name);
    if (Files.isDirectory(rel)) return rel;
    try {
      Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path p = jar.getParent(); p != null; p = p.getParent())
        if (Files.isDirectory(p.resolve(rel))) return p.resolve(rel);
    } catch (Exception ignored) {
      // fall through to the message below
    }
    throw new NeedleException(NeedleException.Code.BAD_INPUT, "no bundled benchmark at " + rel.toAbsolutePath() + ": pass --dir");
  }
}
