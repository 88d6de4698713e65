package io.needle.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import io.needle.data.Images;
import io.needle.select.Selection;
import io.needle.select.Halving;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outputs of {@code needle select}: {@code ranking.csv} (the score CSV's columns plus each expert's
 * {@code rank} under that proxy), {@code selection.json} (the picks, the task, the failures, the timings) and
 * {@code report.html}, one self-contained page (inline SVG and CSS, no scripts, no network).
 */
public final class SelectReport {
  private SelectReport() {}

  /** Writes the three files into {@code dir}, each atomically. */
  public static void write(Path dir, Selector.Result r, List<Expert> pool, Images images, String zoo) {
    Map<String, Map<String, Integer>> ranks = ranks(r.scores());
    java.util.function.ToIntFunction<Score> rank = s -> ranks.get(s.proxy()).get(s.expert());
    Csv.write(dir.resolve("ranking.csv"), Reports.csvHeader(rank), Reports.csvRows(withLeftOut(r), rank));
    AtomicWrite.write(dir.resolve("selection.json"), out -> out.write(json(r, pool, images, zoo).getBytes(StandardCharsets.UTF_8)));
    AtomicWrite.write(dir.resolve("report.html"), out -> out.write(html(r, pool, images, zoo).getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * The scores plus a {@code failed} row per proxy for every model that could not even be read (a corrupt ONNX file,
   * a bad manifest entry: a problem whose subject has no score), so that ranking.csv lists everything it was given.
   */
  static List<Score> withLeftOut(Selector.Result r) {
    java.util.Set<String> scored = new java.util.HashSet<>();
    for (Score s : r.scores()) scored.add(s.expert());
    List<String> proxies = r.scores().stream().map(Score::proxy).distinct().toList();
    if (proxies.isEmpty()) proxies = List.of(r.selection().proxy() == null ? "" : r.selection().proxy());
    List<Score> out = new ArrayList<>(r.scores());
    for (Problem p : r.problems())  // an expert's problem is "id (file)": that expert has its failed rows already
      if (!scored.contains(p.subject()) && !scored.contains(p.subject().replaceFirst(" \\(.*\\)$", "")))
        for (String proxy : proxies) out.add(Score.failed(p.subject(), proxy, p.message()));
    return out;
  }

  /** @return rank of each expert under each proxy: 1 = best; failed experts have none */
  static Map<String, Map<String, Integer>> ranks(List<Score> scores) {
    Map<String, Map<String, Integer>> out = new HashMap<>();
    for (String proxy : scores.stream().map(Score::proxy).distinct().toList()) {
      int r = 0;
      Map<String, Score> byExpert = new HashMap<>();
      for (Score s : scores) if (s.proxy().equals(proxy)) byExpert.put(s.expert(), s);
      for (String e : Reports.rank(scores, proxy)) {
        Score s = byExpert.get(e);
        if (s != null && s.ok()) out.computeIfAbsent(proxy, k -> new HashMap<>()).put(e, ++r);
      }
    }
    return out;
  }

  static String json(Selector.Result r, List<Expert> pool, Images images, String zoo) {
    Map<String, Object> doc = new LinkedHashMap<>();
    Selection s = r.selection();
    doc.put("strategy", s.strategy());
    doc.put("budget", s.budget());
    doc.put("proxy", s.proxy());
    List<Map<String, Object>> picks = new ArrayList<>();
    for (Selection.Pick p : s.picks()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("expert", p.expert());
      m.put("score", Double.isNaN(p.score()) ? null : p.score());
      m.put("reason", p.reason());
      Expert e = pool.stream().filter(x -> x.id().equals(p.expert())).findFirst().orElse(null);
      if (e != null) m.put("file", e.file().getFileName().toString());
      picks.add(m);
    }
    doc.put("picks", picks);
    Map<String, Object> task = new LinkedHashMap<>();
    task.put("dataset", images.source());
    task.put("examples", images.size());
    task.put("classes", images.classNames().size());
    task.put("images", images.describe());
    task.put("sha256", images.hash());
    doc.put("task", task);
    doc.put("zoo", zoo);
    doc.put("experts", pool.size());
    doc.put("backend", r.backend());
    doc.put("seconds", r.seconds());
    List<Map<String, String>> fails = new ArrayList<>();
    for (Problem p : r.problems()) fails.add(Map.of("subject", p.subject(), "problem", p.message()));
    doc.put("failures", fails);
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String html(Selector.Result r, List<Expert> pool, Images images, String zoo) {
    List<String> proxies = r.scores().stream().map(Score::proxy).distinct().toList();
    String first = r.selection().proxy();
    List<String> order = Reports.rank(r.scores(), first);
    Map<String, Map<String, Score>> by = new LinkedHashMap<>();
    for (Score s : r.scores()) by.computeIfAbsent(s.expert(), k -> new LinkedHashMap<>()).put(s.proxy(), s);
    Map<String, Selector.ExpertRun> runs = new HashMap<>();
    for (Selector.ExpertRun x : r.experts()) runs.put(x.expert(), x);
    Map<String, Expert> meta = new HashMap<>();
    for (Expert e : pool) meta.put(e.id(), e);
    java.util.Set<String> picked = new java.util.HashSet<>();
    r.selection().picks().forEach(p -> picked.add(p.expert()));

    StringBuilder h = new StringBuilder();
    h.append(Html.head("Needle selection"));
    h.append("<h1>Needle: which expert to fine-tune</h1>\n<p>Task <code>").append(esc(images.source())).append("</code>: ")
        .append(images.size()).append(" examples, ").append(images.classNames().size()).append(" classes, ").append(esc(images.describe()))
        .append(". Zoo <code>").append(esc(zoo)).append("</code>: ").append(pool.size()).append(" experts.</p>\n");
    h.append("<p><b>Pick").append(r.selection().picks().size() == 1 ? "" : "s").append("</b> (").append(esc(r.selection().strategy()))
        .append(", budget ").append(r.selection().budget()).append("): ");
    List<String> ps = new ArrayList<>();
    for (Selection.Pick p : r.selection().picks()) ps.add("<b>" + esc(p.expert()) + "</b> <span class=\"muted\">(" + esc(p.reason()) + ")</span>");
    h.append(ps.isEmpty() ? "none (no expert could be scored)" : String.join(", ", ps)).append("</p>\n");

    // bar chart of the ranking proxy: every expert for a small pool; the best TOP and a histogram of all for a large one
    List<String> ok = order.stream().filter(e -> by.get(e).get(first) != null && by.get(e).get(first).ok()).toList();
    List<String> bars = ok.size() > TOP + 10 ? ok.subList(0, TOP) : ok;
    // labels are right-aligned before the bars: as wide as the longest name (about 7 px a character), so none is cut
    int rowH = 18, labelW = 12 + 7 * bars.stream().mapToInt(String::length).max().orElse(10), barW = 560, height = bars.size() * rowH + 30;
    h.append("<h2>Ranking by ").append(esc(first)).append(bars.size() < ok.size() ? " (the best " + bars.size() + " of " + ok.size() + ")" : "")
        .append("</h2>\n<svg width=\"").append(labelW + barW + 80).append("\" height=\"").append(height)
        .append("\" role=\"img\" aria-label=\"").append(esc(first)).append(" per expert\">\n");
    for (int i = 0; i < bars.size(); i++) {
      String e = bars.get(i);
      double v = by.get(e).get(first).score();
      int y = 10 + i * rowH;
      int w = (int) Math.round(Math.max(0, Math.min(1, v)) * barW);
      h.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", labelW - 6, y + 12, esc(e)))
          .append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", labelW, y + 2, w, rowH - 4,
              picked.contains(e) ? "#3a8a3a" : "#7a9cc6"))
          .append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%.4f</text>\n", labelW + w + 4, y + 12, v));
    }
    h.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>", labelW, labelW + barW, height - 14, height - 14))
        .append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">0</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">1</text>\n</svg>\n",
            labelW, height - 2, labelW + barW, height - 2));
    if (bars.size() < ok.size()) histogram(h, ok.stream().mapToDouble(e -> by.get(e).get(first).score()).toArray(), first,
        r.selection().picks().stream().map(p -> by.get(p.expert()).get(first)).filter(x -> x != null && x.ok()).mapToDouble(Score::score).toArray());

    if (r.halving() != null) {
      Halving.Report hv = r.halving();
      h.append("<h2>Successive halving</h2>\n<p>Ranked by ").append(esc(hv.proxy())).append(": ").append(esc(hv.describe()))
          .append(". Experts left out in a round have no score on the whole task; their score in that round is below.</p>\n")
          .append("<table><tr><th>round</th><th>images</th><th>experts</th><th>kept</th><th>image inferences</th></tr>\n");
      for (int i = 0; i < hv.rounds().size(); i++) {
        Halving.Round rd = hv.rounds().get(i);
        h.append(String.format(Locale.ROOT, "<tr><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%,d</td></tr>\n",
            i + 1, rd.images(), rd.experts(), rd.kept(), rd.inferences()));
      }
      h.append("</table>\n");
    }

    // per-expert table: the best TOP in view, the rest folded (the browser's find still reaches them)
    h.append("<h2>Scores per expert</h2>\n");
    String header = tableHeader(proxies);
    h.append(header);
    int rank = 0, shown = 0;
    for (String e : order) {
      if (shown++ == TOP && order.size() > TOP + 10)
        h.append("</table>\n<details><summary>The other ").append(order.size() - TOP).append(" experts</summary>\n").append(header);
      Score s0 = by.get(e).get(first);
      boolean good = s0 != null && s0.ok();
      h.append("<tr").append(picked.contains(e) ? " class=\"pick\"" : "").append("><td class=\"n\">").append(good ? String.valueOf(++rank) : "-")
          .append("</td><td>").append(esc(e)).append("</td>");
      for (String p : proxies) {
        Score s = by.get(e).get(p);
        h.append("<td class=\"n\">").append(s == null ? "" : s.ok() ? String.format(Locale.ROOT, "%.4f", s.score()) : "<span class=\"bad\" title=\"" + esc(s.reason()) + "\">" + s.status().id() + "</span>").append("</td>");
      }
      Selector.ExpertRun run = runs.get(e);
      Expert m = meta.get(e);
      Double round = r.halving() == null ? null : r.halving().leftOut().get(e);
      h.append("<td class=\"n\">").append(run == null ? "" : run.dimension()).append("</td><td class=\"n\">")
          .append(m == null || m.meta().parameters() == null ? "" : String.format(Locale.ROOT, "%,d", m.meta().parameters())).append("</td><td class=\"n\">")
          .append(m == null || m.meta().score() == null ? "" : String.format(Locale.ROOT, "%.4f", m.meta().score())).append("</td><td class=\"n\">")
          .append(run == null ? (round == null ? "" : Double.isNaN(round) ? "left out" : String.format(Locale.ROOT, "left out at %.4f", round))
              : run.cached() ? "cached" : String.format(Locale.ROOT, "%.2f s (%s)", run.seconds(), run.device())).append("</td></tr>\n");
    }
    h.append("</table>\n");
    if (order.size() > TOP + 10) h.append("</details>\n");

    // timings
    h.append("<h2>Time per stage</h2>\n<table><tr><th>stage</th><th>seconds</th></tr>\n");
    r.seconds().forEach((k, v) -> h.append("<tr><td>").append(esc(k)).append("</td><td class=\"n\">").append(String.format(Locale.ROOT, "%.3f", v)).append("</td></tr>\n"));
    h.append("</table>\n<p class=\"muted\">Scoring backend: ").append(esc(r.backend())).append(". Stages overlap: scoring runs while the next expert is embedded.</p>\n");

    List<Score> notOk = r.scores().stream().filter(x -> !x.ok()).toList();
    if (!notOk.isEmpty()) {
      // one row per reason (left out by halving, a proxy without what it needs, the same failure): many experts share one
      Map<String, List<Score>> byReason = new LinkedHashMap<>();
      for (Score x : notOk) byReason.computeIfAbsent(x.status().id() + "\n" + x.proxy() + "\n" + x.reason(), k -> new ArrayList<>()).add(x);
      h.append("<h2>Not scored (").append(notOk.stream().map(Score::expert).distinct().count()).append(" experts)</h2>\n")
          .append("<table><tr><th>experts</th><th>proxy</th><th>status</th><th>reason</th></tr>\n");
      for (List<Score> xs : byReason.values()) {
        Score x = xs.get(0);
        List<String> names = xs.stream().map(Score::expert).toList();
        String who = names.size() <= 5 ? String.join(", ", names) : String.join(", ", names.subList(0, 4)) + " and " + (names.size() - 4) + " more";
        h.append("<tr><td>").append(esc(who)).append("</td><td>").append(esc(x.proxy())).append("</td><td class=\"bad\">")
            .append(x.status().id()).append("</td><td>").append(esc(x.reason())).append("</td></tr>\n");
      }
      h.append("</table>\n");
    }
    if (!r.problems().isEmpty()) {
      h.append("<h2>Left out (").append(r.problems().size()).append(")</h2>\n<table><tr><th>what</th><th>problem</th></tr>\n");
      for (Problem p : r.problems()) h.append("<tr><td>").append(esc(p.subject())).append("</td><td class=\"bad\">").append(esc(p.message())).append("</td></tr>\n");
      h.append("</table>\n");
    }
    h.append("</body></html>\n");
    return h.toString();
  }

  /** Rows and bars shown before the rest is folded or summarised. */
  static final int TOP = 30;

  private static String tableHeader(List<String> proxies) {
    StringBuilder h = new StringBuilder("<table><tr><th>rank</th><th>expert</th>");
    for (String p : proxies) h.append("<th>").append(esc(p)).append("</th>");
    return h.append("<th>dim</th><th>params</th><th>task-agnostic score</th><th>inference</th></tr>\n").toString();
  }

  /** The distribution of every expert's score in 20 bins over its range, the picks marked. */
  private static void histogram(StringBuilder h, double[] v, String proxy, double[] picks) {
    double lo = java.util.Arrays.stream(v).min().orElse(0), hi = java.util.Arrays.stream(v).max().orElse(1);
    if (hi <= lo) hi = lo + 1e-9;
    int bins = 20, w = 560, ht = 120, left = 40;
    int[] count = new int[bins];
    for (double x : v) count[Math.min(bins - 1, (int) ((x - lo) / (hi - lo) * bins))]++;
    int max = java.util.Arrays.stream(count).max().orElse(1);
    h.append("<h2>All ").append(v.length).append(" experts by ").append(esc(proxy)).append("</h2>\n<svg width=\"").append(left + w + 40)
        .append("\" height=\"").append(ht + 40).append("\" role=\"img\" aria-label=\"histogram of ").append(esc(proxy)).append("\">\n");
    for (int b = 0; b < bins; b++) {
      int bh = (int) Math.round((double) count[b] / max * ht);
      h.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#7a9cc6\"><title>%d experts in [%.4f, %.4f)</title></rect>\n",
          left + b * w / bins, 10 + ht - bh, w / bins - 2, bh, count[b], lo + b * (hi - lo) / bins, lo + (b + 1) * (hi - lo) / bins));
    }
    for (double p : picks) {
      int x = left + (int) Math.round((p - lo) / (hi - lo) * w);
      h.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"6\" y2=\"%d\" stroke=\"#3a8a3a\" stroke-width=\"2\"/>", x, x, 10 + ht));
    }
    h.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%.4f</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4f</text>"
        + "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>\n</svg>\n<p class=\"muted\">Experts per bin; green: the pick(s).</p>\n",
        left, ht + 28, lo, left + w, ht + 28, hi, left - 4, 20, max));
  }

  private static String esc(String s) {
    return Html.esc(s);
  }
}
