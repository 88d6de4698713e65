package io.needle.eval;

import io.needle.NeedleException;
import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Picked sets of experts against the {@link EnsembleOracle}: each set's true ensemble accuracy, the oracle's best set
 * of the same size, and the regret ([004]: absolute best − s, relative (best − s) / (1 − s)). Sets come from the
 * strategies' picks at budgets of 2 and more ({@link #fromEvaluation}) and from {@code needle ensemble}'s
 * {@code sets.csv} ({@link #readSets}).
 */
public final class EnsembleEvaluation {
  private EnsembleEvaluation() {}

  /**
   * The source of the reference sets added to every evaluation: on each task and for each evaluated size k, the k
   * experts with the best fine-tuned accuracy alone. It reads the oracle, so it is no selector: it is the best that
   * picking experts by a perfect single-expert ranking can do as an ensemble, a ceiling for any ranker's picks.
   */
  public static final String BEST_SINGLES = "oracle's k best singles";

  /** A set picked by some method on a task. */
  public record Picked(String task, String source, List<String> experts) {}

  /**
   * One picked set on one task.
   *
   * @param accuracy the set's oracle ensemble accuracy (NaN: undefined, a member has no usable logits)
   * @param bestMember the best fine-tuned accuracy of its members alone (from the same logits)
   * @param bestSingle the best fine-tuned accuracy of any single expert of the task
   * @param bestSet the oracle's best set of this size, {@code best} its accuracy, {@code method} how it was found
   */
  public record Row(String task, String source, int k, List<String> experts, double accuracy, double bestMember, double bestSingle,
      List<String> bestSet, double best, String method, double absolute, double relative) {}

  /**
   * Means over the tasks where the source's set of size k is defined.
   *
   * @param gain mean accuracy of the set minus that of its best member alone
   * @param beatsSingle fraction of tasks where the set beats the best single fine-tuned expert of the task
   */
  public record Summary(String source, int k, int tasks, double accuracy, double absolute, double relative, double gain, double beatsSingle) {}

  /** What the evaluation found; {@code warnings} names every undefined set and why. */
  public record Result(List<Row> rows, List<Summary> summaries, List<String> warnings) {}

  /** The non-random strategies' picks at budgets of 2 and more, one set per (task, strategy, budget). */
  public static List<Picked> fromEvaluation(Evaluation.Result r) {
    List<Picked> out = new ArrayList<>();
    for (Evaluation.Row row : r.rows())
      if (row.budget() >= 2 && row.picks().size() >= 2 && !row.strategy().equals(Evaluation.RANDOM))
        out.add(new Picked(row.task(), row.strategy() + "@" + row.budget(), row.picks()));
    return out;
  }

  /**
   * Reads sets as {@code needle ensemble} writes them: {@code task,method,k,experts[,predicted]}, experts separated by
   * {@code ;}. Each set is a source {@code <method>} (k is the set's size).
   *
   * @throws NeedleException BAD_INPUT naming the file and line for a missing column, a k that is not the number of
   *     experts, or an expert given twice in a set
   */
  public static List<Picked> readSets(Path file) {
    Csv csv = Csv.read(file);
    int t = csv.column("task"), m = csv.column("method"), k = csv.column("k"), e = csv.column("experts");
    List<Picked> out = new ArrayList<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      List<String> experts = Arrays.stream(row[e].split(";")).map(String::trim).filter(x -> !x.isEmpty()).toList();
      if (experts.isEmpty()) throw csv.bad(r, "no experts");
      if (experts.stream().distinct().count() != experts.size()) throw csv.bad(r, "an expert is given twice in one set");
      if (csv.number(r, k) != experts.size()) throw csv.bad(r, "k = " + row[k].trim() + " but " + experts.size() + " experts are listed");
      out.add(new Picked(row[t].trim(), row[m].trim(), experts));
    }
    return out;
  }

  /** Evaluates every picked set on the tasks the oracle has; sets on other tasks and undefined sets are warned about. */
  public static Result run(EnsembleOracle.Loaded oracle, List<Picked> picks) {
    List<String> warnings = new ArrayList<>(oracle.warnings());
    List<Row> rows = new ArrayList<>();
    java.util.Set<String> noTask = new java.util.TreeSet<>();
    for (Picked p : picks) {
      EnsembleOracle.Task t = oracle.tasks().get(p.task());
      if (t == null) {
        noTask.add(p.task());
        continue;
      }
      int k = p.experts().size();
      List<String> missing = p.experts().stream().filter(e -> !t.experts().contains(e)).toList();
      if (!missing.isEmpty()) {
        warnings.add("ensembles: task '" + p.task() + "', " + p.source() + " (" + String.join(", ", p.experts()) + "): undefined: no usable logits for "
            + String.join(", ", missing));
        continue;
      }
      if (k > t.experts().size()) {
        warnings.add("ensembles: task '" + p.task() + "', " + p.source() + ": " + k + " experts but only " + t.experts().size() + " have logits: undefined");
        continue;
      }
      double acc = t.accuracy(p.experts());
      double member = p.experts().stream().mapToDouble(e -> t.accuracy(List.of(e))).max().orElse(Double.NaN);
      EnsembleOracle.Set best = t.best(k), single = t.best(1);
      rows.add(new Row(p.task(), p.source(), k, p.experts(), acc, member, single.accuracy(), best.experts(), best.accuracy(), best.method(),
          best.accuracy() - acc, Evaluation.relative(best.accuracy(), acc)));
    }
    if (!noTask.isEmpty()) warnings.add("ensembles: no logits for task(s) " + String.join(", ", noTask) + ": their sets are left out");
    // the reference: per task and evaluated size, the k best experts alone (ties to the lower id)
    Map<String, java.util.TreeSet<Integer>> sizes = new LinkedHashMap<>();
    for (Row r : rows) if (r.k() >= 2) sizes.computeIfAbsent(r.task(), x -> new java.util.TreeSet<>()).add(r.k());
    sizes.forEach((task, ks) -> {
      EnsembleOracle.Task t = oracle.tasks().get(task);
      Map<String, Double> alone = new LinkedHashMap<>();
      for (String e : t.experts()) alone.put(e, t.accuracy(List.of(e)));
      List<String> order = t.experts().stream().sorted(java.util.Comparator.comparingDouble((String e) -> -alone.get(e))
          .thenComparing(java.util.Comparator.naturalOrder())).toList();
      EnsembleOracle.Set single = t.best(1);
      for (int k : ks) {
        List<String> set = order.subList(0, k);
        EnsembleOracle.Set best = t.best(k);
        double acc = t.accuracy(set);
        rows.add(new Row(task, BEST_SINGLES, k, List.copyOf(set), acc, alone.get(set.get(0)), single.accuracy(), best.experts(),
            best.accuracy(), best.method(), best.accuracy() - acc, Evaluation.relative(best.accuracy(), acc)));
      }
    });
    Map<String, List<Row>> bySource = new LinkedHashMap<>();
    for (Row r : rows) bySource.computeIfAbsent(r.source() + '\u0000' + r.k(), x -> new ArrayList<>()).add(r);
    List<Summary> summaries = new ArrayList<>();
    bySource.forEach((key, rs) -> summaries.add(new Summary(rs.get(0).source(), rs.get(0).k(), rs.size(),
        rs.stream().mapToDouble(Row::accuracy).average().orElse(Double.NaN),
        rs.stream().mapToDouble(Row::absolute).average().orElse(Double.NaN),
        rs.stream().mapToDouble(Row::relative).average().orElse(Double.NaN),
        rs.stream().mapToDouble(r -> r.accuracy() - r.bestMember()).average().orElse(Double.NaN),
        rs.stream().mapToDouble(r -> r.accuracy() > r.bestSingle() ? 1 : 0).average().orElse(Double.NaN))));
    return new Result(List.copyOf(rows), List.copyOf(summaries), List.copyOf(warnings));
  }
}
