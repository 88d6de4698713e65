package io.needle.report;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Score;
import io.needle.eval.Evaluation;
import io.needle.eval.Oracle;
import io.needle.eval.ScoreTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The evaluation report's SVG plots keep their parts apart (issue 11: legends overlapped the lines, rotated task labels
 * and long proxy names were cut, y axes had only their two ends labelled). Text is measured as {@link EvalReport#textWidth}.
 */
class ReportLayoutTest {
  static final String LONG_TASK = "a-task-with-a-rather-long-name", LONG_PROXY = "hybrid-hscore-shrinkage-with-a-long-name";

  /** Three tasks (the last with a long name), eight experts, two proxies (one with a long name). */
  static Evaluation.Result result() {
    Random r = new Random(7);
    Map<String, Map<String, Map<String, Score>>> scores = new LinkedHashMap<>();
    Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
    for (String t : List.of("t1", "t2", LONG_TASK)) {
      Map<String, Score> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
      Map<String, Double> o = new LinkedHashMap<>();
      for (int e = 0; e < 8; e++) {
        o.put("e" + e, 0.5 + 0.4 * r.nextDouble());
        a.put("e" + e, Score.ok("e" + e, "p", r.nextDouble()));
        b.put("e" + e, Score.ok("e" + e, LONG_PROXY, r.nextDouble()));
      }
      scores.put(t, Map.of("p", a, LONG_PROXY, b));
      acc.put(t, o);
    }
    return Evaluation.run(new Oracle(acc), new ScoreTable(scores), new Evaluation.Config(null, null, Map.of(), List.of(1, 2, 3), 0, 0));
  }

  static List<double[]> all(String svg, String regex) {
    List<double[]> out = new ArrayList<>();
    Matcher m = Pattern.compile(regex).matcher(svg);
    while (m.find()) {
      double[] v = new double[m.groupCount()];
      for (int i = 0; i < v.length; i++) v[i] = Double.parseDouble(m.group(i + 1));
      out.add(v);
    }
    return out;
  }

  static double[] size(String svg) {
    return all(svg, "<svg width=\"(\\d+)\" height=\"(\\d+)\"").get(0);
  }

  static double legendX(String svg) {
    return all(svg, "<rect x=\"(\\d+)\" y=\"\\d+\" width=\"10\"").get(0)[0];
  }

  @Test
  void theRegretPlotsLegendIsRightOfTheLinesAndItsAxisHasTicks() {
    Evaluation.Result r = result();
    String svg = EvalReport.lines(r, true);
    double plotRight = all(svg, "<line x1=\"([0-9.]+)\" y1=\"[0-9.]+\" x2=\"([0-9.]+)\"").stream().mapToDouble(v -> v[1]).max().orElseThrow();
    assertTrue(legendX(svg) > plotRight, "legend at " + legendX(svg) + " overlaps the plot ending at " + plotRight);
    assertTrue(legendX(svg) + EvalReport.legendWidth(r.strategies()) <= size(svg)[0], "legend cut at the right");
    long ticks = Pattern.compile("text-anchor=\"end\">[0-9.]+%</text>").matcher(svg).results().count();
    assertTrue(ticks >= 5, ticks + " y tick labels");
  }

  @Test
  void rotatedTaskLabelsFitBelowAndBeforeTheLegend() {
    String svg = EvalReport.bars(result(), 1);
    double[] label = all(svg, "translate\\((\\d+),(\\d+)\\) rotate\\(40\\)").get(2);
    double w = EvalReport.textWidth(LONG_TASK + " (all)");
    double bottom = label[1] + w * Math.sin(Math.toRadians(40)), right = label[0] + w * Math.cos(Math.toRadians(40));
    assertTrue(bottom <= size(svg)[1], "the last task's label ends at " + bottom + ", below the picture's " + size(svg)[1]);
    assertTrue(legendX(svg) > right, "legend at " + legendX(svg) + " runs into the last label ending at " + right);
    long ticks = Pattern.compile("text-anchor=\"end\">[0-9.]+</text>").matcher(svg).results().count();
    assertTrue(ticks >= 5, ticks + " y tick labels");
  }

  @Test
  void longProxyNamesAreNotCutInTheTauChart() {
    String svg = EvalReport.tauBars(result());
    List<double[]> at = all(svg, "<text x=\"(\\d+)\" y=\"[0-9.]+\" text-anchor=\"end\">" + Pattern.quote(LONG_PROXY) + "<");
    assertTrue(!at.isEmpty(), svg);
    for (double[] v : at) assertTrue(v[0] - EvalReport.textWidth(LONG_PROXY) >= 0, "label starts at " + (v[0] - EvalReport.textWidth(LONG_PROXY)));
  }
}
