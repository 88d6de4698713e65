package io.needle.cli;

import io.needle.Score;
import io.needle.data.Images;
import io.needle.proxy.Settings;
import io.needle.proxy.Proxy;
import io.needle.report.Reports;
import io.needle.report.SelectReport;
import io.needle.select.Selection;
import io.needle.select.Selector;
import io.needle.Suite;
import io.needle.select.Strategies;
import io.needle.select.Strategy;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code needle select}: embed the task with every expert, score, and name the pick(s). */
@Command(name = "select", sortOptions = false,
    description = "Rank the experts of a zoo for a labelled image dataset and name the one(s) to fine-tune. Embeddings are cached (resumable: a killed run recomputes nothing it finished).")
final class SelectCommand implements Callable<Integer> {
  @Mixin TaskOptions task;

  @Mixin ProxyOptions proxy;

  @Option(names = "--strategy", defaultValue = "task-aware", description = "task-aware, task-agnostic, hybrid, or fused and history (with --model) (default: ${DEFAULT-VALUE})")
  String strategy;

  @Option(names = "--model", paramLabel = "FILE", description = "a trained model, fused or history-<proxy> (needle evaluate --save-model); implies its strategy, and without --proxy the proxies it reads")
  Path model;

  @Option(names = "--budget", defaultValue = "1", description = "how many experts to pick (default: ${DEFAULT-VALUE})")
  int budget;

  @Option(names = "--out", paramLabel = "DIR", description = "write ranking.csv, selection.json and report.html here")
  Path out;

  @Option(names = "--halving", description = "successive halving over inference: score every expert on a small stratified subset of the images, "
      + "keep the best, grow the subset, until the finalists see every image (ranked by the first proxy; saves most of the inference on a large pool)")
  boolean halving;

  @Option(names = "--halving-start", paramLabel = "N", defaultValue = "0",
      description = "images in the first halving round (default: an eighth of the task, at least 2 per class)")
  int halvingStart;

  @Option(names = "--halving-eta", paramLabel = "E", defaultValue = "2", description = "each halving round keeps 1/E of the experts and E times the images (default: ${DEFAULT-VALUE})")
  int halvingEta;

  @Option(names = "--halving-keep", paramLabel = "K", defaultValue = "0",
      description = "the fewest experts a halving round keeps (default: the larger of 4 and twice the budget)")
  int halvingKeep;

  @Option(names = "--top", paramLabel = "K", defaultValue = "30", description = "experts listed on the terminal, best first; 0 for all (ranking.csv has all; default: ${DEFAULT-VALUE})")
  int top;

  @Mixin RunOptions opts;

  /** How each task's selection is computed: in this JVM, or on a cluster (needle-spark). */
  private final Selector.Runner runner;

  SelectCommand() {
    this(Selector.LOCAL);
  }

  SelectCommand(Selector.Runner runner) {
    this.runner = runner;
  }

  @Override
  public Integer call() {
    if (top < 0) throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, "--top must be 0 (all) or more, got " + top);
    Path cacheRoot = opts.start(out);
    Strategy strat = model != null ? Strategies.load(model) : Strategies.get(strategy);
    // a trained model reads the proxies it was trained with: without --proxy, those (its ranking proxy first)
    List<Proxy> ps = proxy.proxies(strat instanceof io.needle.select.Learned l && !l.proxies().isEmpty() ? l.proxies() : List.of("knn-loo"));
    Settings o = proxy.settings(task.seed);
    ProgressBar bar = new ProgressBar(opts.quiet);
    long t0 = System.nanoTime();
    Zoo zoo = task.openZoo();
    TaskOptions.checkAny(zoo.experts(), zoo.problems(), task.zoo);
    if (io.needle.data.Tasks.isSuite(task.data)) return suite(zoo, ps, strat, o, bar, cacheRoot);
    Images all = Images.open(task.data, (d, t) -> {
      bar.show("read", d, t, "images", null);
      return 0;
    });
    bar.clear();
    Images images = all.subsample(task.n, task.seed);
    double readSeconds = (System.nanoTime() - t0) / 1e9;
    if (!opts.quiet) System.err.println("needle: " + TaskOptions.describe(all, images) + "; " + zoo.experts().size() + " experts");
    Selector.Config cfg = config(ps, o, strat);
    Selector.Result r = runner.run(zoo, images, cacheRoot == null ? null : cacheRoot.resolve(images.hash().substring(0, 16)), cfg,
        (done, total, current, n, nt) -> bar.show("embed", done, total, "experts", current + (n > 0 ? " " + n + "/" + nt : "")));
    bar.clear();
    java.util.Map<String, Double> stages = new java.util.LinkedHashMap<>();
    stages.put("read", readSeconds);
    stages.putAll(r.seconds());
    r = new Selector.Result(r.scores(), r.problems(), r.experts(), r.selection(), java.util.Collections.unmodifiableMap(stages), r.backend(), r.halving());
    List<String> ids = ps.stream().map(Proxy::id).toList();
    System.out.print(Reports.table(r.scores(), ids, top));
    Selection sel = r.selection();
    System.out.println();
    System.out.println(sel.picks().isEmpty() ? "no pick: no expert could be scored"
        : "pick" + (sel.picks().size() > 1 ? "s" : "") + " (" + strat.id() + ", budget " + budget + "): "
            + String.join(", ", sel.picks().stream().map(p -> p.expert() + " [" + p.reason() + "]").toList()));
    if (out != null) SelectReport.write(out, r, zoo.experts(), images, task.zoo.toString());
    if (!opts.quiet) {
      Main.printLeftOut(r.problems());
      long cached = r.experts().stream().filter(Selector.ExpertRun::cached).count();
      StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "needle: %d experts in %.2f s (%d embedded on every image, %d from cache, %d failed; scoring on %s)",
          zoo.experts().size(), (System.nanoTime() - t0) / 1e9, r.experts().size() - cached, cached,
          r.scores().stream().filter(s -> s.status() == Score.Status.FAILED).map(Score::expert).distinct().count(), r.backend()));
      r.seconds().forEach((st, v) -> sb.append(String.format(Locale.ROOT, "; %s %.2f s", st, v)));
      if (out != null) sb.append("; wrote ").append(out.resolve("report.html"));
      System.err.println(sb);
      if (r.halving() != null) System.err.println("needle: successive halving by " + r.halving().proxy() + ": " + r.halving().describe());
    }
    if (Main.exitCode(r.scores()) == Main.BAD_INPUT) return Main.BAD_INPUT;
    return r.problems().isEmpty() ? Main.OK : Main.PARTIAL;
  }

  /** A folder of tasks: select on each, print each pick, write scores.csv (task,expert,proxy,score) and a report per task. */
  private int suite(Zoo zoo, List<Proxy> ps, Strategy strat, Settings o, ProgressBar bar, Path cacheRoot) {
    List<io.needle.data.Tasks.Task> tasks = io.needle.data.Tasks.read(task.data);
    if (!opts.quiet) System.err.println("needle: " + tasks.size() + " tasks in " + task.data + "; " + zoo.experts().size() + " experts");
    Selector.Config cfg = config(ps, o, strat);
    Suite.Run run = Suite.run(zoo, tasks, cfg, task.n, task.seed, cacheRoot, out, ProgressBar.listener(bar, opts.quiet), runner);
    for (Suite.TaskRun t : run.tasks()) {
      Selection sel = t.result().selection();
      System.out.println(t.task().name() + ": " + (sel.picks().isEmpty() ? "no pick" : String.join(", ",
          sel.picks().stream().map(p -> p.expert() + " [" + p.reason() + "]").toList())));
    }
    if (!opts.quiet) {
      Main.printLeftOut(run.problems());
      System.err.println(String.format(Locale.ROOT, "needle: %d tasks x %d experts in %.1f s", run.tasks().size(), zoo.experts().size(), run.seconds())
          + (out != null ? "; wrote " + out.resolve(Suite.SCORES) + " and a report per task under " + out.resolve("tasks") : ""));
      List<io.needle.select.Halving.Report> hs = run.tasks().stream().map(t -> t.result().halving()).filter(java.util.Objects::nonNull).toList();
      if (!hs.isEmpty()) {
        long used = hs.stream().mapToLong(io.needle.select.Halving.Report::inferences).sum(), all = hs.stream().mapToLong(io.needle.select.Halving.Report::full).sum();
        System.err.println(String.format(Locale.ROOT, "needle: successive halving: %,d of %,d image inferences over %d tasks (%.1fx fewer)", used, all, hs.size(),
            used == 0 ? Double.POSITIVE_INFINITY : (double) all / used));
      }
    }
    return suiteExit(run, zoo);
  }

  private Selector.Config config(List<Proxy> ps, Settings o, Strategy strat) {
    Selector.Config cfg = new Selector.Config(io.needle.embed.Device.parse(task.device), task.threads, task.imageBatch,
        io.needle.engine.Backends.Kind.parse(proxy.backend), ps, o, strat, budget);
    if (!halving && (halvingStart != 0 || halvingEta != 2 || halvingKeep != 0))
      throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, "--halving-start, --halving-eta and --halving-keep need --halving");
    return halving ? cfg.withHalving(new io.needle.select.Halving(halvingStart, halvingEta, halvingKeep, task.seed)) : cfg;
  }

  /** A suite's exit status: 3 when no expert could be scored on any task (as for one task), else 0 or 1. */
  static int suiteExit(Suite.Run run, Zoo zoo) {
    List<io.needle.Score> all = run.tasks().stream().flatMap(t -> t.result().scores().stream()).toList();
    if (run.tasks().isEmpty() || Main.exitCode(all) == Main.BAD_INPUT) return Main.BAD_INPUT;
    return run.problems().isEmpty() && zoo.problems().isEmpty() ? Main.OK : Main.PARTIAL;
  }

  /** --cache, else $NEEDLE_CACHE, else $XDG_CACHE_HOME/needle, else ~/.cache/needle. */
  static Path cacheRoot(Path option) {
    if (option != null) return option;
    String env = System.getenv("NEEDLE_CACHE");
    if (env != null && !env.isBlank()) return Path.of(env);
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "needle");
    return Path.of(System.getProperty("user.home"), ".cache", "needle");
  }
}
