package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.needle.cli.Main;
import io.needle.zoo.GeneratedZoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark-submit main against {@code needle select} itself: same arguments, a real local cluster, and the outputs
 * must be the same to the byte (ranking.csv, scores.csv) or to the field (selection.json, timings aside).
 */
@Timeout(300)
class SparkSelectTest {
  /**
   * Proxies whose values do not depend on the number of threads: a per-expert difference anywhere (embedding, split,
   * solver) would show in one of them. (LogME and H-score do depend on it, locally too: they are compared at one thread.)
   */
  static final String PROXIES = "knn-loo,knn-split,linear";

  @Test
  void miniVtabTaskRanksAsLocally(@TempDir Path tmp) throws Exception {
    Path out = compare(tmp, "--zoo", SparkTests.MINI_VTAB.resolve("zoo").toString(), "--data",
        SparkTests.MINI_VTAB.resolve("tasks/fashion/train-images-idx3-ubyte.gz").toString(), "--n", "400", "--proxy", PROXIES + ",logme,hscore", "--budget", "2",
        "--strategy", "hybrid", "--threads", "1");
    assertTrue(Files.readString(out.resolve("ranking.csv")).contains("cnn-fashion"), "the bundled zoo was ranked");
  }

  @Test
  void generatedZooOfMoreThan100ExpertsRanksAsLocally(@TempDir Path tmp) throws Exception {
    Path zoo = tmp.resolve("zoo");
    GeneratedZoo.Written w = GeneratedZoo.write(zoo, 110, 28, 1, 14);
    assertTrue(w.experts() >= 110, "experts: " + w.experts());
    Path out = compare(tmp, "--zoo", zoo.toString(), "--data", SparkTests.MINI_VTAB.resolve("tasks/digits/train-images-idx3-ubyte.gz").toString(),
        "--n", "200", "--proxy", PROXIES, "--budget", "3");
    assertEquals(w.experts() * PROXIES.split(",").length + 1, Files.readAllLines(out.resolve("ranking.csv")).size(), "a row per expert and proxy");
  }

  @Test
  void miniVtabSuiteScoresAsLocally(@TempDir Path tmp) throws Exception {
    Path out = compare(tmp, "--zoo", SparkTests.MINI_VTAB.resolve("zoo").toString(), "--data", SparkTests.MINI_VTAB.resolve("tasks").toString(),
        "--n", "200", "--proxy", "knn-loo");
    assertTrue(Files.readAllLines(out.resolve("scores.csv")).size() > 8 * 26, "every task scored");
  }

  /**
   * Runs {@code needle select} and the Spark main with the same arguments (uncached, so both compute everything) and
   * checks they agree.
   *
   * @return the Spark run's output folder
   */
  static Path compare(Path tmp, String... args) throws Exception {
    Path local = tmp.resolve("local"), spark = tmp.resolve("spark");
    int localCode = Main.run(with(args, "select", "--no-cache", "--quiet", "--out", local.toString()));
    int sparkCode = SparkSelect.run(SparkTests::spark, with(args, null, "--no-cache", "--quiet", "--out", spark.toString()));
    assertEquals(localCode, sparkCode, "exit code");
    List<Path> files;
    try (var s = Files.walk(local)) {
      files = s.filter(Files::isRegularFile).map(local::relativize).sorted().toList();
    }
    assertTrue(!files.isEmpty(), "outputs written");
    for (Path f : files) {
      String name = f.getFileName().toString();
      if (name.endsWith(".csv")) assertSameLines(local.resolve(f), spark.resolve(f));
      else if (name.equals("selection.json")) assertEquals(selection(local.resolve(f)), selection(spark.resolve(f)), f.toString());
      else assertTrue(Files.isRegularFile(spark.resolve(f)), f + " written");
    }
    return spark;
  }

  /** The files' lines must be equal; the first differing ones are named. */
  static void assertSameLines(Path expected, Path actual) throws Exception {
    List<String> a = Files.readAllLines(expected), b = Files.readAllLines(actual);
    List<String> diff = new ArrayList<>();
    for (int i = 0; i < Math.max(a.size(), b.size()) && diff.size() < 6; i++) {
      String x = i < a.size() ? a.get(i) : "(none)", y = i < b.size() ? b.get(i) : "(none)";
      if (!x.equals(y)) diff.add("line " + (i + 1) + ": local " + x + " | spark " + y);
    }
    assertEquals(List.of(), diff, expected.getFileName() + " (" + a.size() + " and " + b.size() + " lines)");
  }

  /** selection.json without its timings. */
  static ObjectNode selection(Path f) throws Exception {
    ObjectNode doc = (ObjectNode) new ObjectMapper().readTree(f.toFile());
    doc.remove("seconds");
    return doc;
  }

  static String[] with(String[] args, String command, String... more) {
    List<String> all = new ArrayList<>();
    if (command != null) all.add(command);
    all.addAll(List.of(args));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }
}
