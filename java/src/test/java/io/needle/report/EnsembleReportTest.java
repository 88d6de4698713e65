package io.needle.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.select.Ensembles;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Issue 13 part 3: the heat map of the pairwise inconsistency matrix in {@code needle ensemble}'s report. */
class EnsembleReportTest {
  static Ensembles.Result result() {
    List<String> ids = List.of("a<b", "c&\"d\"", "plain");
    List<Ensembles.Probe> probes = ids.stream().map(id -> new Ensembles.Probe(id, new double[0], 1, 0.5, new boolean[0])).toList();
    double[][] m = {{0, 0.25, 0.5}, {0.25, 0, 0.1}, {0.5, 0.1, 0}};
    Ensembles.Pick pick = new Ensembles.Pick("calibrated", List.of(new Ensembles.Step("plain", 0.8, 0.8, 0), new Ensembles.Step("a<b", 0.85, 0.05, 0.5)), null);
    return new Ensembles.Result(new Ensembles.Probes(new int[0], 2, probes, List.of()), List.of(pick), m, List.of(), Map.of());
  }

  @Test
  void oneCellPerPairLabelledShadedByValueAndEscaped() {
    String svg = EnsembleReport.heatMap(result());
    Matcher cell = Pattern.compile("<rect [^>]*fill=\"rgb\\((\\d+),(\\d+),255\\)\"><title>([^<]*)</title></rect>").matcher(svg);
    int n = 0;
    java.util.Map<String, Integer> shade = new java.util.HashMap<>();
    while (cell.find()) {
      n++;
      shade.put(cell.group(3), Integer.parseInt(cell.group(1)));
    }
    assertEquals(9, n, "3 x 3 cells: " + svg);
    assertEquals(255, shade.get("a&lt;b / a&lt;b: 0.000"), "the diagonal is white");
    assertEquals(55, shade.get("a&lt;b / plain: 0.500"), "the largest value is the darkest");
    assertEquals(155, shade.get("c&amp;&quot;d&quot; / a&lt;b: 0.250"), "half the largest, half as dark");
    // values on the off-diagonal cells only, as .25
    assertEquals(6, Pattern.compile("font-size=\"9\"").matcher(svg).results().count());
    assertTrue(svg.contains(">.25</text>") && svg.contains(">.10</text>") && svg.contains(">.50</text>"), svg);
    // row and column labels, escaped
    assertEquals(2, Pattern.compile(">a&lt;b</text>").matcher(svg).results().count());
    assertEquals(2, Pattern.compile(">c&amp;&quot;d&quot;</text>").matcher(svg).results().count());
    assertFalse(svg.contains("a<b") || svg.contains("c&\""), "nothing unescaped");
  }

  @Test
  void theReportCarriesTheHeatMapAndNoScript() {
    String html = EnsembleReport.html(result(), "Task <t>");
    assertTrue(html.contains("Pairwise error inconsistency of the probes") && html.contains(EnsembleReport.heatMap(result())), html);
    assertTrue(html.contains("Task &lt;t&gt;"));
    assertFalse(html.contains("<script") || html.contains("http://") || html.contains("https://"));
  }
}
