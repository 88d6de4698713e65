package io.needle.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.needle.NeedleException;
import io.needle.Score;
import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;

/**
 * Score tables: the ranked table for people, and CSV / JSON / Arrow files for programs. Files are written to
 * a temporary sibling and atomically renamed, so a reader never sees a half-written file.
 */
public final class Reports {
  private Reports() {}

  /** CSV columns, in order. */
  public static final List<String> CSV_HEADER = List.of("expert", "proxy", "score", "status", "reason");

  /** Writes scores to a file whose extension picks the format: .csv, .json or .arrow. */
  public static void write(Path file, List<Score> scores) {
    checkFormat(file);
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".csv")) Csv.write(file, CSV_HEADER, csvRows(scores, null));
    else if (name.endsWith(".json")) AtomicWrite.write(file, out -> out.write(json(scores).getBytes(StandardCharsets.UTF_8)));
    else AtomicWrite.write(file, out -> arrow(out, scores));
  }

  /**
   * Checks that {@link #write} knows the file's format (for callers that check before computing).
   *
   * @throws NeedleException INVALID_ARGUMENT unless the name ends in .csv, .json or .arrow
   */
  public static void checkFormat(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (!name.endsWith(".csv") && !name.endsWith(".json") && !name.endsWith(".arrow"))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, file + ": unknown output format; use .csv, .json or .arrow");
  }

  /** @return {@link #CSV_HEADER}, then {@code rank} if ranks are given */
  public static List<String> csvHeader(java.util.function.ToIntFunction<Score> rank) {
    if (rank == null) return CSV_HEADER;
    List<String> h = new ArrayList<>(CSV_HEADER);
    h.add("rank");
    return h;
  }

  /**
   * @param rank if not null, adds a last column {@code rank}: the expert's rank under the row's proxy (1 = best;
   *     blank when failed)
   * @return the score table's rows: one per expert and proxy
   */
  public static Csv.Rows csvRows(List<Score> scores, java.util.function.ToIntFunction<Score> rank) {
    return out -> {
      for (Score s : scores) {
        List<Object> row = csvFields(s);
        if (rank != null) row.add(s.ok() ? rank.applyAsInt(s) : "");
        out.printRecord(row);
      }
    };
  }

  /** @return one score's {@link #CSV_HEADER} fields (a mutable list: callers add columns) */
  public static List<Object> csvFields(Score s) {
    return new ArrayList<>(java.util.Arrays.asList(s.expert(), s.proxy(), s.ok() ? s.score() : "", s.status().id(), s.reason() == null ? "" : s.reason()));
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** @return a JSON array of {expert, proxy, score, status, reason} objects (score and reason null when absent) */
  public static String json(List<Score> scores) {
    ArrayNode a = JSON.createArrayNode();
    for (Score s : scores)
      a.addObject().put("expert", s.expert()).put("proxy", s.proxy()).put("score", s.ok() ? s.score() : null)
          .put("status", s.status().id()).put("reason", s.reason());
    try {
      return JSON.writeValueAsString(a) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);  // a tree of strings and numbers always serialises
    }
  }

  /**
   * The table people read: experts ranked by the first proxy (failed last), one column per proxy.
   */
  public static String table(List<Score> scores, List<String> proxies) {
    return table(scores, proxies, 0);
  }

  /**
   * As {@link #table(List, List)}, listing only the first {@code top} experts of the ranking (0 for all) and how many
   * more there are: a pool of a thousand experts stays readable on a terminal.
   */
  public static String table(List<Score> scores, List<String> proxies, int top) {
    Map<String, Map<String, Score>> byExpert = byExpert(scores);
    List<String> ranked = rank(scores, proxies.get(0));
    List<String> experts = top > 0 && ranked.size() > top ? ranked.subList(0, top) : ranked;
    int w = Math.max(6, experts.stream().mapToInt(String::length).max().orElse(6));
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%4s  %-" + w + "s", "rank", "expert"));
    for (String p : proxies) sb.append(String.format(Locale.ROOT, "  %9s", p));
    sb.append('\n');
    int rank = 0;
    for (String e : experts) {
      Map<String, Score> row = byExpert.get(e);
      boolean ok = row.get(proxies.get(0)) != null && row.get(proxies.get(0)).ok();
      sb.append(String.format(Locale.ROOT, "%4s  %-" + w + "s", ok ? String.valueOf(++rank) : "-", e));
      for (String p : proxies) {
        Score s = row.get(p);
        sb.append(String.format(Locale.ROOT, "  %9s", s == null ? "" : s.ok() ? String.format(Locale.ROOT, "%.4f", s.score()) : s.status().id()));
      }
      sb.append('\n');
    }
    if (experts.size() < ranked.size())
      sb.append(String.format(Locale.ROOT, "%4s  ... %d more (ranking.csv and report.html list every expert)%n", "", ranked.size() - experts.size()));
    List<Score> failed = scores.stream().filter(s -> s.status() == Score.Status.FAILED).toList();
    if (!failed.isEmpty()) {
      sb.append("\nfailed:\n");
      Map<String, String> seen = new LinkedHashMap<>();
      for (Score s : failed) seen.merge(s.reason(), s.proxy(), (a, b) -> a + "," + b);
      seen.forEach((msg, p) -> sb.append("  [").append(p).append("] ").append(msg).append('\n'));
    }
    // undefined scores are usually one reason for many experts: said once per proxy and reason
    Map<String, List<String>> undefined = new LinkedHashMap<>();
    for (Score s : scores)
      if (s.status() == Score.Status.UNDEFINED) {
        String r = s.reason().startsWith(s.expert() + ": ") ? s.reason().substring(s.expert().length() + 2) : s.reason();
        if (r.startsWith(s.proxy() + ": ")) r = r.substring(s.proxy().length() + 2);
        undefined.computeIfAbsent("[" + s.proxy() + "] " + r, k -> new ArrayList<>()).add(s.expert());
      }
    if (!undefined.isEmpty()) {
      sb.append("\nundefined (the proxy does not apply):\n");
      undefined.forEach((msg, es) -> sb.append("  ").append(msg).append(" (").append(es.size() == 1 ? es.get(0)
          : es.size() + " experts: " + String.join(", ", es.subList(0, Math.min(4, es.size()))) + (es.size() > 4 ? ", ..." : "")).append(")\n"));
    }
    return sb.toString();
  }

  /** @return expert names ordered by the given proxy, best first (in the proxy's direction); ties by name; not scored last */
  public static List<String> rank(List<Score> scores, String proxy) {
    Map<String, Map<String, Score>> byExpert = byExpert(scores);
    List<String> experts = new ArrayList<>(byExpert.keySet());
    double sign = io.needle.proxy.Proxies.higherIsBetter(proxy) ? -1 : 1;
    experts.sort(Comparator.<String>comparingDouble(e -> {
      Score s = byExpert.get(e).get(proxy);
      return s == null || !s.ok() ? Double.POSITIVE_INFINITY : sign * s.score();
    }).thenComparing(Comparator.naturalOrder()));
    return experts;
  }

  private static Map<String, Map<String, Score>> byExpert(List<Score> scores) {
    Map<String, Map<String, Score>> m = new LinkedHashMap<>();
    for (Score s : scores) m.computeIfAbsent(s.expert(), k -> new LinkedHashMap<>()).put(s.proxy(), s);
    return m;
  }

  private static void arrow(OutputStream out, List<Score> scores) throws IOException {
    try (BufferAllocator alloc = new RootAllocator();
        VarCharVector expert = new VarCharVector("expert", alloc);
        VarCharVector proxy = new VarCharVector("proxy", alloc);
        Float8Vector score = new Float8Vector("score", alloc);
        VarCharVector status = new VarCharVector("status", alloc);
        VarCharVector reason = new VarCharVector("reason", alloc)) {
      int n = scores.size();
      expert.allocateNew(n);
      proxy.allocateNew(n);
      score.allocateNew(n);
      status.allocateNew(n);
      reason.allocateNew(n);
      for (int i = 0; i < n; i++) {
        Score s = scores.get(i);
        expert.setSafe(i, s.expert().getBytes(StandardCharsets.UTF_8));
        proxy.setSafe(i, s.proxy().getBytes(StandardCharsets.UTF_8));
        if (s.ok()) score.set(i, s.score());
        else score.setNull(i);
        status.setSafe(i, s.status().id().getBytes(StandardCharsets.UTF_8));
        if (s.reason() != null) reason.setSafe(i, s.reason().getBytes(StandardCharsets.UTF_8));
        else reason.setNull(i);
      }
      List<org.apache.arrow.vector.FieldVector> vs = List.of(expert, proxy, score, status, reason);
      vs.forEach(v -> v.setValueCount(n));
      try (VectorSchemaRoot root = new VectorSchemaRoot(vs);
          ArrowFileWriter w = new ArrowFileWriter(root, null, Channels.newChannel(out))) {
        w.start();
        w.writeBatch();
        w.end();
      }
    }
  }

}
