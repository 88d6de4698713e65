package io.needle.eval;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Proxy scores of experts on tasks, as {@code needle select} writes them for a folder of tasks: a CSV with columns
 * {@code task,expert,proxy,score[,status,reason]}. Without a status column, a blank or NaN score is a failed one.
 *
 * @param scores task → proxy → expert → score, in file order
 */
public record ScoreTable(Map<String, Map<String, Map<String, Score>>> scores) {
  public ScoreTable {
    Map<String, Map<String, Map<String, Score>>> copy = new LinkedHashMap<>();
    scores.forEach((t, byProxy) -> {
      Map<String, Map<String, Score>> p = new LinkedHashMap<>();
      byProxy.forEach((k, v) -> p.put(k, Collections.unmodifiableMap(new LinkedHashMap<>(v))));
      copy.put(t, Collections.unmodifiableMap(p));
    });
    scores = Collections.unmodifiableMap(copy);
  }

  /**
   * Reads a score CSV.
   *
   * @throws NeedleException BAD_INPUT naming the file and line for a missing column, a score that is not a number, an
   *     unknown status, an ok row without a value, or a (task, expert, proxy) triple given twice
   */
  public static ScoreTable read(Path file) {
    Csv csv = Csv.read(file);
    int t = csv.column("task"), e = csv.column("expert"), p = csv.column("proxy"), s = csv.column("score");
    int st = csv.optionalColumn("status");
    int why = csv.optionalColumn("reason") >= 0 ? csv.optionalColumn("reason") : csv.optionalColumn("error");
    Map<String, Map<String, Map<String, Score>>> out = new LinkedHashMap<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      double v = csv.number(r, s);
      String task = row[t].trim(), expert = row[e].trim(), proxy = row[p].trim();
      if (task.isEmpty() || expert.isEmpty() || proxy.isEmpty()) throw csv.bad(r, "task, expert and proxy must not be blank");
      Score.Status status;
      try {
        status = st >= 0 && !row[st].isBlank() ? Score.Status.parse(row[st]) : Double.isFinite(v) ? Score.Status.OK : Score.Status.FAILED;
      } catch (NeedleException ex) {
        throw csv.bad(r, ex.getMessage());
      }
      String reason = why >= 0 && !row[why].isBlank() ? row[why] : "no reason given in " + file.getFileName();
      Score score;
      if (status == Score.Status.OK) {
        if (!Double.isFinite(v)) throw csv.bad(r, "status ok but the score is " + (Double.isNaN(v) ? "blank" : v));
        score = Score.ok(expert, proxy, v);
      } else score = status == Score.Status.FAILED ? Score.failed(expert, proxy, reason) : Score.undefined(expert, proxy, reason);
      if (out.computeIfAbsent(task, k -> new LinkedHashMap<>()).computeIfAbsent(proxy, k -> new LinkedHashMap<>()).put(expert, score) != null)
        throw csv.bad(r, "task '" + task + "', expert '" + expert + "', proxy '" + proxy + "' given twice");
    }
    if (out.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no rows");
    return new ScoreTable(out);
  }
}
