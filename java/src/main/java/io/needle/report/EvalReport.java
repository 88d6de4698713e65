package io.needle.report;

import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import io.needle.eval.Evaluation;
import io.needle.eval.Evaluation.Result;
import io.needle.eval.Evaluation.Row;
import io.needle.eval.Evaluation.Summary;
import io.needle.eval.Stats;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes an {@link Evaluation.Result}: plain-text tables for the terminal, CSV files and a self-contained HTML report
 * with inline SVG plots (regret per task; zero-regret fraction and relative regret against the budget).
 */
public final class EvalReport {
  private EvalReport() {}

  private static final String[] COLORS = {"#999999", "#444444", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
      "#e377c2", "#17becf", "#bcbd22", "#ff7f0e"};

  /** @return the terminal report: regret tables (with 95% intervals), zero-regret rates, groups, deltas, correlations */
  public static String text(Result r) {
    StringBuilder sb = new StringBuilder();
    Map<String, Integer> perGroup = new LinkedHashMap<>();
    for (String t : r.tasks()) perGroup.merge(r.groups().get(t), 1, Integer::sum);
    sb.append(String.format(Locale.ROOT, "%d tasks (%s), budgets %s, %s%n", r.tasks().size(),
        String.join(", ", perGroup.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).toList()),
        r.budgets(), r.resamples() > 0 ? "95% intervals from " + r.resamples() + " bootstrap resamples of the tasks" : "no bootstrap"));
    sb.append("\nMean relative regret, % ([004] eq. 2; lower is better)\n");
    sb.append(budgetTable(r, Evaluation.ALL, s -> s.relative(), 100, true));
    sb.append("\nMean absolute regret, accuracy points\n");
    sb.append(budgetTable(r, Evaluation.ALL, s -> s.absolute(), 100, true));
    sb.append("\nFraction of tasks with zero regret (random: expected)\n");
    sb.append(budgetTable(r, Evaluation.ALL, s -> s.zero(), 1, false));
    List<String> groups = r.groups().values().stream().distinct().filter(g -> !g.equals(Evaluation.ALL)).toList();
    if (groups.size() > 1) {
      sb.append("\nMean relative regret by group, % (B=").append(join(r.budgets(), "/")).append(")\n");
      List<String> head = new ArrayList<>();
      head.add("strategy");
      groups.forEach(head::add);
      List<List<String>> rows = new ArrayList<>();
      for (String s : r.strategies()) {
        List<String> row = new ArrayList<>();
        row.add(s);
        for (String g : groups) {
          List<String> v = new ArrayList<>();
          for (int b : r.budgets()) v.add(fmt(r.summary(g, s, b).relative().mean() * 100, 1));
          row.add(String.join("/", v));
        }
        rows.add(row);
      }
      sb.append(table(head, rows));
    }
    for (int b : r.budgets().subList(0, Math.min(2, r.budgets().size()))) {
      sb.append("\nAbsolute regret per task, accuracy points, B=").append(b).append(" (oracle: best fine-tuned accuracy)\n");
      List<String> head = new ArrayList<>(List.of("task", "group", "oracle"));
      head.addAll(r.strategies());
      List<List<String>> rows = new ArrayList<>();
      for (String t : r.tasks()) {
        List<String> row = new ArrayList<>(List.of(t, r.groups().get(t), fmt(r.row(t, r.strategies().get(0), b).oracle() * 100, 1)));
        for (String s : r.strategies()) row.add(fmt(r.row(t, s, b).absolute() * 100, 1));
        rows.add(row);
      }
      sb.append(table(head, rows));
    }
    List<String[]> pairs = pairs(r);
    if (!pairs.isEmpty()) {
      sb.append("\nRelative delta between strategies, mean over tasks, % ([004] eq. 2; positive: the first is better)\n");
      List<String> head = new ArrayList<>(List.of("first", "second"));
      for (int b : r.budgets()) head.add("B=" + b);
      List<List<String>> rows = new ArrayList<>();
      for (String[] p : pairs) {
        List<String> row = new ArrayList<>(List.of(p[0], p[1]));
        for (int b : r.budgets()) row.add(fmt(meanDelta(r, p[0], p[1], b) * 100, 1));
        rows.add(row);
      }
      sb.append(table(head, rows));
    }
    if (r.noise() != null) {
      sb.append("\nRegret beyond the oracle's seed noise: mean absolute regret, accuracy points [95% interval resampling tasks and seeds];\n"
          + "beyond noise (lower end of each pick's seed-bootstrap interval, floored at 0); fraction of tasks where the pick is\n"
          + "distinguishable from the oracle's best\n");
      List<String> head = new ArrayList<>(List.of("strategy"));
      for (int b : r.budgets()) head.add("B=" + b);
      List<List<String>> rows = new ArrayList<>();
      for (String s : r.strategies()) {
        if (s.equals(Evaluation.RANDOM)) continue;
        List<String> row = new ArrayList<>(List.of(s));
        for (int b : r.budgets()) {
          io.needle.eval.Noise.Summary x = r.noise().summaries().stream().filter(n -> n.strategy().equals(s) && n.budget() == b).findFirst().orElse(null);
          row.add(x == null ? "-" : ci(x.absolute(), 100, 1) + " / " + fmt(x.beyondNoise() * 100, 1) + " / " + fmt(x.distinguishable(), 2));
        }
        rows.add(row);
      }
      sb.append(table(head, rows));
    }
    sb.append("\nSide by side: every proxy and strategy (mean over tasks; relative regret in %, agreement of its ranking with the oracle,\n"
        + "scoring seconds per expert and task on top of the shared embedding)\n");
    sb.append(table(sideBySideHead(r), sideBySide(r)));
    if (!r.correlationSummaries().isEmpty()) {
      sb.append("\nAgreement of each proxy with the oracle over the pool, mean over tasks\n");
      List<List<String>> rows = new ArrayList<>();
      for (Evaluation.CorrelationSummary c : r.correlationSummaries())
        rows.add(List.of(c.proxy(), ci(c.weightedTau(), 1, 3), ci(c.kendallTau(), 1, 3), ci(c.pearson(), 1, 3), fmt(c.top1().mean(), 2)));
      sb.append(table(List.of("proxy", "weighted Kendall tau", "Kendall tau", "Pearson r", "top-1 hit"), rows));
    }
    return sb.toString();
  }

  static List<String> sideBySideHead(Result r) {
    List<String> head = new ArrayList<>(List.of("proxy / strategy"));
    for (int b : r.budgets()) head.add("B=" + b);
    head.addAll(List.of("w.tau", "tau", "pearson", "top-1", "s/expert"));
    return head;
  }

  /** Rows of the side-by-side table: every strategy (with its regret) and every ranking with a correlation. */
  static List<List<String>> sideBySide(Result r) {
    java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>(r.strategies());
    r.correlationSummaries().forEach(c -> names.add(c.proxy()));
    List<List<String>> rows = new ArrayList<>();
    for (String s : names) {
      List<String> row = new ArrayList<>();
      row.add(s);
      for (int b : r.budgets()) {
        Summary x = r.summary(Evaluation.ALL, s, b);
        row.add(x == null ? "" : fmt(x.relative().mean() * 100, 1));
      }
      Evaluation.CorrelationSummary c = r.correlation(s);
      row.add(c == null ? "" : fmt(c.weightedTau().mean(), 3));
      row.add(c == null ? "" : fmt(c.kendallTau().mean(), 3));
      row.add(c == null ? "" : fmt(c.pearson().mean(), 3));
      row.add(c == null ? "" : fmt(c.top1().mean(), 2));
      row.add(seconds(r, s));
      rows.add(row);
    }
    return rows;
  }

  /** Scoring seconds per expert of a proxy or strategy: its proxy's, all proxies' for fused, none for metadata and random. */
  private static String seconds(Result r, String s) {
    Map<String, Double> t = r.secondsPerExpert();
    if (t.isEmpty()) return "";
    if (s.equals(Evaluation.RANDOM) || s.equals(Evaluation.AGNOSTIC)) return "0";
    String p = s.startsWith("hybrid-") ? s.substring(7) : s;
    if (t.containsKey(p)) return String.format(Locale.ROOT, "%.4f", t.get(p));
    double all = t.values().stream().mapToDouble(Double::doubleValue).sum();
    return String.format(Locale.ROOT, "%.4f", all);  // a learned strategy reads every proxy
  }

  private static List<String[]> pairs(Result r) {
    List<String[]> pairs = new ArrayList<>();
    boolean agnostic = r.strategies().contains(Evaluation.AGNOSTIC);
    for (String s : r.strategies()) {
      if (s.equals(Evaluation.RANDOM) || s.equals(Evaluation.AGNOSTIC) || s.startsWith("hybrid-")) continue;
      if (agnostic) pairs.add(new String[] {s, Evaluation.AGNOSTIC});
      if (r.strategies().contains("hybrid-" + s)) pairs.add(new String[] {"hybrid-" + s, s});
    }
    return pairs;
  }

  private static double meanDelta(Result r, String a, String b, int budget) {
    double[] v = r.deltas().stream().filter(d -> d.budget() == budget && d.first().equals(a) && d.second().equals(b))
        .mapToDouble(Evaluation.Delta::delta).toArray();
    return Stats.mean(v);
  }

  private static String budgetTable(Result r, String scope, java.util.function.Function<Summary, Stats.Interval> f, double scale, boolean oneDecimal) {
    List<String> head = new ArrayList<>();
    head.add("strategy");
    for (int b : r.budgets()) head.add("B=" + b);
    List<List<String>> rows = new ArrayList<>();
    for (String s : r.strategies()) {
      List<String> row = new ArrayList<>();
      row.add(s);
      for (int b : r.budgets()) row.add(ci(f.apply(r.summary(scope, s, b)), scale, oneDecimal ? 1 : 2));
      rows.add(row);
    }
    return table(head, rows);
  }

  private static String ci(Stats.Interval i, double scale, int digits) {
    String m = fmt(i.mean() * scale, digits);
    if (Double.isNaN(i.lo())) return m;
    return m + " [" + fmt(i.lo() * scale, digits) + "," + fmt(i.hi() * scale, digits) + "]";
  }

  static String fmt(double v, int digits) {
    if (Double.isNaN(v)) return "-";
    String s = String.format(Locale.ROOT, "%." + digits + "f", v);
    return s.matches("-0\\.0*") ? s.substring(1) : s;
  }

  private static String join(List<Integer> v, String sep) {
    return String.join(sep, v.stream().map(String::valueOf).toList());
  }

  /** A left-aligned first column and right-aligned others, padded to fit. */
  static String table(List<String> head, List<List<String>> rows) {
    int[] w = new int[head.size()];
    for (int c = 0; c < w.length; c++) {
      w[c] = head.get(c).length();
      for (List<String> row : rows) w[c] = Math.max(w[c], row.get(c).length());
    }
    StringBuilder sb = new StringBuilder();
    List<List<String>> all = new ArrayList<>();
    all.add(head);
    all.addAll(rows);
    for (List<String> row : all) {
      for (int c = 0; c < w.length; c++) {
        String v = row.get(c);
        if (c == 0) sb.append(v).append(" ".repeat(w[c] - v.length()));
        else sb.append("  ").append(" ".repeat(w[c] - v.length())).append(v);
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** Writes regret.csv, summary.csv, correlation.csv, relative-delta.csv and report.html into {@code dir}. */
  public static void write(Path dir, Result r, String title) {
    Csv.write(dir.resolve("regret.csv"), List.of("task", "group", "strategy", "budget", "picks", "picked_accuracy", "oracle_accuracy", "best",
        "absolute_regret", "relative_regret", "zero_regret"), out -> {
      for (Row x : r.rows())
        out.printRecord(x.task(), x.group(), x.strategy(), x.budget(), String.join(" ", x.picks()), num(x.picked()), num(x.oracle()),
            String.join(" ", x.best()), num(x.absolute()), num(x.relative()), num(x.zero()));
    });
    Csv.write(dir.resolve("summary.csv"), List.of("scope", "strategy", "budget", "tasks", "absolute_regret", "absolute_lo", "absolute_hi",
        "relative_regret", "relative_lo", "relative_hi", "zero_regret", "zero_lo", "zero_hi"), out -> {
      for (Summary s : r.summaries())
        out.printRecord(concat(List.of(s.scope(), s.strategy(), s.budget(), s.tasks()), interval(s.absolute()), interval(s.relative()), interval(s.zero())));
    });
    Csv.write(dir.resolve("correlation.csv"), List.of("task", "group", "proxy", "experts", "weighted_tau", "kendall_tau", "pearson", "top1"), out -> {
      for (Evaluation.Correlation c : r.correlations())
        out.printRecord(c.task(), c.group(), c.proxy(), c.n(), num(c.weightedTau()), num(c.kendallTau()), num(c.pearson()), num(c.top1()));
    });
    Csv.write(dir.resolve("correlation-summary.csv"), List.of("proxy", "weighted_tau", "weighted_tau_lo", "weighted_tau_hi", "kendall_tau",
        "kendall_tau_lo", "kendall_tau_hi", "pearson", "pearson_lo", "pearson_hi", "top1", "top1_lo", "top1_hi"), out -> {
      for (Evaluation.CorrelationSummary c : r.correlationSummaries())
        out.printRecord(concat(List.of(c.proxy()), interval(c.weightedTau()), interval(c.kendallTau()), interval(c.pearson()), interval(c.top1())));
    });
    Csv.write(dir.resolve("relative-delta.csv"), List.of("task", "budget", "first", "second", "relative_delta"), out -> {
      for (Evaluation.Delta d : r.deltas()) out.printRecord(d.task(), d.budget(), d.first(), d.second(), num(d.delta()));
    });
    if (r.noise() != null)
      Csv.write(dir.resolve("noise.csv"), List.of("task", "strategy", "budget", "distinguishable", "regret_beyond_noise", "gap_lo", "gap_hi"), out -> {
        for (io.needle.eval.Noise.Row x : r.noise().rows())
          out.printRecord(x.task(), x.strategy(), x.budget(), x.distinguishable() ? 1 : 0, num(x.beyondNoise()), num(x.lo()), num(x.hi()));
      });
    write(dir.resolve("report.html"), html(r, title));
  }

  private static void write(Path file, String text) {
    AtomicWrite.write(file, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "" : Double.toString(v);
  }

  private static List<String> interval(Stats.Interval i) {
    return List.of(num(i.mean()), num(i.lo()), num(i.hi()));
  }

  @SafeVarargs
  private static List<Object> concat(List<?>... parts) {
    List<Object> out = new ArrayList<>();
    for (List<?> p : parts) out.addAll(p);
    return out;
  }

  // ---------------------------------------------------------------- HTML

  static String html(Result r, String title) {
    String text = text(r);
    StringBuilder h = new StringBuilder(Html.head("Needle evaluation"));
    h.append("<h1>Needle: regret of model search</h1>\n<p>").append(Html.esc(title)).append("</p>\n<pre>")
        .append(Html.esc(text.lines().findFirst().orElse(""))).append("</pre>\n");
    h.append("<h2>Every proxy and strategy side by side</h2>\n<table><tr>");
    for (String c : sideBySideHead(r)) h.append("<th>").append(Html.esc(c)).append("</th>");
    h.append("</tr>\n");
    for (List<String> row : sideBySide(r)) {
      h.append("<tr>");
      for (int i = 0; i < row.size(); i++) h.append(i == 0 ? "<td>" : "<td class=\"n\">").append(Html.esc(row.get(i))).append("</td>");
      h.append("</tr>\n");
    }
    h.append("</table>\n<p class=\"muted\">B=k: mean relative regret in % at budget k ([004] eq. 2); w.tau: weighted Kendall tau of its"
        + " ranking with the fine-tuned accuracies; top-1: fraction of tasks whose first pick is an oracle best; s/expert: scoring seconds"
        + " per expert and task, beside the shared embedding cost.</p>\n");
    h.append("<h2>Weighted Kendall tau with the oracle</h2>\n").append(tauBars(r));
    h.append("<h2>Mean relative regret against the budget</h2>\n");
    h.append(lines(r, true));
    h.append("<h2>Fraction of tasks with zero regret against the budget</h2>\n");
    h.append(lines(r, false));
    for (int b : r.budgets().subList(0, Math.min(2, r.budgets().size()))) {
      h.append("<h2>Absolute regret per task, B=").append(b).append("</h2>\n").append(bars(r, b));
    }
    h.append("<h2>Tables</h2>\n<pre>").append(Html.esc(text)).append("</pre>\n");
    if (!r.warnings().isEmpty()) {
      h.append("<h2>Notes</h2>\n<ul>");
      for (String w : r.warnings()) h.append("<li class=\"muted\">").append(Html.esc(w)).append("</li>");
      h.append("</ul>\n");
    }
    h.append("</body></html>\n");
    return h.toString();
  }

  /** Width of a text label in px (SVG's default sans-serif at 12 px: about 7 px a character). */
  static int textWidth(String s) {
    return 7 * s.length();
  }

  /** Width of a legend of these names: swatch, gap, the longest name and a margin. */
  static int legendWidth(List<String> names) {
    return 14 + names.stream().mapToInt(EvalReport::textWidth).max().orElse(0) + 10;
  }

  /**
   * A y axis from 0 to max with 5 labelled ticks and light grid lines across the plot: tick values are what the
   * reader compares, so min and max alone do not do.
   */
  static String yAxis(int left, int top, int hgt, int w, double max, java.util.function.DoubleFunction<String> label) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, top, left, top + hgt));
    for (int i = 0; i <= 4; i++) {
      double v = max * i / 4, y = top + hgt - (double) hgt * i / 4;
      sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
          left, y, left + w, y, left - 4, y + 4, Html.esc(label.apply(v))));
    }
    return sb.toString();
  }

  private static String legend(List<String> strategies, int x, int y) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < strategies.size(); i++)
      s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
          x, y + 16 * i, COLORS[i % COLORS.length], x + 14, y + 16 * i + 9, Html.esc(strategies.get(i))));
    return s.toString();
  }

  /** Horizontal bars of each ranking's mean weighted tau, with its 95% interval. */
  static String tauBars(Result r) {
    List<Evaluation.CorrelationSummary> cs = r.correlationSummaries().stream().filter(c -> Double.isFinite(c.weightedTau().mean())).toList();
    int left = 12 + cs.stream().mapToInt(c -> textWidth(c.proxy())).max().orElse(100), w = 400, row = 18, top = 20;
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\">\n", left + w + 60, top + row * cs.size() + 30));
    double zero = left + w / 2.0;  // tau in [-1, 1]
    for (double t : new double[] {-1, -0.5, 0, 0.5, 1}) {
      double x = zero + t * w / 2;
      sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
          x, top - 4, x, top + row * cs.size(), x, top + row * cs.size() + 14, fmt(t, 1)));
    }
    for (int i = 0; i < cs.size(); i++) {
      Evaluation.CorrelationSummary c = cs.get(i);
      double m = c.weightedTau().mean(), y = top + i * row;
      double x0 = Math.min(zero, zero + m * w / 2), bw = Math.abs(m) * w / 2;
      sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left - 6, y + 12, Html.esc(c.proxy())));
      sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>", x0, y + 2, bw, COLORS[i % COLORS.length]));
      if (Double.isFinite(c.weightedTau().lo()))
        sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>",
            zero + c.weightedTau().lo() * w / 2, y + 8, zero + c.weightedTau().hi() * w / 2, y + 8));
      sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", left + w + 6.0, y + 12, fmt(m, 3)));
    }
    return sb.append("</svg>\n").toString();
  }

  /** Mean relative regret (or zero-regret fraction) against the budget, a line per strategy. */
  static String lines(Result r, boolean regret) {
    int w = 560, hgt = 260, left = 50, top = 10, legendX = left + w + 20;
    double max = 0;
    for (Summary s : r.summaries())
      if (s.scope().equals(Evaluation.ALL)) max = Math.max(max, regret ? s.relative().mean() : 1);
    if (!(max > 0)) max = 1;
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\">\n", legendX + legendWidth(r.strategies()), Math.max(hgt + 40, 16 * r.strategies().size() + 20)));
    sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, top + hgt, left + w, top + hgt));
    final double top1 = max;
    sb.append(yAxis(left, top, hgt, w, max, v -> regret ? fmt(v * 100, top1 * 100 < 10 ? 1 : 0) + "%" : fmt(v, 2)));
    List<Integer> bs = r.budgets();
    double step = bs.size() > 1 ? (double) w / (bs.size() - 1) : 0;
    for (int i = 0; i < bs.size(); i++)
      sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">B=%d</text>", left + i * step, top + hgt + 18, bs.get(i)));
    for (int k = 0; k < r.strategies().size(); k++) {
      String s = r.strategies().get(k);
      StringBuilder pts = new StringBuilder();
      for (int i = 0; i < bs.size(); i++) {
        Summary x = r.summary(Evaluation.ALL, s, bs.get(i));
        double v = regret ? x.relative().mean() : x.zero().mean();
        if (Double.isNaN(v)) continue;
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + i * step, top + hgt - v / max * hgt));
      }
      sb.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", COLORS[k % COLORS.length], pts.toString().trim()));
    }
    sb.append(legend(r.strategies(), legendX, top));
    return sb.append("</svg>\n").toString();
  }

  /** Absolute regret per task at budget b: a group of bars (one per strategy) per task. */
  static String bars(Result r, int b) {
    int ns = r.strategies().size(), bar = 6, gap = 14, left = 40, top = 10, hgt = 200;
    int groupW = ns * bar + gap, w = r.tasks().size() * groupW;
    // task labels are drawn rotated by 40 degrees below the bars: room below for the longest, and to the right for the
    // last one, so that neither is cut nor runs into the legend
    List<String> labels = r.tasks().stream().map(t -> t + " (" + r.groups().get(t) + ")").toList();
    int longest = labels.stream().mapToInt(EvalReport::textWidth).max().orElse(0);
    int below = (int) Math.ceil(longest * Math.sin(Math.toRadians(40))) + 24;
    int overhang = labels.isEmpty() ? 0 : Math.max(0, (int) Math.ceil(textWidth(labels.get(labels.size() - 1)) * Math.cos(Math.toRadians(40))) - groupW);
    int legendX = left + w + 20 + overhang;
    double max = 0;
    for (Row x : r.rows()) if (x.budget() == b && Double.isFinite(x.absolute())) max = Math.max(max, x.absolute());
    if (!(max > 0)) max = 0.01;
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\">\n", legendX + legendWidth(r.strategies()), Math.max(top + hgt + below, 16 * ns + 20)));
    sb.append(yAxis(left, top, hgt, w, max, v -> fmt(v * 100, 1)));
    for (int t = 0; t < r.tasks().size(); t++) {
      String task = r.tasks().get(t);
      int x0 = left + t * groupW;
      for (int k = 0; k < ns; k++) {
        Row x = r.row(task, r.strategies().get(k), b);
        double v = Double.isFinite(x.absolute()) ? x.absolute() : 0;
        double bh = v / max * hgt;
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s, %s: %s points</title></rect>",
            x0 + k * bar, top + hgt - bh, bar - 1, bh, COLORS[k % COLORS.length], Html.esc(task), Html.esc(x.strategy()), fmt(v * 100, 2)));
      }
      sb.append(String.format(Locale.ROOT, "\n<text transform=\"translate(%d,%d) rotate(40)\">%s</text>\n", x0 + 2, top + hgt + 12,
          Html.esc(labels.get(t))));
    }
    sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, top + hgt, left + w, top + hgt));
    sb.append(legend(r.strategies(), legendX, top));
    return sb.append("</svg>\n").toString();
  }
}
