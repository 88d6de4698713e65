package io.needle.spark;

import io.needle.cli.Main;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * {@code needle select} on a Spark cluster, for {@code spark-submit}: the same options, outputs ({@code ranking.csv},
 * {@code selection.json}, {@code report.html}; {@code scores.csv} and a report per task for a folder of tasks) and exit
 * codes, each task's experts spread over the executors by {@link SparkRunner}.
 *
 * <pre>
 * spark-submit --class io.needle.spark.SparkSelect spark/target/needle-spark.jar --zoo /shared/zoo --data /data/task --out out
 * </pre>
 */
public final class SparkSelect {
  private SparkSelect() {}

  /** Runs the command on the session spark-submit configures, stops it, and exits with the command's code. */
  public static void main(String[] args) {
    SparkSession[] started = {null};
    int code;
    try {
      code = run(() -> started[0] = SparkSession.builder().appName("needle select").getOrCreate(), args);
    } finally {
      if (started[0] != null) started[0].stop();
    }
    System.exit(code);
  }

  /**
   * Runs the command on the session {@code spark} gives (asked for only once a task is to be scored).
   *
   * @return the exit code, as {@code needle select}'s
   */
  public static int run(Supplier<SparkSession> spark, String... args) {
    return Main.select("needle-spark", new SparkRunner(spark), args);
  }
}
