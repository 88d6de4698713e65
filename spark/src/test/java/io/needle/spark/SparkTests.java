package io.needle.spark;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** The tests' one Spark session: a real local cluster, shared by every test class of the run (Spark allows one per JVM). */
final class SparkTests {
  private SparkTests() {}

  /** The bundled mini-VTAB benchmark. */
  static final Path MINI_VTAB = Path.of("..", "examples", "mini-vtab").toAbsolutePath().normalize();

  private static SparkSession spark;

  /**
   * {@code local[2,3]}: two executor threads, and a failed task is tried up to 3 times (local mode otherwise never
   * retries), as {@code spark.task.maxFailures} allows on a cluster.
   */
  static synchronized SparkSession spark() {
    if (spark == null)
      spark = SparkSession.builder().master("local[2,3]").appName("needle-spark tests").config("spark.ui.enabled", "false")
          .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    return spark;
  }
}
