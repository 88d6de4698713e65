package io.needle.cli;

import io.needle.NeedleException;
import io.needle.data.Tasks;
import io.needle.eval.Evaluation;
import io.needle.eval.Oracle;
import io.needle.eval.ScoreTable;
import io.needle.report.EvalReport;
import io.needle.zoo.Expert;
import io.needle.zoo.Pool;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code needle evaluate}: regret of every strategy against a fine-tune oracle. */
@Command(name = "evaluate", sortOptions = false,
    description = "Regret of model-search strategies (random, task-agnostic, each proxy, hybrid) against a fine-tune oracle, per task and group, for budgets B; rank correlation of each proxy with the oracle; bootstrap 95%% intervals.")
final class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--scores", required = true, paramLabel = "FILE", description = "CSV task,expert,proxy,score (as needle select writes for a folder of tasks)")
  Path scores;

  @Option(names = "--oracle", required = true, paramLabel = "FILE", description = "CSV task,expert,accuracy: fine-tuned test accuracy in [0,1]")
  Path oracle;

  @Option(names = "--zoo", paramLabel = "DIR", description = "the zoo, for expert metadata (task-agnostic and hybrid strategies, --pool)")
  Path zoo;

  @Option(names = "--tasks", paramLabel = "FILE", description = "tasks.json (or its folder) giving each task's group (default: one group)")
  Path tasks;

  @Option(names = "--budget", defaultValue = "1..5", paramLabel = "B", description = "budgets: N, A..B or a list (default: ${DEFAULT-VALUE})")
  String budget;

  @Option(names = "--pool", paramLabel = "FILTER", description = "experts to consider, e.g. tag=semantic (needs --zoo)")
  String pool;

  @Option(names = "--resamples", defaultValue = "1000", description = "bootstrap resamples of the tasks, 0 for none (default: ${DEFAULT-VALUE})")
  int resamples;

  @Option(names = "--seed", defaultValue = "0", description = "bootstrap seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--out", paramLabel = "DIR", description = "write regret.csv, summary.csv, correlation*.csv, relative-delta.csv and report.html here")
  Path out;

  @Option(names = "--runs", paramLabel = "FILE", description = "the oracle's runs (task,expert,lr,seed,val_accuracy,test_accuracy[,diverged]): adds regret beyond seed noise")
  Path runs;

  @Option(names = "--ensembles", paramLabel = "DIR",
      description = "the oracle's test logits (<task>/<expert>.npz): adds the true accuracy of ensembles of fine-tuned experts, the oracle's best set of each size and the regret of picked sets (needs --runs and --tasks)")
  Path ensembles;

  @Option(names = "--sets", paramLabel = "FILE", description = "sets picked by needle ensemble (its sets.csv), evaluated with --ensembles")
  Path sets;

  @Option(names = "--single", defaultValue = "fused", paramLabel = "STRATEGY",
      description = "the single pick (budget 1) set beside the ensembles in the per-task table (default: ${DEFAULT-VALUE})")
  String single;

  @Option(names = "--save-model", paramLabel = "FILE", description = "write a learned strategy (--save-strategy) trained on every task here, for needle select --model")
  Path saveModel;

  @Option(names = "--save-strategy", defaultValue = "fused", paramLabel = "STRATEGY",
      description = "the learned strategy --save-model writes: fused or history-<proxy> (default: ${DEFAULT-VALUE})")
  String saveStrategy;

  @Override
  public Integer call() {
    if (pool != null && zoo == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--pool needs --zoo (the experts' metadata)");
    if (ensembles != null && (runs == null || tasks == null))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--ensembles needs --runs (each run's learning rate and seed) and --tasks (the test labels)");
    if (sets != null && ensembles == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--sets needs --ensembles");
    if (resamples < 0) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--resamples must be 0 or more");
    Outputs.checkDir(out, "--out");
    Outputs.checkFile(saveModel, "--save-model");
    List<Expert> experts = null;
    if (zoo != null) {
      Zoo z = Zoo.open(zoo);
      for (io.needle.Problem p : z.problems()) System.err.println("needle: zoo: " + p);
      experts = z.experts();
    }
    List<Tasks.Task> listed = tasks == null ? null : Tasks.read(tasks);
    Map<String, String> groups = listed == null ? Map.of() : groups(Tasks.included(listed));
    Evaluation.Config cfg = new Evaluation.Config(experts, pool == null ? null : Pool.parse(pool), groups, budgets(budget), resamples, seed,
        Map.of(), runs == null ? null : io.needle.eval.SeedRuns.read(runs));
    List<io.needle.eval.EnsembleEvaluation.Picked> picked = sets == null ? List.of() : io.needle.eval.EnsembleEvaluation.readSets(sets);
    Evaluation.Result r = Evaluation.run(withoutExcluded(Oracle.read(oracle), listed), ScoreTable.read(scores), cfg);
    print(r, out, "Scores " + scores + " against the oracle " + oracle + (pool != null ? ", pool " + pool : ""));
    if (ensembles != null) ensembles(r, ensembles, Tasks.included(listed), cfg.runs(), picked, single, out, pool != null);
    if (saveModel != null) saveModel(r, saveModel, saveStrategy, "trained on " + r.tasks().size() + " tasks of " + oracle + " with scores " + scores);
    return Main.OK;
  }

  /** Writes a learned strategy trained on every task ({@code fused}, {@code history-<proxy>}), if the evaluation has it. */
  static void saveModel(Evaluation.Result r, Path file, String label, String note) {
    if (!(r.models().get(label.trim()) instanceof io.needle.select.Learned m))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--save-model: no learned strategy '" + label + "' was trained"
          + (r.models().isEmpty() ? " (learned strategies need at least 2 tasks)" : "; trained: " + String.join(", ", r.models().keySet())));
    m.save(file, note);
    Main.info("needle: wrote the " + label.trim() + " model " + m.summary() + " to " + file);
  }

  static void print(Evaluation.Result r, Path out, String title) {
    System.out.print(EvalReport.text(r));
    for (String w : r.warnings()) System.err.println("needle: " + w);
    if (r.noise() != null) for (String w : r.noise().warnings()) System.err.println("needle: " + w);
    if (out != null) {
      EvalReport.write(out, r, title);
      Main.info("needle: wrote " + out.resolve("report.html") + " and the CSV tables beside it");
    }
  }

  /**
   * The ensemble view: the strategies' picks at budgets of 2 and more and the given sets, against the oracle's best
   * sets computed from its test logits; printed, and written as ensembles.csv and ensemble-summary.csv under {@code out}.
   */
  static void ensembles(Evaluation.Result r, Path logits, List<Tasks.Task> tasks, io.needle.eval.SeedRuns runs,
      List<io.needle.eval.EnsembleEvaluation.Picked> sets, String single, Path out, boolean pooled) {
    List<Tasks.Task> evaluated = tasks.stream().filter(t -> r.tasks().contains(t.name())).toList();
    io.needle.eval.EnsembleOracle.Loaded oracle = io.needle.eval.EnsembleOracle.load(logits, evaluated, runs);
    List<io.needle.eval.EnsembleEvaluation.Picked> all = new ArrayList<>(io.needle.eval.EnsembleEvaluation.fromEvaluation(r));
    all.addAll(sets);
    io.needle.eval.EnsembleEvaluation.Result e = io.needle.eval.EnsembleEvaluation.run(oracle, all);
    Map<String, Double> singles = new LinkedHashMap<>();
    for (String t : r.tasks()) {
      Evaluation.Row row = r.row(t, single, 1);
      if (row != null) singles.put(t, row.picked());
    }
    if (singles.isEmpty() && !sets.isEmpty())  // a typo, or a strategy this evaluation has not: the table's column would be missing
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--single " + single + ": no such strategy at budget 1 in this evaluation (it has: "
          + String.join(", ", r.strategies()) + ")");
    System.out.println();
    System.out.print(io.needle.report.EnsembleReport.evaluationText(e, oracle, singles, single + " (B=1)"));
    for (String w : e.warnings()) System.err.println("needle: " + w);
    if (pooled) System.err.println("needle: ensembles: the oracle's best sets range over every expert with logits, not only --pool");
    if (out != null) io.needle.report.EnsembleReport.writeEvaluation(out, e);
  }

  /** The oracle without the tasks the manifest excludes (each said once on stderr). */
  static Oracle withoutExcluded(Oracle o, List<Tasks.Task> listed) {
    return withoutExcluded(o, listed, true);
  }

  /** As {@link #withoutExcluded(Oracle, List)}; {@code say} false where the caller has said it already (the demo's suite). */
  static Oracle withoutExcluded(Oracle o, List<Tasks.Task> listed, boolean say) {
    if (listed == null) return o;
    Map<String, Map<String, Double>> keep = new LinkedHashMap<>(o.accuracy());
    for (Tasks.Task t : listed)
      if (t.excluded() != null && keep.remove(t.name()) != null && say)
        System.err.println("needle: task " + t.name() + " excluded by tasks.json: " + t.excluded());
    return new Oracle(keep);
  }

  static Map<String, String> groups(List<Tasks.Task> ts) {
    Map<String, String> g = new LinkedHashMap<>();
    for (Tasks.Task t : ts) g.put(t.name(), t.group());
    return g;
  }

  /** Parses "3", "1..5" or "1,2,4". */
  static List<Integer> budgets(String s) {
    List<Integer> out = new ArrayList<>();
    try {
      for (String part : s.split(",")) {
        part = part.trim();
        int dots = part.indexOf("..");
        if (dots >= 0) {
          int a = Integer.parseInt(part.substring(0, dots).trim()), b = Integer.parseInt(part.substring(dots + 2).trim());
          if (b < a) throw new NumberFormatException();
          for (int i = a; i <= b; i++) out.add(i);
        } else out.add(Integer.parseInt(part));
      }
    } catch (NumberFormatException e) {
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--budget '" + s + "': expected N, A..B or a comma list");
    }
    for (int b : out)
      if (b < 1) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--budget '" + s + "': budgets must be at least 1");
    return out.stream().distinct().sorted().toList();
  }
}
