package io.needle.report;

import io.needle.NeedleException;
import io.needle.Score;
import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
    if (name.endsWith(".csv")) AtomicWrite.write(file, out -> writeText(out, csv(scores)));
    else if (name.endsWith(".json")) AtomicWrite.write(file, out -> writeText(out, json(scores)));
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

  /** @return the CSV text: one row per expert and proxy */
  public static String csv(List<Score> scores) {
    return csv(scores, null);
  }

  /**
   * @param rank if not null, adds a last column {@code rank}: the expert's rank under the row's proxy (1 = best;
   *     blank when failed)
   * @return the CSV text: one row per expert and proxy
   */
  public static String csv(List<Score> scores, java.util.function.ToIntFunction<Score> rank) {
    StringBuilder sb = new StringBuilder(String.join(",", CSV_HEADER)).append(rank == null ? "\n" : ",rank\n");
    for (Score s : scores) {
      csvRow(sb, s);
      if (rank != null) sb.append(',').append(s.ok() ? String.valueOf(rank.applyAsInt(s)) : "");
      sb.append('\n');
    }
    return sb.toString();
  }

  /** @return a JSON array of {expert, proxy, score, status, reason} objects */
  public static String json(List<Score> scores) {
    StringBuilder sb = new StringBuilder("[\n");
    for (int i = 0; i < scores.size(); i++) {
      Score s = scores.get(i);
      sb.append("  {\"expert\": ").append(jstr(s.expert())).append(", \"proxy\": ").append(jstr(s.proxy()))
          .append(", \"score\": ").append(s.ok() ? number(s.score()) : "null").append(", \"status\": ").append(jstr(s.status().id()))
          .append(", \"reason\": ").append(s.reason() == null ? "null" : jstr(s.reason())).append(i + 1 < scores.size() ? "},\n" : "}\n");
    }
    return sb.append("]\n").toString();
  }

  /**
   * The table people read: experts ranked by the first proxy (failed last), one column per proxy.
   */
  public static String table(List<Score> scores, List<String> proxies) {
    Map<String, Map<String, Score>> byExpert = byExpert(scores);
    List<String> experts = rank(scores, proxies.get(0));
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

  private static void writeText(OutputStream out, String text) throws IOException {
    Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
    w.write(text);
    w.flush();
  }

  private static String number(double v) {
    return Double.toString(v);
  }

  /** Appends one score's {@link #CSV_HEADER} fields, without the line end. */
  public static StringBuilder csvRow(StringBuilder sb, Score s) {
    return sb.append(Csv.field(s.expert())).append(',').append(s.proxy()).append(',').append(s.ok() ? number(s.score()) : "")
        .append(',').append(s.status().id()).append(',').append(s.reason() == null ? "" : Csv.field(s.reason()));
  }

  private static String jstr(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"').toString();
  }
}
