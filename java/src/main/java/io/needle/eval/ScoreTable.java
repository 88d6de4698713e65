package io.needle.eval;

import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Proxy scores of experts on tasks, as {@code needle select} writes them for a folder of tasks: a CSV with columns
 * {@code task,expert,proxy,score} (higher is better; a blank or NaN score is an expert the proxy could not score).
 *
 * @param scores task → proxy → expert → score (NaN for failures), in file order
 */
public record ScoreTable(Map<String, Map<String, Map<String, Double>>> scores) {
  public ScoreTable {
    Map<String, Map<String, Map<String, Double>>> copy = new LinkedHashMap<>();
    scores.forEach((t, byProxy) -> {
      Map<String, Map<String, Double>> p = new LinkedHashMap<>();
      byProxy.forEach((k, v) -> p.put(k, Collections.unmodifiableMap(new LinkedHashMap<>(v))));
      copy.put(t, Collections.unmodifiableMap(p));
    });
    scores = Collections.unmodifiableMap(copy);
  }

  /**
   * Reads a score CSV.
   *
   * @throws io.needle.NeedleException BAD_INPUT naming the file and line for a missing column, a score that is not a
   *     number, or a (task, expert, proxy) triple given twice
   */
  public static ScoreTable read(Path file) {
    Csv csv = Csv.read(file);
    int t = csv.column("task"), e = csv.column("expert"), p = csv.column("proxy"), s = csv.column("score");
    Map<String, Map<String, Map<String, Double>>> out = new LinkedHashMap<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      double v = csv.number(r, s);
      String task = row[t].trim(), expert = row[e].trim(), proxy = row[p].trim();
      if (task.isEmpty() || expert.isEmpty() || proxy.isEmpty()) throw csv.bad(r, "task, expert and proxy must not be blank");
      if (out.computeIfAbsent(task, k -> new LinkedHashMap<>()).computeIfAbsent(proxy, k -> new LinkedHashMap<>()).put(expert, v) != null)
        throw csv.bad(r, "task '" + task + "', expert '" + expert + "', proxy '" + proxy + "' given twice");
    }
    if (out.isEmpty()) throw new io.needle.NeedleException(io.needle.NeedleException.Code.BAD_INPUT, file + ": no rows");
    return new ScoreTable(out);
  }
}
