package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Score;
import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import io.needle.zoo.Expert;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The library call: experts table in, scores table out, equal to a local run's scores row for row. */
@Timeout(300)
class NeedleSparkTest {
  static Images task() {
    return Images.open(SparkTests.MINI_VTAB.resolve("tasks/cells/train-images-idx3-ubyte.gz")).subsample(200, 0);
  }

  static Selector.Config config(String... proxies) {
    return new Selector.Config(Device.AUTO, 0, 32, Backends.Kind.AUTO, Proxies.parse(List.of(proxies)), Settings.defaults(),
        Strategies.get("task-aware"), 1);
  }

  /** expert/proxy to score row. */
  static Map<String, Row> byKey(List<Row> rows) {
    Map<String, Row> m = new HashMap<>();
    for (Row r : rows) assertNull(m.put(r.getString(0) + "/" + r.getString(1), r), "one row per expert and proxy: " + r);
    return m;
  }

  @Test
  void filteredExpertsScoreAsLocallyAndJoinBack(@TempDir Path tmp) {
    SparkSession spark = SparkTests.spark();
    Zoo zoo = Zoo.open(SparkTests.MINI_VTAB.resolve("zoo"));
    Dataset<Row> experts = NeedleSpark.experts(spark, zoo).where("architecture = 'cnn-w16' AND NOT array_contains(tags, 'baseline')");
    Selector.Config c = config("knn-loo", "knn-split", "linear");
    Images task = task();
    Dataset<Row> scores = NeedleSpark.score(experts, task, c, tmp.resolve("cache"));
    assertEquals(NeedleSpark.SCORES, scores.schema());
    List<Row> rows = scores.collectAsList();

    List<String> ids = experts.select("id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList();
    List<Expert> pool = zoo.experts().stream().filter(e -> ids.contains(e.id())).toList();
    assertTrue(pool.size() >= 10 && pool.size() < zoo.experts().size(), "the filter kept " + pool.size());
    List<Score> local = Selector.run(pool, List.of(), null, task, null, c, null).scores();
    Map<String, Row> got = byKey(rows);
    assertEquals(local.size(), got.size());
    for (Score s : local) {
      Row r = got.get(s.expert() + "/" + s.proxy());
      assertNotNull(r, s.expert() + "/" + s.proxy());
      assertEquals(s.status().id(), r.getAs("status"));
      assertEquals(s.score(), (double) r.getAs("score"), 0.0, s.expert() + "/" + s.proxy());  // exactly
      assertEquals(64, (int) r.getAs("dimension"));
      assertFalse((boolean) r.getAs("cached"));
    }

    // a pipeline joins the scores back to its own table; a second run reads every embedding from the executors' cache
    Dataset<Row> joined = NeedleSpark.score(experts, task, c, tmp.resolve("cache"))
        .join(experts.select("id", "architecture"), org.apache.spark.sql.functions.col("expert").equalTo(org.apache.spark.sql.functions.col("id")))
        .where("proxy = 'knn-loo'");
    List<Row> again = joined.collectAsList();
    assertEquals(pool.size(), again.size());
    for (Row r : again) {
      assertTrue((boolean) r.getAs("cached"), "from the cache: " + r);
      assertEquals(got.get(r.<String>getAs("expert") + "/knn-loo").<Double>getAs("score"), r.<Double>getAs("score"));
      assertEquals("cnn-w16", r.getAs("architecture"));
    }
  }

  @Test
  void badRowsAreFailedRowsAndTheRestIsScored(@TempDir Path tmp) throws Exception {
    SparkSession spark = SparkTests.spark();
    Path zoo = tmp.resolve("zoo");
    GeneratedZoo.write(zoo, 3, 28, 1, 5);
    Expert good = Zoo.open(zoo).experts().get(0);
    Files.writeString(tmp.resolve("corrupt.onnx"), "not a model");
    StructType minimal = new StructType().add("id", DataTypes.StringType).add("path", DataTypes.StringType).add("team", DataTypes.StringType);
    Dataset<Row> experts = spark.createDataFrame(List.of(
        RowFactory.create(good.id(), good.file().toString(), "a"),
        RowFactory.create("missing", tmp.resolve("missing.onnx").toString(), "b"),
        RowFactory.create("corrupt", tmp.resolve("corrupt.onnx").toString(), "c"),
        RowFactory.create("no-path", null, "d"),
        RowFactory.create(null, good.file().toString(), "e")), minimal).repartition(2);
    Map<String, Row> got = byKey(NeedleSpark.score(experts, task(), config("knn-loo"), null).collectAsList());
    assertEquals(5, got.size(), got.keySet().toString());
    assertEquals("ok", got.get(good.id() + "/knn-loo").getAs("status"));
    for (String bad : List.of("missing", "corrupt", "no-path")) {
      Row r = got.get(bad + "/knn-loo");
      assertEquals("failed", r.getAs("status"), bad);
      assertNull(r.getAs("score"));
      assertTrue(r.<String>getAs("reason").startsWith(bad), r.<String>getAs("reason"));
    }
    assertTrue(got.get("missing/knn-loo").<String>getAs("reason").contains("cannot be read on executor"), got.get("missing/knn-loo").<String>getAs("reason"));
    assertTrue(got.get("no-path/knn-loo").<String>getAs("reason").contains("no model path"));
    Row noId = got.entrySet().stream().filter(e -> e.getKey().startsWith("row ")).findFirst().orElseThrow().getValue();
    assertTrue(noId.<String>getAs("reason").contains("no expert id"), noId.toString());
  }

  @Test
  void noExpertsNoRows() {
    SparkSession spark = SparkTests.spark();
    Dataset<Row> none = spark.createDataFrame(List.of(), NeedleSpark.EXPERTS);
    assertEquals(0, NeedleSpark.score(none, task(), config("knn-loo"), null).count());
  }
}
