package io.needle.eval;

import io.needle.data.Csv;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fine-tune oracle: the test accuracy each expert reaches on each task when it is fine-tuned ([004] eq. 1,
 * the expectation taken over seeds). Read from a CSV with columns {@code task,expert,accuracy} (accuracy in [0, 1]).
 *
 * @param accuracy task → expert → accuracy, in file order
 */
public record Oracle(Map<String, Map<String, Double>> accuracy) {
  public Oracle {
    Map<String, Map<String, Double>> copy = new LinkedHashMap<>();
    accuracy.forEach((t, m) -> copy.put(t, Collections.unmodifiableMap(new LinkedHashMap<>(m))));
    accuracy = Collections.unmodifiableMap(copy);
  }

  /**
   * Reads an oracle CSV.
   *
   * @throws io.needle.NeedleException BAD_INPUT naming the file and line for a missing column, a value that is not an
   *     accuracy in [0, 1], or a (task, expert) pair given twice
   */
  public static Oracle read(Path file) {
    Csv csv = Csv.read(file);
    int t = csv.column("task"), e = csv.column("expert"), a = csv.column("accuracy");
    Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
    for (int r = 0; r < csv.rows().size(); r++) {
      String[] row = csv.rows().get(r);
      double v = csv.number(r, a);
      if (!(v >= 0 && v <= 1)) throw csv.bad(r, "accuracy " + row[a] + " is not in [0, 1]");
      String task = row[t].trim(), expert = row[e].trim();
      if (task.isEmpty() || expert.isEmpty()) throw csv.bad(r, "task and expert must not be blank");
      if (acc.computeIfAbsent(task, k -> new LinkedHashMap<>()).put(expert, v) != null)
        throw csv.bad(r, "task '" + task + "', expert '" + expert + "' given twice");
    }
    if (acc.isEmpty()) throw new io.needle.NeedleException(io.needle.NeedleException.Code.BAD_INPUT, file + ": no rows");
    return new Oracle(acc);
  }
}
