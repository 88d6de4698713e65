package io.needle.cli;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.data.Images;
import io.needle.data.Tasks;
import io.needle.embed.EmbeddingCache;
import io.needle.proxy.LinearProbe;
import io.needle.proxy.Settings;
import io.needle.proxy.TaskData;
import io.needle.report.EnsembleReport;
import io.needle.select.Ensembles;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code needle ensemble}: pick a set of experts that work together, by greedy forward selection on probe ensembles. */
@Command(name = "ensemble", sortOptions = false,
    description = "Pick up to K experts that work together for a labelled image dataset (or every task of a folder with tasks.json): greedy forward selection maximising the validation accuracy of the temperature-calibrated ensemble of the experts' linear probes (calibrated), the same plus a bonus for error inconsistency (diverse), or of one probe on the concatenated embeddings (concat). Embeddings come through the same pipeline and cache as needle select.")
final class EnsembleCommand implements Callable<Integer> {
  @Mixin TaskOptions task;

  @Option(names = "--size", defaultValue = "3", paramLabel = "K", description = "the largest set to pick (default: ${DEFAULT-VALUE})")
  int size;

  @Option(names = "--method", split = ",", defaultValue = "calibrated,diverse,concat", paramLabel = "M",
      description = "calibrated, diverse and/or concat, comma separated (default: ${DEFAULT-VALUE})")
  List<String> methods;

  @Option(names = "--lambda", defaultValue = "0.1", description = "weight of the mean inconsistency with the picked experts in the diverse method (default: ${DEFAULT-VALUE})")
  double lambda;

  @Option(names = "--anchor", split = ",", paramLabel = "EXPERT", description = "start every set from these experts, in order: expert ids (\"which experts complement the ones I have?\"), task-agnostic (the pool's best by metadata, as that strategy picks) or task-agnostic:N (its top N); default: none")
  List<String> anchors;

  @Option(names = "--backend", defaultValue = "auto", description = "where the probes are fitted: auto, java, cpu or cuda (default: ${DEFAULT-VALUE})")
  String backend;

  @Option(names = "--linear-c", description = "inverse L2 strength of the probes, as scikit-learn's C (default: 1.0); same as --set linear-c=C")
  Double linearC;

  @Option(names = "--val-fraction", description = "validation share of the stratified split (default: 0.2); same as --set val-fraction=F")
  Double valFraction;

  @Option(names = "--set", paramLabel = "NAME=VALUE", description = "a linear-probe or split parameter (linear-max-iter, linear-tol, ...), repeatable")
  Map<String, String> set;

  @Option(names = "--out", paramLabel = "DIR", description = "write sets.csv, steps.csv, probes.csv, inconsistency.csv and report.html here (a folder per task under tasks/ for a folder of tasks)")
  Path out;

  @Mixin RunOptions opts;

  @Override
  public Integer call() {
    Path cacheRoot = opts.start(out);
    Settings s = Settings.defaults().with(TaskData.SEED, task.seed);
    if (set != null) for (Map.Entry<String, String> e : set.entrySet()) s = s.with(e.getKey(), e.getValue());
    if (linearC != null) s = s.with(LinearProbe.C, linearC);
    if (valFraction != null) s = s.with(TaskData.VAL_FRACTION, valFraction);
    Ensembles.Config cfg = new Ensembles.Config(io.needle.embed.Device.parse(task.device), task.threads, task.imageBatch,
        io.needle.engine.Backends.Kind.parse(backend), s, size, methods, lambda, anchors);
    Zoo zoo = task.openZoo();
    TaskOptions.checkAny(zoo.experts(), zoo.problems(), task.zoo);
    for (String a : cfg.anchors()) Ensembles.checkAnchor(a, zoo.experts());  // refused before anything is embedded
    if (size > zoo.experts().size())
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--size " + size + " but the pool has " + zoo.experts().size() + " expert(s)");
    ProgressBar bar = new ProgressBar(opts.quiet);
    long t0 = System.nanoTime();
    List<Problem> problems = new ArrayList<>(zoo.problems());
    List<List<Object>> sets = new ArrayList<>();  // a folder of tasks: every task's sets in one file
    int done = 0;
    if (Tasks.isSuite(task.data)) {
      List<Tasks.Task> tasks = Tasks.read(task.data);
      for (Tasks.Task t : tasks) {
        if (t.excluded() != null) {
          if (!opts.quiet) System.err.println("needle: task " + t.name() + " excluded by tasks.json: " + t.excluded());
          continue;
        }
        try {
          Ensembles.Result r = one(zoo, t.name(), Images.open(t.train()).subsample(task.n, task.seed), cfg, cacheRoot, bar,
              out == null ? null : out.resolve("tasks").resolve(t.name()));
          sets.addAll(EnsembleReport.setsRows(t.name(), r));
          for (Problem p : r.problems()) if (!zoo.problems().contains(p)) problems.add(new Problem(t.name() + ": " + p.subject(), p.message()));
          done++;
          if (out != null) EnsembleReport.writeSets(out.resolve("sets.csv"), sets);
        } catch (NeedleException e) {
          if (e.code() != NeedleException.Code.BAD_INPUT) throw e;
          problems.add(new Problem("task " + t.name(), e.getMessage()));
        }
      }
      if (done == 0) throw new NeedleException(NeedleException.Code.BAD_INPUT, "no task could be searched (" + (problems.isEmpty() ? "none included" : problems.get(problems.size() - 1)) + ")");
    } else {
      Images images = Images.open(task.data).subsample(task.n, task.seed);
      Path source = Path.of(images.source()).getFileName();
      Ensembles.Result r = one(zoo, source == null ? images.source() : source.toString(), images, cfg, cacheRoot, bar, out);
      for (Problem p : r.problems()) if (!zoo.problems().contains(p)) problems.add(p);
    }
    if (!opts.quiet) {
      Main.printLeftOut(problems);
      System.err.println(String.format(Locale.ROOT, "needle: %.1f s", (System.nanoTime() - t0) / 1e9) + (out != null ? "; wrote " + out : ""));
    }
    return problems.isEmpty() ? Main.OK : Main.PARTIAL;
  }

  /** One task: embed (through the cache), probe, search, print, write. */
  private Ensembles.Result one(Zoo zoo, String name, Images images, Ensembles.Config cfg, Path cacheRoot, ProgressBar bar, Path dir) {
    Ensembles.Result r;
    try (EmbeddingCache c = cacheRoot == null ? null : EmbeddingCache.open(cacheRoot.resolve(images.hash().substring(0, 16)))) {
      r = Ensembles.run(zoo.experts(), List.of(), images, c, cfg,
          (d, total, current, n, nt) -> bar.show("embed " + name, d, total, "experts", current + (n > 0 ? " " + n + "/" + nt : "")));
    } finally {
      bar.clear();
    }
    System.out.println(name + " (" + images.size() + " examples, " + r.probes().probes().size() + " probes, validation " + r.probes().yval().length + ")");
    System.out.print(EnsembleReport.text(r));
    System.out.println();
    if (dir != null) EnsembleReport.write(dir, name, r, "Task " + name + " (" + images.source() + "), zoo " + task.zoo);
    return r;
  }

}
