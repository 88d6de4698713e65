package io.needle.spark;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.Images;
import io.needle.proxy.Proxy;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.spark.SparkJobInfo;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * One task's selection on a Spark cluster, as {@code needle select} computes it locally: the pool is cut into windows of
 * experts ({@link NeedleSpark#experts(SparkSession, Zoo)}), the task's images are broadcast once, each executor embeds
 * and scores its windows through the local pipeline, and the driver collects the rows, checks that every expert has
 * exactly one row per proxy, and applies the strategy once over all of them ({@link Selector#pick}). Pass it to
 * {@link io.needle.cli.Main#select} or {@link io.needle.Suite#run} in place of {@link Selector#LOCAL}.
 *
 * <p>The result's {@code seconds} hold the executors' stage times summed over tasks (embed, cache-read, score-load, one
 * per proxy), then {@code spark} (the job's wall time) and {@code select}; {@code experts} lists what each executor
 * embedded or read from its cache.
 */
public final class SparkRunner implements Selector.Runner {
  private final Supplier<SparkSession> session;
  private SparkSession spark;

  /** Runs on this session. */
  public SparkRunner(SparkSession spark) {
    this(() -> spark);
  }

  /** Runs on the session {@code session} gives when the first selection starts (so {@code --help} starts no cluster). */
  public SparkRunner(Supplier<SparkSession> session) {
    this.session = session;
  }

  private synchronized SparkSession spark() {
    if (spark == null) spark = session.get();
    return spark;
  }

  /**
   * @param cacheDir the task's cache folder as executors see it: each opens it, or a sibling of its own when another
   *     process holds it (see {@link NeedleSpark#score(org.apache.spark.sql.Dataset, Images, Selector.Config, Path, Path)})
   * @throws NeedleException INVALID_ARGUMENT with successive halving (not distributed yet); BAD_INPUT for an empty pool; the code of a configuration error every executor reports
   *     (BACKEND_UNAVAILABLE, INVALID_ARGUMENT); IO when the Spark job fails (a task failed {@code spark.task.maxFailures} times)
   */
  @Override
  public Selector.Result run(Zoo zoo, Images images, Path cacheDir, Selector.Config c, Selector.Progress progress) {
    if (c.halving() != null)  // its rounds rank the whole pool between inference steps: not a per-expert computation
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "--halving is not available on Spark yet: run without it");
    List<Expert> pool = zoo.experts();
    if (pool.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, zoo.dir() + ": no experts to score");
    SparkSession s = spark();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(s.sparkContext());
    JobSpec job = JobSpec.of(c, cacheDir, zoo.selectors() != null ? zoo.dir() : null);
    int partitions = NeedleSpark.partitions(s, pool.size());
    long t0 = System.nanoTime();
    Broadcast<TaskImages> task = jsc.broadcast(TaskImages.of(images));
    List<PartitionScorer.Part> parts;
    try {
      JavaRDD<Row> experts = NeedleSpark.experts(s, pool, partitions).javaRDD();
      JavaRDD<PartitionScorer.Part> scored = experts.mapPartitions(
          (FlatMapFunction<java.util.Iterator<Row>, PartitionScorer.Part>) rows -> PartitionScorer.part(rows, task.value(), job));
      jsc.setJobDescription("needle select: " + pool.size() + " experts on " + images.source());
      parts = collect(jsc, scored.collectAsync(), scored.getNumPartitions(), pool.size(), progress);
    } finally {
      jsc.setJobDescription(null);
      task.destroy();
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    return Selector.pick(pool, merge(zoo, images, c, parts, wall), c);
  }

  /** Waits for the job, telling {@code progress} how far it is (finished partitions, counted in experts). */
  private static List<PartitionScorer.Part> collect(JavaSparkContext jsc, JavaFutureAction<List<PartitionScorer.Part>> f, int partitions,
      int experts, Selector.Progress progress) {
    try {
      while (true) {
        try {
          return f.get(250, TimeUnit.MILLISECONDS);
        } catch (TimeoutException ex) {
          if (progress == null) continue;
          int done = 0;
          for (int id : f.jobIds()) {
            SparkJobInfo j = jsc.statusTracker().getJobInfo(id);
            if (j == null) continue;
            for (int stage : j.stageIds()) {
              SparkStageInfo st = jsc.statusTracker().getStageInfo(stage);
              if (st != null) done = Math.max(done, st.numCompletedTasks());
            }
          }
          progress.update((int) ((long) experts * done / partitions), experts, done + "/" + partitions + " partitions", 0, 0);
        }
      }
    } catch (ExecutionException ex) {
      Throwable cause = ex.getCause() == null ? ex : ex.getCause();
      throw new NeedleException(NeedleException.Code.IO, "the Spark job failed: " + firstLine(cause.getMessage()), cause);
    } catch (InterruptedException ex) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new NeedleException(NeedleException.Code.IO, "interrupted", ex);
    }
  }

  private static String firstLine(String s) {
    if (s == null) return "";
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /**
   * The partitions' rows as one {@link Selector.Scored}, in pool order as a local run gives them.
   *
   * @throws IllegalStateException if an expert does not have exactly one row per proxy (rows lost or repeated: a bug)
   */
  static Selector.Scored merge(Zoo zoo, Images images, Selector.Config c, List<PartitionScorer.Part> parts, double wall) {
    List<PartitionScorer.Part> inOrder = new ArrayList<>(parts);
    inOrder.sort(Comparator.comparingInt(PartitionScorer.Part::partition));
    inOrder.forEach(PartitionScorer.Part::throwIfFatal);
    List<String> proxies = c.proxies().stream().map(Proxy::id).toList();
    Map<String, Integer> order = new HashMap<>();
    for (Expert e : zoo.experts()) order.put(e.id(), order.size());
    Map<String, Score> rows = new LinkedHashMap<>();
    for (PartitionScorer.Part p : inOrder)
      for (PartitionScorer.ScoreRow r : p.scores()) {
        Score s = r.toScore();
        if (!order.containsKey(s.expert()) || !proxies.contains(s.proxy()))
          throw new IllegalStateException("the cluster returned a row for " + s.expert() + "/" + s.proxy() + ", which is not in the pool");
        if (rows.put(s.expert() + "\n" + s.proxy(), s) != null)
          throw new IllegalStateException("the cluster returned " + s.expert() + "/" + s.proxy() + " twice");
      }
    for (Expert e : zoo.experts())
      for (String proxy : proxies)
        if (!rows.containsKey(e.id() + "\n" + proxy)) throw new IllegalStateException("the cluster returned no " + proxy + " row for " + e.id());
    List<Score> scores = new ArrayList<>(rows.values());
    scores.sort(Comparator.comparingInt((Score s) -> order.get(s.expert())).thenComparingInt(s -> proxies.indexOf(s.proxy())));
    // problems as a local run lists them: the zoo's, the images', then each partition's (a zoo-wide one, such as an
    // unreadable selectors.json, is met by every partition and listed once)
    LinkedHashSet<Problem> problems = new LinkedHashSet<>(zoo.problems());
    problems.addAll(images.problems());
    List<Selector.ExpertRun> runs = new ArrayList<>();
    Map<String, Double> seconds = new LinkedHashMap<>();
    LinkedHashSet<String> backends = new LinkedHashSet<>();
    for (PartitionScorer.Part p : inOrder) {
      p.problems().forEach(x -> problems.add(x.toProblem()));
      p.runs().forEach(x -> runs.add(x.toRun()));
      p.seconds().forEach((k, v) -> seconds.merge(k, v, Double::sum));
      if (p.backend() != null) backends.add(p.backend());
    }
    seconds.put("spark", wall);
    return new Selector.Scored(List.copyOf(scores), List.copyOf(problems), List.copyOf(runs), java.util.Collections.unmodifiableMap(seconds),
        backends.isEmpty() ? "none" : String.join(",", backends));
  }
}
