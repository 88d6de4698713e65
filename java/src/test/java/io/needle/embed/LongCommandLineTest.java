package io.needle.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime 1.29 needs stack in proportion to the process's command line when it creates its environment: a JVM
 * started with a long one (a Spark executor's class path, spelt out) used to die of SIGSEGV, exit 139, on the first
 * model load from an ordinary thread. Found running needle-spark's jar on Spark's class path.
 */
class LongCommandLineTest {
  @Test
  void selectRunsInAJvmWithALongCommandLine(@TempDir Path dir) throws Exception {
    String padding = "x".repeat(60_000);  // about 15 MB of stack at that recursion: far past a thread's 1 MB
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "-Dneedle.test.padding=" + padding, "-cp", System.getProperty("java.class.path"), "io.needle.cli.Main", "select",
        "--zoo", Path.of("..", "examples", "fashion-tiny", "zoo").toString(), "--data", Path.of("..", "examples", "fashion-tiny", "images").toString(),
        "--n", "100", "--no-cache", "--quiet");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("child did not finish");
    }
    assertEquals(0, p.exitValue(), Files.readString(dir.resolve("child.log")));
  }
}
