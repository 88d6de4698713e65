package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Images;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tasks killed on purpose (their first attempt fails, on Spark's own retry path): the results are those of a run where
 * nothing failed, no row is lost or repeated, and only the killed partitions run again.
 */
@Timeout(300)
class FaultTest {
  @AfterEach
  void clear() {
    SparkTests.spark().sparkContext().setLocalProperty(PartitionScorer.FAIL, null);
    SparkTests.spark().conf().unset(NeedleSpark.PARTITIONS);
  }

  /** Task attempts the listener saw end: partition to the list of (attempt, successful). */
  static final class Attempts extends SparkListener {
    final Map<Integer, List<Boolean>> byPartition = Collections.synchronizedMap(new TreeMap<>());

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      byPartition.computeIfAbsent(end.taskInfo().index(), k -> Collections.synchronizedList(new ArrayList<>())).add(end.taskInfo().successful());
    }

    /** Waits (the listener bus is asynchronous) until {@code n} attempts have ended. */
    void await(int n) throws InterruptedException {
      for (int i = 0; i < 200 && byPartition.values().stream().mapToInt(List::size).sum() < n; i++) Thread.sleep(50);
    }
  }

  @Test
  void aKilledPartitionIsRetriedAloneAndTheSelectionIsUnchanged(@TempDir Path tmp) throws Exception {
    SparkSession spark = SparkTests.spark();
    Path dir = tmp.resolve("zoo");
    GeneratedZoo.write(dir, 40, 28, 1, 3);
    Zoo zoo = Zoo.open(dir);
    Images task = NeedleSparkTest.task();
    Selector.Config c = NeedleSparkTest.config("knn-loo", "knn-split", "linear");
    spark.conf().set(NeedleSpark.PARTITIONS, "4");
    SparkRunner runner = new SparkRunner(spark);
    Selector.Result clean = runner.run(zoo, task, null, c, null);

    Attempts attempts = new Attempts();
    spark.sparkContext().addSparkListener(attempts);
    spark.sparkContext().setLocalProperty(PartitionScorer.FAIL, "1,3");
    Selector.Result retried;
    try {
      retried = runner.run(zoo, task, tmp.resolve("cache"), c, null);
      attempts.await(6);
    } finally {
      spark.sparkContext().removeSparkListener(attempts);
    }
    assertEquals(clean.scores(), retried.scores(), "every score, exactly, once");
    assertEquals(clean.selection(), retried.selection());
    assertEquals(clean.problems(), retried.problems());
    // partitions 1 and 3 ran twice (a failed attempt, then a good one), 0 and 2 once
    assertEquals(Map.of(0, List.of(true), 1, List.of(false, true), 2, List.of(true), 3, List.of(false, true)), new TreeMap<>(attempts.byPartition));
    // the retries read what their failed attempts had embedded from the executor's cache; nothing else was embedded twice
    Set<String> killed = new HashSet<>();
    List<List<String>> ids = NeedleSpark.experts(spark, zoo.experts(), 4).javaRDD().glom()
        .map(w -> w.stream().map(r -> r.getString(0)).toList()).collect();
    assertEquals(4, ids.size());
    killed.addAll(ids.get(1));
    killed.addAll(ids.get(3));
    assertEquals(zoo.experts().size(), retried.experts().size(), "one inference record per expert");
    for (Selector.ExpertRun r : retried.experts()) assertEquals(killed.contains(r.expert()), r.cached(), r.expert());
  }

  @Test
  void rowsHandedOutByADyingTaskAreNotRepeated(@TempDir Path tmp) throws Exception {
    SparkSession spark = SparkTests.spark();
    Path dir = tmp.resolve("zoo");
    GeneratedZoo.write(dir, 24, 28, 1, 4);
    Zoo zoo = Zoo.open(dir);
    Dataset<Row> experts = NeedleSpark.experts(spark, zoo.experts(), 3);
    Selector.Config c = NeedleSparkTest.config("knn-loo", "linear");
    Images task = NeedleSparkTest.task();
    List<Row> clean = NeedleSpark.score(experts, task, c, null).select("expert", "proxy", "score", "status", "reason").collectAsList();
    // every partition hands out half its rows, then dies; Spark runs it again
    spark.sparkContext().setLocalProperty(PartitionScorer.FAIL, "*");
    List<Row> retried = NeedleSpark.score(experts, task, c, null).select("expert", "proxy", "score", "status", "reason").collectAsList();
    assertEquals(zoo.experts().size() * 2, retried.size());
    assertEquals(retried.size(), new HashSet<>(retried).size(), "no row twice");
    assertEquals(new HashSet<>(clean), new HashSet<>(retried));
    assertEquals(zoo.experts().stream().map(Expert::id).toList(), retried.stream().map(r -> r.getString(0)).distinct().toList(), "in table order");
  }
}
