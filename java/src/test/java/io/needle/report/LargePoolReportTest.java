package io.needle.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Score;
import io.needle.data.Images;
import io.needle.select.Selection;
import io.needle.select.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The selection report of a pool of a thousand experts stays readable: top bars, a histogram, the rest folded. */
class LargePoolReportTest {
  @Test
  void aThousandExperts() {
    Random r = new Random(1);
    List<Score> scores = new ArrayList<>();
    for (int i = 0; i < 1000; i++) scores.add(Score.ok(String.format("expert-%04d", i), "knn-loo", 0.5 + 0.4 * r.nextDouble()));
    for (int i = 0; i < 7; i++) scores.add(Score.failed("broken-" + i, "knn-loo", "the same reason"));
    String best = Reports.rank(scores, "knn-loo").get(0);
    Selection sel = new Selection("task-aware", 1, "knn-loo", List.of(new Selection.Pick(best, scores.stream().filter(x -> x.expert().equals(best)).findFirst().orElseThrow().score(), "rank 1 by knn-loo")));
    Selector.Result res = new Selector.Result(scores, List.of(), List.of(), sel, Map.of("total", 1.0), "cpu");
    Images images = new Images("task", 2, 2, 1, new byte[8], new int[] {0, 1}, List.of("a", "b"), List.of("x", "y"), List.of());
    String html = SelectReport.html(res, List.of(), images, "zoo");
    assertEquals(SelectReport.TOP, count(html, "<rect x=\"\\d+\" y=\"\\d+\" width=\"\\d+\" height=\"14\""), "bars for the best only");
    assertTrue(html.contains("All 1000 experts by knn-loo"), "a histogram of every score");
    assertTrue(html.contains("<details><summary>The other 977 experts</summary>"), "the rest of the table folded");
    assertEquals(1007, count(html, "<tr( class=\"pick\")?><td class=\"n\">"), "every expert still has a row");
    assertEquals(1, count(html, "broken-0, broken-1, broken-2, broken-3 and 3 more"), "seven failures sharing a reason make one row");
    assertTrue(html.length() < 400_000, "size " + html.length());
  }

  private static int count(String s, String regex) {
    Matcher m = Pattern.compile(regex).matcher(s);
    int n = 0;
    while (m.find()) n++;
    return n;
  }
}
