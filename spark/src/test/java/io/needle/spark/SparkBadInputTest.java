package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.select.Selector;
import io.needle.zoo.Expert;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad input on a cluster: an error row or a message with README's exit code, and never a job left hanging. */
@Timeout(120)
class SparkBadInputTest {
  @AfterEach
  void clear() {
    SparkTests.spark().sparkContext().setLocalProperty(PartitionScorer.FAIL, null);
  }

  record Run(int code, String err) {}

  /** Runs the Spark main, capturing stderr. */
  static Run main(String... args) {
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      return new Run(SparkSelect.run(SparkTests::spark, args), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(old);
    }
  }

  static String data() {
    return SparkTests.MINI_VTAB.resolve("tasks/cells/train-images-idx3-ubyte.gz").toString();
  }

  @Test
  void emptyZooIsBadInput(@TempDir Path tmp) throws Exception {
    Run r = main("--zoo", tmp.toString(), "--data", data(), "--no-cache", "--quiet");
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("no experts"), r.err());
    Files.writeString(tmp.resolve("broken.onnx"), "not a model");
    r = main("--zoo", tmp.toString(), "--data", data(), "--no-cache", "--quiet");
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("no usable expert"), r.err());
    // the runner itself, for library callers
    Zoo empty = Zoo.open(tmp).filter(io.needle.zoo.Pool.parse("params<0"));
    NeedleException ex = assertThrows(NeedleException.class,
        () -> new SparkRunner(SparkTests.spark()).run(empty, NeedleSparkTest.task(), null, NeedleSparkTest.config("knn-loo"), null));
    assertEquals(NeedleException.Code.BAD_INPUT, ex.code());
  }

  @Test
  void missingTaskDataIsBadInput(@TempDir Path tmp) throws Exception {
    GeneratedZoo.write(tmp, 2, 28, 1, 1);
    Run r = main("--zoo", tmp.toString(), "--data", tmp.resolve("nothing-here").toString(), "--no-cache", "--quiet");
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("nothing-here"), r.err());
  }

  @Test
  void aModelAnExecutorCannotReadFailsAloneNamingTheExecutor(@TempDir Path tmp) throws Exception {
    GeneratedZoo.write(tmp, 6, 28, 1, 2);
    Zoo zoo = Zoo.open(tmp);  // read on the driver...
    Expert gone = zoo.experts().stream().filter(e -> !e.adapter()).findFirst().orElseThrow();
    Files.delete(gone.file());  // ...then gone from the workers' view
    Selector.Result r = new SparkRunner(SparkTests.spark()).run(zoo, NeedleSparkTest.task(), null, NeedleSparkTest.config("knn-loo"), null);
    Score s = r.scores().stream().filter(x -> x.expert().equals(gone.id())).findFirst().orElseThrow();
    assertEquals(Score.Status.FAILED, s.status());
    assertTrue(s.reason().contains("cannot be read on executor"), s.reason());
    assertTrue(r.problems().contains(new Problem(gone.id() + " (" + gone.file().getFileName() + ")",
        "model file " + gone.file() + " cannot be read on executor driver (" + java.net.InetAddress.getLocalHost().getHostName() + ")")), r.problems().toString());
    assertEquals(zoo.experts().size() - 1, r.scores().stream().filter(Score::ok).count(), "the rest are scored");
    assertTrue(!r.selection().picks().isEmpty() && !r.selection().picks().get(0).expert().equals(gone.id()));
  }

  @Test
  void aDeviceNoExecutorHasStopsAtOnceWithExitFour(@TempDir Path tmp) throws Exception {
    GeneratedZoo.write(tmp, 4, 28, 1, 1);
    long t0 = System.nanoTime();
    Run r = main("--zoo", tmp.toString(), "--data", data(), "--n", "100", "--device", "cuda", "--no-cache", "--quiet");
    assertEquals(4, r.code(), r.err());
    assertTrue(r.err().toLowerCase().contains("cuda"), r.err());
    assertTrue((System.nanoTime() - t0) / 1e9 < 60, "no retries of a configuration error");
  }

  @Test
  void halvingIsAUsageErrorOnSpark(@TempDir Path tmp) throws Exception {
    GeneratedZoo.write(tmp, 4, 28, 1, 1);
    Run r = main("--zoo", tmp.toString(), "--data", data(), "--n", "100", "--halving", "--no-cache", "--quiet");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--halving"), r.err());
  }

  @Test
  void aTaskThatFailsEveryAttemptEndsTheJobWithAnError(@TempDir Path tmp) throws Exception {
    GeneratedZoo.write(tmp, 4, 28, 1, 1);
    SparkTests.spark().sparkContext().setLocalProperty(PartitionScorer.FAIL, "0:99");
    Run r = main("--zoo", tmp.toString(), "--data", data(), "--n", "100", "--no-cache", "--quiet");
    assertEquals(5, r.code(), r.err());
    assertTrue(r.err().contains("the Spark job failed"), r.err());
  }
}
