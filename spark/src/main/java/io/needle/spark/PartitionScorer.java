package io.needle.spark;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.Images;
import io.needle.proxy.Proxy;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import io.needle.zoo.Selectors;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The executor's side of a distributed selection: one partition (a window of experts) goes through the same embed and
 * score path as a local run ({@link Selector#score}), with this executor's embedding cache. What comes back depends only
 * on the partition's experts and the task, so a retried task returns what its failed attempt would have.
 */
final class PartitionScorer {
  private PartitionScorer() {}

  /**
   * Test hook, a Spark local property set on the driver ({@code setLocalProperty}): {@code P[:A]}, where P is a
   * comma-separated list of partition ids or {@code *}, fails the first A attempts (default 1) of those partitions once
   * their work is done (the runner's) or half their rows are out (the Dataset call's), so tests can show that a retry
   * neither loses nor repeats a row, and that a task failing every attempt ends the job with an error.
   */
  static final String FAIL = "needle.test.fail";

  /** One score, as it travels back to the driver. */
  record ScoreRow(String expert, String proxy, double score, String status, String reason) implements Serializable {
    static ScoreRow of(Score s) {
      return new ScoreRow(s.expert(), s.proxy(), s.score(), s.status().id(), s.reason());
    }

    Score toScore() {
      return new Score(expert, proxy, score, Score.Status.parse(status), reason);
    }
  }

  /** One expert's inference facts ({@link Selector.ExpertRun}). */
  record RunRow(String expert, int dimension, boolean cached, double seconds, String device) implements Serializable {
    Selector.ExpertRun toRun() {
      return new Selector.ExpertRun(expert, dimension, cached, seconds, device);
    }
  }

  /** A {@link Problem}, as it travels back to the driver. */
  record ProblemRow(String subject, String message) implements Serializable {
    static ProblemRow of(Problem p) {
      return new ProblemRow(p.subject(), p.message());
    }

    Problem toProblem() {
      return new Problem(subject, message);
    }
  }

  /**
   * What one partition gives back.
   *
   * @param fatal the code of a configuration error no retry can mend (a device or backend that is not there), or null
   * @param fatalMessage its message
   */
  record Part(int partition, List<ScoreRow> scores, List<ProblemRow> problems, List<RunRow> runs, Map<String, Double> seconds,
      String backend, NeedleException.Code fatal, String fatalMessage) implements Serializable {
    /** @throws NeedleException the configuration error, if the partition met one */
    void throwIfFatal() {
      if (fatal != null) throw new NeedleException(fatal, fatalMessage);
    }
  }

  /** The runner's function: a partition's experts in, one {@link Part} out. */
  static Iterator<Part> part(Iterator<Row> rows, TaskImages task, JobSpec job) {
    Part p = score(rows, task, job);
    if (failThisAttempt()) throw new IllegalStateException(FAIL + ": partition " + p.partition() + " fails attempt " + TaskContext.get().attemptNumber());
    return List.of(p).iterator();
  }

  /** The Dataset call's function: a partition's experts in, their score rows ({@link NeedleSpark#SCORES}) out. */
  static Iterator<Row> rows(Iterator<Row> rows, TaskImages task, JobSpec job) {
    Part p = score(rows, task, job);
    p.throwIfFatal();
    Map<String, RunRow> runs = new LinkedHashMap<>();
    for (RunRow r : p.runs()) runs.put(r.expert(), r);
    List<Row> out = new ArrayList<>();
    for (ScoreRow s : p.scores()) {
      RunRow r = runs.get(s.expert());
      out.add(RowFactory.create(s.expert(), s.proxy(), s.status().equals("ok") ? s.score() : null, s.status(), s.reason(),
          r == null ? null : r.dimension(), r == null ? null : r.cached(), r == null ? null : r.seconds(), r == null ? null : r.device()));
    }
    if (!failThisAttempt()) return out.iterator();
    Iterator<Row> it = out.iterator();
    int half = out.size() / 2;
    return new Iterator<>() {  // hands out half the rows, then dies, as an executor lost mid-partition would
      int given;

      @Override
      public boolean hasNext() {
        return true;
      }

      @Override
      public Row next() {
        if (given++ == half || !it.hasNext())
          throw new IllegalStateException(FAIL + ": partition " + p.partition() + " fails attempt " + TaskContext.get().attemptNumber() + " after " + half + " rows");
        return it.next();
      }
    };
  }

  private static boolean failThisAttempt() {
    TaskContext ctx = TaskContext.get();
    String spec = ctx == null ? null : ctx.getLocalProperty(FAIL);
    if (spec == null) return false;
    String[] parts = spec.split(":");
    int attempts = parts.length > 1 ? Integer.parseInt(parts[1]) : 1;
    return ctx.attemptNumber() < attempts && (parts[0].equals("*") || List.of(parts[0].split(",")).contains(String.valueOf(ctx.partitionId())));
  }

  /** Scores one partition's experts; rows that are not usable experts, or whose model this executor cannot read, are failed rows. */
  static Part score(Iterator<Row> rows, TaskImages task, JobSpec job) {
    TaskContext ctx = TaskContext.get();
    int partition = ctx == null ? 0 : ctx.partitionId();
    String executor = SparkEnv.get() == null ? "driver" : SparkEnv.get().executorId();
    Selector.Config cfg = job.config(ctx == null ? 0 : ctx.cpus());
    List<String> proxies = cfg.proxies().stream().map(Proxy::id).toList();
    List<Expert> pool = new ArrayList<>();
    List<Score> early = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    for (int i = 0; rows.hasNext(); i++) {
      Row r = rows.next();
      Expert e;
      try {
        e = ExpertRows.expert(r);
      } catch (RuntimeException ex) {  // a bad row fails alone, as a bad manifest entry does
        String id = ExpertRows.idOrNull(r);
        String subject = id != null && !id.isBlank() ? id : "row " + (i + 1) + " of partition " + partition;
        String why = ex instanceof NeedleException ? ex.getMessage() : "unreadable expert row: " + ex;
        problems.add(new Problem(subject, why));
        for (String proxy : proxies) early.add(Score.failed(subject, proxy, why.startsWith(subject) ? why : subject + ": " + why));
        continue;
      }
      if (!Files.isReadable(e.file())) {  // say where: the file may well exist on the driver
        String why = "model file " + e.file() + " cannot be read on executor " + executor + " (" + host() + ")";
        problems.add(new Problem(e.id() + " (" + e.file().getFileName() + ")", why));
        for (String proxy : proxies) early.add(Score.failed(e.id(), proxy, e.id() + " (" + e.file().getFileName() + "): " + why));
        continue;
      }
      pool.add(e);
    }
    List<ScoreRow> scores = new ArrayList<>(early.stream().map(ScoreRow::of).toList());
    List<RunRow> runs = new ArrayList<>();
    Map<String, Double> seconds = new LinkedHashMap<>();
    String backend = null;
    if (!pool.isEmpty()) {
      Selectors selectors = null;
      if (job.zooDir != null && cfg.proxies().stream().anyMatch(p -> p.needs().contains(Proxy.Need.TASK_MODEL))) {
        try {
          selectors = Selectors.read(Path.of(job.zooDir));
        } catch (NeedleException ex) {
          problems.add(new Problem(Selectors.FILE, ex.getMessage()));
        }
      }
      Images images = task.images();
      Selector.Scored s;
      try (ExecutorCaches.Lease cache = ExecutorCaches.acquire(job.cacheDir, executor)) {
        s = Selector.score(pool, List.of(), selectors, images, cache.cache(), cfg, null);
      } catch (NeedleException ex) {
        // the same answer on every attempt and executor: report it instead of failing the task until Spark gives up
        if (ex.code() == NeedleException.Code.BACKEND_UNAVAILABLE || ex.code() == NeedleException.Code.INVALID_ARGUMENT)
          return new Part(partition, List.of(), List.of(), List.of(), Map.of(), null, ex.code(), ex.getMessage());
        throw ex;
      }
      s.scores().forEach(x -> scores.add(ScoreRow.of(x)));
      problems.addAll(s.problems());
      s.experts().forEach(x -> runs.add(new RunRow(x.expert(), x.dimension(), x.cached(), x.seconds(), x.device())));
      seconds.putAll(s.seconds());
      backend = s.backend();
    }
    return new Part(partition, scores, new ArrayList<>(problems.stream().map(ProblemRow::of).toList()), runs, seconds, backend, null, null);
  }

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException ex) {
      return "unknown host";
    }
  }
}
