package io.needle.spark;

import io.needle.data.Images;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Needle as a Spark library: experts as a {@code Dataset<Row>} in, scores as a {@code Dataset<Row>} out, so a pipeline
 * can filter the experts with its own tables and join the scores back.
 *
 * <pre>{@code
 * Dataset<Row> experts = NeedleSpark.experts(spark, Zoo.open(Path.of("/shared/zoo")));
 * Images task = Images.open(Path.of("task")).subsample(1000, 0);
 * Dataset<Row> scores = NeedleSpark.score(experts.where("parameters < 25000000"), task, config, Path.of("/local/needle-cache"));
 * scores.where("proxy = 'knn-loo' AND status = 'ok'").orderBy(desc("score")).show();
 * }</pre>
 *
 * <p>Each partition of the experts table is one task: its experts go through the local pipeline on an executor
 * ({@link Selector#score}: ONNX Runtime, the executor's embedding cache, the proxies on the native backend), so every
 * score equals the local run's. To pick with a strategy over the whole pool, use {@link SparkRunner} (or the
 * spark-submit main, {@link SparkSelect}), which applies it once on the driver.
 */
public final class NeedleSpark {
  private NeedleSpark() {}

  /**
   * The experts table: {@code id} and {@code path} (the ONNX file, at a path every executor can read) are required;
   * the rest follow {@code zoo.json}: {@code input}, {@code output}, {@code adapter_input}, {@code adapter_index},
   * {@code logits}, {@code preprocess} (a struct of {@code channels}, {@code resize}, {@code crop}, {@code mean},
   * {@code std}, {@code layout}; null for the defaults) and the metadata {@code architecture}, {@code parameters},
   * {@code dimension}, {@code upstream}, {@code upstream_size}, {@code score}, {@code tags}, {@code parent},
   * {@code ingredients}. A table with other columns,
   * or without the optional ones, works as it is: columns are read by name. Ids must be unique.
   */
  public static final StructType EXPERTS = ExpertRows.SCHEMA;

  /**
   * The scores table: one row per expert and proxy. {@code expert}, {@code proxy}, {@code score} (null unless ok),
   * {@code status} (ok, undefined or failed), {@code reason} (why not ok: a failed expert's rows carry its error) as in
   * {@code needle score}'s CSV; then the expert's inference facts, null when it failed: {@code dimension},
   * {@code cached} (read from the executor's cache), {@code seconds} (inference or cache read) and {@code device}.
   */
  public static final StructType SCORES = new StructType(new StructField[] {
      DataTypes.createStructField("expert", DataTypes.StringType, false), DataTypes.createStructField("proxy", DataTypes.StringType, false),
      DataTypes.createStructField("score", DataTypes.DoubleType, true), DataTypes.createStructField("status", DataTypes.StringType, false),
      DataTypes.createStructField("reason", DataTypes.StringType, true), DataTypes.createStructField("dimension", DataTypes.IntegerType, true),
      DataTypes.createStructField("cached", DataTypes.BooleanType, true), DataTypes.createStructField("seconds", DataTypes.DoubleType, true),
      DataTypes.createStructField("device", DataTypes.StringType, true)});

  /**
   * The Spark setting that fixes how many partitions (tasks) {@link #experts(SparkSession, Zoo)} cuts a pool into; by
   * default 4 per core of the cluster ({@code defaultParallelism}), so a slow window does not hold up the job's end.
   */
  public static final String PARTITIONS = "spark.needle.partitions";

  /** @return the zoo's experts as an {@link #EXPERTS} table, in windows of manifest order ({@link #PARTITIONS}) */
  public static Dataset<Row> experts(SparkSession spark, Zoo zoo) {
    return experts(spark, zoo.experts(), partitions(spark, zoo.experts().size()));
  }

  /**
   * @return the experts as an {@link #EXPERTS} table of at most {@code partitions} partitions, each a window of consecutive
   *     experts; the adapters of one model file stay in one window, so the model is loaded once
   */
  public static Dataset<Row> experts(SparkSession spark, List<Expert> experts, int partitions) {
    if (partitions < 1) throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, "partitions must be at least 1, got " + partitions);
    int target = Math.max(1, (experts.size() + partitions - 1) / partitions);
    List<List<Row>> windows = new ArrayList<>();
    List<Row> w = new ArrayList<>();
    for (int i = 0; i < experts.size(); i++) {
      Expert e = experts.get(i);
      w.add(ExpertRows.row(e));
      boolean sameModelNext = i + 1 < experts.size() && experts.get(i + 1).file().equals(e.file());
      if (w.size() >= target && !sameModelNext) {
        windows.add(w);
        w = new ArrayList<>();
      }
    }
    if (!w.isEmpty()) windows.add(w);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    // one window per slice: parallelize cuts a list of k elements into k slices of one element each
    JavaRDD<Row> rows = jsc.parallelize(windows, Math.max(1, windows.size())).flatMap((FlatMapFunction<List<Row>, Row>) List::iterator);
    return spark.createDataFrame(rows, EXPERTS);
  }

  /** @return how many partitions {@link #experts(SparkSession, Zoo)} makes of {@code experts} experts */
  static int partitions(SparkSession spark, int experts) {
    String set = spark.conf().get(PARTITIONS, null);
    int p;
    try {
      p = set != null ? Integer.parseInt(set.trim()) : 4 * spark.sparkContext().defaultParallelism();
    } catch (NumberFormatException ex) {
      throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, PARTITIONS + " must be a positive integer, not '" + set + "'");
    }
    if (p < 1) throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, PARTITIONS + " must be a positive integer, not " + p);
    return Math.max(1, Math.min(p, experts));
  }

  /** {@link #score(Dataset, Images, Selector.Config, Path, Path)} without a zoo's selectors (epn and kl are then undefined). */
  public static Dataset<Row> score(Dataset<Row> experts, Images task, Selector.Config config, Path cacheDir) {
    return score(experts, task, config, cacheDir, null);
  }

  /**
   * Scores every expert of the table on the task, one Spark task per partition; lazy, like any transformation (persist
   * the result to use it twice without computing it twice). The task's images are broadcast once; workers need no
   * access to the dataset. Each row depends only on its expert and the task, so a retried Spark task returns the same
   * rows, and the rows of a failed attempt never reach the result.
   *
   * @param experts an {@link #EXPERTS} table (or any table with those columns)
   * @param config inference and scoring as for a local run: device, threads ({@code 0} means the task's
   *     {@code spark.task.cpus}), image batch, backend, proxies and their settings; its strategy, budget and halving are not used
   * @param cacheDir the task's embedding cache folder as executors see it (each executor opens it, or a sibling of its
   *     own when another process holds it), or null for none
   * @param selectorsZoo a zoo folder whose {@code selectors/selectors.json} executors read for epn and kl, or null
   * @return a {@link #SCORES} table
   */
  public static Dataset<Row> score(Dataset<Row> experts, Images task, Selector.Config config, Path cacheDir, Path selectorsZoo) {
    JobSpec job = JobSpec.of(config, cacheDir, selectorsZoo);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(experts.sparkSession().sparkContext());
    Broadcast<TaskImages> images = jsc.broadcast(TaskImages.of(task));
    return experts.mapPartitions((MapPartitionsFunction<Row, Row>) rows -> PartitionScorer.rows(rows, images.value(), job), Encoders.row(SCORES));
  }
}
