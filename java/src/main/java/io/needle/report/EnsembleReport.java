package io.needle.report;

import io.needle.Problem;
import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import io.needle.eval.EnsembleEvaluation;
import io.needle.eval.EnsembleOracle;
import io.needle.select.Ensembles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outputs about sets of experts: {@code needle ensemble}'s picks ({@code steps.csv}, {@code inconsistency.csv},
 * {@code probes.csv}, a self-contained {@code report.html} with the inconsistency heat map, and {@code sets.csv} that
 * {@code needle evaluate --sets} reads), and the evaluation of picked sets against the ensemble oracle.
 */
public final class EnsembleReport {
  private EnsembleReport() {}

  /** How many strategies' picks per set size the evaluation text shows (the CSV has all). */
  static final int STRATEGIES_SHOWN = 5;

  /** The header of {@code sets.csv}. */
  public static final List<String> SETS_HEADER = List.of("task", "method", "k", "experts", "predicted");

  // ---------------------------------------------------------------- needle ensemble

  /** Each method's forward selection, step by step, and the picked sets. */
  public static String text(Ensembles.Result r) {
    StringBuilder sb = new StringBuilder();
    List<List<String>> rows = new ArrayList<>();
    for (Ensembles.Pick p : r.picks()) {
      int i = 0;
      for (Ensembles.Step s : p.steps())
        rows.add(List.of(p.method(), String.valueOf(++i), s.expert(), EvalReport.fmt(100 * s.accuracy(), 1), signed(100 * s.gain()),
            EvalReport.fmt(s.inconsistency(), 3)));
    }
    sb.append(EvalReport.table(List.of("method", "step", "adds", "val acc %", "gain", "inconsistency"), rows));
    for (Ensembles.Pick p : r.picks()) {
      sb.append(String.format(Locale.ROOT, "%s: %s (predicted %s%% validation accuracy)%n", p.method(), String.join(", ", p.experts()),
          EvalReport.fmt(100 * p.accuracy(), 1)));
      if (p.note() != null) sb.append("  ").append(p.note()).append('\n');
    }
    return sb.toString();
  }

  /** Writes steps.csv, probes.csv, inconsistency.csv, sets.csv and report.html into {@code dir}, each atomically. */
  public static void write(Path dir, String task, Ensembles.Result r, String title) {
    Csv.write(dir.resolve("steps.csv"), List.of("method", "step", "expert", "accuracy", "gain", "inconsistency"), out -> {
      for (Ensembles.Pick p : r.picks()) {
        int i = 0;
        for (Ensembles.Step s : p.steps()) out.printRecord(p.method(), ++i, s.expert(), num(s.accuracy()), num(s.gain()), num(s.inconsistency()));
      }
    });
    Csv.write(dir.resolve("probes.csv"), List.of("expert", "accuracy", "temperature", "status", "reason"), out -> {
      for (Ensembles.Probe p : r.probes().probes()) out.printRecord(p.expert(), num(p.accuracy()), num(p.temperature()), "ok", "");
      for (Problem f : r.probes().failed()) out.printRecord(f.subject(), "", "", "failed", f.message());
    });
    List<String> ids = Ensembles.experts(r.probes());
    List<String> head = new ArrayList<>(List.of("expert"));
    head.addAll(ids);
    Csv.write(dir.resolve("inconsistency.csv"), head, out -> {  // the pairwise matrix, one row per expert with a probe
      for (int i = 0; i < ids.size(); i++) {
        List<Object> row = new ArrayList<>(List.of(ids.get(i)));
        for (int j = 0; j < ids.size(); j++) row.add(num(r.inconsistency()[i][j]));
        out.printRecord(row);
      }
    });
    writeSets(dir.resolve("sets.csv"), setsRows(task, r));
    AtomicWrite.write(dir.resolve("report.html"), out -> out.write(html(r, title).getBytes(StandardCharsets.UTF_8)));
  }

  /** Every prefix of every method's pick as a set: {@code task,method,k,experts,predicted} rows (experts joined by ;). */
  public static List<List<Object>> setsRows(String task, Ensembles.Result r) {
    List<List<Object>> rows = new ArrayList<>();
    for (Ensembles.Pick p : r.picks())
      for (int k = 1; k <= p.steps().size(); k++)
        rows.add(List.of(task, p.method(), k, String.join(";", p.experts().subList(0, k)), num(p.steps().get(k - 1).accuracy())));
    return rows;
  }

  /** Writes {@code sets.csv} ({@link #SETS_HEADER}) atomically: what {@code needle evaluate --sets} reads. */
  public static void writeSets(Path file, List<List<Object>> rows) {
    Csv.write(file, SETS_HEADER, out -> {
      for (List<Object> row : rows) out.printRecord(row);
    });
  }

  static String html(Ensembles.Result r, String title) {
    StringBuilder h = new StringBuilder(Html.head("Needle ensemble"));
    h.append("<h1>Needle: experts that work together</h1>\n<p>").append(Html.esc(title)).append("</p>\n");
    for (Ensembles.Pick p : r.picks()) {
      h.append("<h2>").append(Html.esc(p.method())).append(": ").append(Html.esc(String.join(", ", p.experts()))).append("</h2>\n<table><tr>")
          .append("<th>step</th><th>adds</th><th>validation accuracy %</th><th>gain</th><th>inconsistency with the picked</th></tr>\n");
      int i = 0;
      for (Ensembles.Step s : p.steps())
        h.append("<tr><td class=\"n\">").append(++i).append("</td><td>").append(Html.esc(s.expert())).append("</td><td class=\"n\">")
            .append(EvalReport.fmt(100 * s.accuracy(), 1)).append("</td><td class=\"n\">").append(signed(100 * s.gain())).append("</td><td class=\"n\">")
            .append(EvalReport.fmt(s.inconsistency(), 3)).append("</td></tr>\n");
      h.append("</table>\n");
      if (p.note() != null) h.append("<p class=\"bad\">").append(Html.esc(p.note())).append("</p>\n");
    }
    h.append("<h2>Pairwise error inconsistency of the probes</h2>\n").append(heatMap(r))
        .append("<p class=\"muted\">Fraction of validation examples where exactly one of the two linear probes is right ([002]); darker is"
            + " more inconsistent. Experts in pool order; the diagonal is 0.</p>\n");
    if (!r.problems().isEmpty()) {
      h.append("<h2>Left out</h2>\n<ul>");
      for (Problem p : r.problems()) h.append("<li>").append(Html.esc(p.toString())).append("</li>");
      h.append("</ul>\n");
    }
    return h.append("</body></html>\n").toString();
  }

  /** An SVG heat map of the inconsistency matrix, cells labelled with their value. */
  static String heatMap(Ensembles.Result r) {
    List<String> ids = Ensembles.experts(r.probes());
    int n = ids.size(), cell = n > 20 ? 26 : 34, left = 170, top = 170;
    double max = 1e-9;
    for (double[] row : r.inconsistency()) for (double v : row) max = Math.max(max, v);
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\">%n",
        left + n * cell + 10, top + n * cell + 10));
    for (int i = 0; i < n; i++) {
      s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 6, top + i * cell + cell / 2 + 4, Html.esc(ids.get(i))));
      s.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-60)\">%s</text>%n", left + i * cell + cell / 2, top - 6, Html.esc(ids.get(i))));
      for (int j = 0; j < n; j++) {
        double v = r.inconsistency()[i][j], f = v / max;
        int g = (int) Math.round(255 - 200 * f);
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\"><title>%s / %s: %.3f</title></rect>%n",
            left + j * cell, top + i * cell, cell - 1, cell - 1, g, g, Html.esc(ids.get(i)), Html.esc(ids.get(j)), v));
        if (i != j)
          s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" fill=\"%s\">%s</text>%n",
              left + j * cell + cell / 2, top + i * cell + cell / 2 + 3, f > 0.6 ? "#fff" : "#000", v < 1 ? String.format(Locale.ROOT, "%.2f", v).substring(1) : "1"));
      }
    }
    return s.append("</svg>\n").toString();
  }

  // ---------------------------------------------------------------- needle evaluate --ensembles

  /**
   * The summary per source and size, and, when {@code needle ensemble}'s sets are among the sources (sources without
   * {@code @}), a per-task table beside the best single fine-tuned expert, a single pick and the oracle's best sets.
   *
   * @param singles task → the fine-tuned accuracy of one single pick (e.g. a strategy at B = 1), or empty
   * @param singleName what that single pick is
   */
  public static String evaluationText(EnsembleEvaluation.Result r, EnsembleOracle.Loaded oracle, Map<String, Double> singles, String singleName) {
    StringBuilder sb = new StringBuilder();
    sb.append("Ensembles of fine-tuned experts: oracle test accuracy (%) of each picked set, mean over tasks; regret against the oracle's best set of the same size\n");
    List<List<String>> rows = new ArrayList<>();
    // needle ensemble's sets, then per size the strategies' picks with the lowest mean relative regret
    List<EnsembleEvaluation.Summary> shown = new ArrayList<>(r.summaries().stream().filter(x -> !x.source().contains("@")).toList());
    List<Integer> sizes = r.summaries().stream().map(EnsembleEvaluation.Summary::k).distinct().sorted().toList();
    for (int k : sizes)
      shown.addAll(r.summaries().stream().filter(x -> x.source().contains("@") && x.k() == k)
          .sorted(java.util.Comparator.comparingDouble(EnsembleEvaluation.Summary::relative)).limit(STRATEGIES_SHOWN).toList());
    shown.sort(java.util.Comparator.comparingInt(EnsembleEvaluation.Summary::k));
    for (EnsembleEvaluation.Summary s : shown)
      rows.add(List.of(s.source(), String.valueOf(s.k()), String.valueOf(s.tasks()), pct(s.accuracy()), pct(s.absolute()), pct(s.relative()),
          signed(100 * s.gain()), pct(s.beatsSingle())));
    sb.append(EvalReport.table(List.of("set", "k", "tasks", "accuracy", "regret", "rel. regret", "vs best member", "% beats best single"), rows));
    if (shown.size() < r.summaries().size())
      sb.append("(strategy@B: a strategy's picks at budget B as an ensemble; the ").append(STRATEGIES_SHOWN)
          .append(" with the lowest relative regret per size shown, all in ensemble-summary.csv)\n");
    if (shown.stream().anyMatch(x -> x.source().equals(EnsembleEvaluation.BEST_SINGLES)))
      sb.append("(").append(EnsembleEvaluation.BEST_SINGLES).append(": a reference read from the oracle, not a selector: the ensemble of the k experts that"
          + " fine-tune best alone, what the top k of a perfect single-expert ranking give)\n");
    List<String> methods = r.rows().stream().map(EnsembleEvaluation.Row::source).filter(x -> !x.contains("@") && !x.equals(EnsembleEvaluation.BEST_SINGLES))
        .distinct().toList();
    if (methods.isEmpty()) return sb.toString();
    List<Integer> ks = r.rows().stream().filter(x -> methods.contains(x.source())).map(EnsembleEvaluation.Row::k).filter(k -> k >= 2).distinct().sorted().toList();
    List<String> head = new ArrayList<>(List.of("task", "best single"));
    if (!singles.isEmpty()) head.add(singleName);
    boolean firstSingle = r.rows().stream().anyMatch(x -> x.source().equals(methods.get(0)) && x.k() == 1);  // every method's first step is the same probe
    if (firstSingle) head.add("probe top-1");
    for (String m : methods) for (int k : ks) head.add(m + " k=" + k);
    for (int k : ks) head.add("oracle k=" + k);
    List<List<String>> per = new ArrayList<>();
    double[] sums = new double[head.size()];
    int[] counts = new int[head.size()];
    for (EnsembleOracle.Task t : oracle.tasks().values()) {
      if (r.rows().stream().noneMatch(x -> x.task().equals(t.name()))) continue;
      List<Double> v = new ArrayList<>();
      v.add(t.best(1).accuracy());
      if (!singles.isEmpty()) v.add(singles.getOrDefault(t.name(), Double.NaN));
      if (firstSingle)
        v.add(r.rows().stream().filter(x -> x.task().equals(t.name()) && x.source().equals(methods.get(0)) && x.k() == 1)
            .mapToDouble(EnsembleEvaluation.Row::accuracy).findFirst().orElse(Double.NaN));
      for (String m : methods)
        for (int k : ks)
          v.add(r.rows().stream().filter(x -> x.task().equals(t.name()) && x.source().equals(m) && x.k() == k)
              .mapToDouble(EnsembleEvaluation.Row::accuracy).findFirst().orElse(Double.NaN));
      for (int k : ks) v.add(k <= t.experts().size() ? t.best(k).accuracy() : Double.NaN);
      List<String> cells = new ArrayList<>(List.of(t.name()));
      boolean complete = v.stream().noneMatch(x -> Double.isNaN(x));
      for (int i = 0; i < v.size(); i++) {
        cells.add(pct(v.get(i)));
        if (complete) {  // means only over tasks where every column is defined, so that they compare
          sums[i + 1] += v.get(i);
          counts[i + 1]++;
        }
      }
      per.add(cells);
    }
    List<String> mean = new ArrayList<>(List.of("mean (" + counts[1] + " tasks)"));
    for (int i = 1; i < head.size(); i++) mean.add(counts[i] == 0 ? "-" : pct(sums[i] / counts[i]));
    per.add(mean);
    return sb.append("\nPer task: test accuracy (%) of fine-tuned single experts and of ensembles of fine-tuned experts (-: undefined;"
        + " the mean is over the tasks where every column is defined)\n").append(EvalReport.table(head, per)).toString();
  }

  /** Writes {@code ensembles.csv} (one row per set) and {@code ensemble-summary.csv} into {@code dir}, atomically. */
  public static void writeEvaluation(Path dir, EnsembleEvaluation.Result r) {
    Csv.write(dir.resolve("ensembles.csv"), List.of("task", "source", "k", "experts", "accuracy", "best_member", "best_single", "best_set", "best",
        "best_method", "absolute_regret", "relative_regret"), out -> {
      for (EnsembleEvaluation.Row x : r.rows())
        out.printRecord(x.task(), x.source(), x.k(), String.join(";", x.experts()), num(x.accuracy()), num(x.bestMember()), num(x.bestSingle()),
            String.join(";", x.bestSet()), num(x.best()), x.method(), num(x.absolute()), num(x.relative()));
    });
    Csv.write(dir.resolve("ensemble-summary.csv"), List.of("source", "k", "tasks", "accuracy", "absolute_regret", "relative_regret",
        "gain_over_best_member", "beats_best_single"), out -> {
      for (EnsembleEvaluation.Summary x : r.summaries())
        out.printRecord(x.source(), x.k(), x.tasks(), num(x.accuracy()), num(x.absolute()), num(x.relative()), num(x.gain()), num(x.beatsSingle()));
    });
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }

  private static String pct(double v) {
    return EvalReport.fmt(100 * v, 1);
  }

  private static String signed(double v) {
    return Double.isNaN(v) ? "-" : (v >= 0 ? "+" : "") + EvalReport.fmt(v, 1);
  }
}
