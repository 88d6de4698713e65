package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.cli.Main;
import io.needle.zoo.GeneratedZoo;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The application jar ({@code spark/target/needle-spark.jar}) in a JVM of its own with Spark's jars and nothing else, its
 * class path spelt out on the command line, as spark-submit starts a driver (and a cluster an executor): the jar carries
 * all Needle needs beside Spark, runs on Spark's Arrow, Jackson and protobuf, and ranks as {@code needle select} does.
 */
class SparkSubmitIT {
  /** What the application jar holds: these must not come from the class path. */
  static final List<String> SHADED = List.of("/io/needle/", "/com/microsoft/onnxruntime/", "/org/bytedeco/", "/info/picocli/", "/me/tongfei/",
      "/org/jline/", "/org/ejml/", "/org/apache/commons/commons-csv/", "/org/tribuo/");

  @Test
  void theApplicationJarRunsOnSparksClassPath(@TempDir Path tmp) throws Exception {
    Path jar = Path.of(System.getProperty("needle.spark.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " (mvn package builds it)");
    List<String> spark = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String unix = e.replace(File.separatorChar, '/');
      if (!unix.endsWith(".jar") || unix.contains("/target/") || SHADED.stream().anyMatch(unix::contains)) continue;
      spark.add(e);
    }
    assertTrue(spark.stream().anyMatch(e -> e.contains("spark-core")), "Spark's jars: " + spark);
    GeneratedZoo.write(tmp.resolve("zoo"), 12, 28, 1, 9);
    List<String> args = List.of("--zoo", tmp.resolve("zoo").toString(), "--data", SparkTests.MINI_VTAB.resolve("tasks/digits/train-images-idx3-ubyte.gz").toString(),
        "--n", "200", "--proxy", "knn-loo,linear", "--no-cache", "--quiet");

    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(Arrays.asList(System.getProperty("needle.spark.jvmOptions").trim().split("\\s+")));
    cmd.addAll(List.of("-Dspark.master=local[2]", "-Dspark.ui.enabled=false", "-Dspark.driver.host=127.0.0.1",
        "-cp", jar + File.pathSeparator + String.join(File.pathSeparator, spark), "io.needle.spark.SparkSelect"));
    cmd.addAll(args);
    cmd.addAll(List.of("--out", tmp.resolve("spark").toString()));
    assertTrue(String.join(" ", cmd).length() > 16_000, "a command line as long as a cluster's");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("spark-submit stand-in did not finish: " + Files.readString(tmp.resolve("child.log")));
    }
    assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("child.log")));

    List<String> local = new ArrayList<>(List.of("select"));
    local.addAll(args);
    local.addAll(List.of("--out", tmp.resolve("local").toString()));
    assertEquals(0, Main.run(local.toArray(String[]::new)));
    assertEquals(Files.readString(tmp.resolve("local/ranking.csv")), Files.readString(tmp.resolve("spark/ranking.csv")));
  }
}
