package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code needle select} end to end on the bundled plain zoo and ImageFolder (examples/fashion-tiny). */
class SelectCommandTest {
  static final Path EXAMPLE = Path.of("..", "examples", "fashion-tiny");
  @TempDir Path dir;

  /** expert -> knn-loo from ranking.csv */
  static Map<String, Double> knnLoo(Path rankingCsv) throws Exception {
    Map<String, Double> out = new HashMap<>();
    List<String> lines = Files.readAllLines(rankingCsv);
    assertEquals("expert,proxy,score,status,reason,rank", lines.get(0));
    for (String l : lines.subList(1, lines.size())) {
      String[] f = l.split(",");
      if (f[1].equals("knn-loo")) out.put(f[0], Double.parseDouble(f[2]));
    }
    return out;
  }

  /** The Done-when check: knn-loo of the four plain ONNX experts equals the PyTorch + scikit-learn reference. */
  @Test
  void plainZooOnImageFolderMatchesTheReference() throws Exception {
    Path out = dir.resolve("out");
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--proxy", "knn-loo,knn-split,linear", "--cache", dir.resolve("cache").toString(), "--out", out.toString(), "--device", "cpu");
    assertEquals(Main.OK, r.code(), r.err());
    Map<String, Double> got = knnLoo(out.resolve("ranking.csv"));
    List<String> ref = Files.readAllLines(EXAMPLE.resolve("reference/knn_loo.csv"));
    assertEquals(4, ref.size() - 1);
    for (String l : ref.subList(1, ref.size())) {
      String[] f = l.split(",");
      assertEquals(Double.parseDouble(f[1]), got.get(f[0]), 0.0005, f[0]);
    }
    JsonNode sel = new ObjectMapper().readTree(out.resolve("selection.json").toFile());
    assertEquals("mlp-trained", sel.get("picks").get(0).get("expert").asText());
    assertEquals(500, sel.get("task").get("examples").asInt());
    assertTrue(r.out().contains("pick (task-aware, budget 1): mlp-trained"), r.out());
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("<svg") && html.contains("mlp-trained") && html.contains("Time per stage"));
    assertFalse(html.contains("http://") || html.contains("https://") || html.contains("<script") || html.contains("src="),
        "report.html must open without a network");
  }

  /**
   * Kills a running {@code needle select} (SIGKILL, in a child JVM) after it has finished some experts, runs it
   * again, and checks that the finished experts were not recomputed (their files are untouched), nothing is
   * left half-written, and the ranking equals an uninterrupted run's.
   */
  @Test
  void killedRunResumesWithoutRecomputingAndGivesTheSameRanking() throws Exception {
    Path cache = dir.resolve("cache");
    String[] args = {"select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--cache", cache.toString(), "--device", "cpu", "--quiet"};
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Dneedle.test.pauseAfterExpertMs=1500", "-cp", System.getProperty("java.class.path"),
        "io.needle.cli.Main"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (arrows(cache).isEmpty() && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    Map<Path, FileTime> finished = new HashMap<>();
    for (Path f : arrows(cache)) finished.put(f, Files.getLastModifiedTime(f));
    assertFalse(finished.isEmpty(), "the child finished no expert before the kill: " + Files.readString(dir.resolve("child.log")));
    assertTrue(finished.size() < 4, "the kill came after the end; the pause hook did not hold it");

    Thread.sleep(1100);  // so a rewrite would show in the modification time
    ScoreCommandTest.Run resumed = ScoreCommandTest.run(args);
    assertEquals(Main.OK, resumed.code(), resumed.err());
    for (var e : finished.entrySet()) assertEquals(e.getValue(), Files.getLastModifiedTime(e.getKey()), e.getKey() + " was recomputed");
    assertEquals(4, arrows(cache).size());
    try (Stream<Path> s = Files.walk(cache)) {
      assertTrue(s.noneMatch(f -> f.getFileName().toString().contains(".tmp-")), "temporary files left behind");
    }
    ScoreCommandTest.Run fresh = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--no-cache", "--device", "cpu", "--quiet");
    assertEquals(fresh.out(), resumed.out(), "the resumed ranking differs from an uninterrupted run");
  }

  @Test
  void zooInspectListsExpertsAndSignatures() {
    ScoreCommandTest.Run r = ScoreCommandTest.run("zoo", "inspect", EXAMPLE.resolve("zoo").toString());
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().contains("image float[-1,1,28,28] -> embedding float[-1,64]"), r.out());
    assertTrue(r.out().contains("4 experts"), r.out());
    ScoreCommandTest.Run pool = ScoreCommandTest.run("zoo", "inspect", EXAMPLE.resolve("zoo").toString(), "--pool", "params>=200000", "--no-load");
    assertTrue(pool.out().contains("1 experts in pool params>=200000 (of 4)"), pool.out());
  }

  static List<Path> arrows(Path cache) throws Exception {
    if (!Files.exists(cache)) return List.of();
    List<Path> out = new java.util.ArrayList<>();
    collectArrows(cache, out);
    return out.stream().sorted().toList();
  }

  /**
   * Names only: the kill/resume campaign looks while a child run writes the cache, and Files.walk, which reads each
   * entry's attributes, failed on a temporary renamed in between (NoSuchFileException).
   */
  private static void collectArrows(Path dir, List<Path> out) throws Exception {
    try (java.nio.file.DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path f : s) {
        if (f.getFileName().toString().endsWith(".arrow")) out.add(f);
        else if (Files.isDirectory(f)) collectArrows(f, out);  // false, not an error, for an entry gone meanwhile
      }
    }
  }

  @Test
  void embedWritesWhatScoreReads() throws Exception {
    Path out = dir.resolve("emb");
    ScoreCommandTest.Run e = ScoreCommandTest.run("embed", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--out", out.toString(), "--device", "cpu", "--quiet");
    assertEquals(Main.OK, e.code(), e.err());
    Path csv = dir.resolve("scores.csv");
    ScoreCommandTest.Run s = ScoreCommandTest.run("score", "--embeddings", out.toString(), "--labels", out.resolve("labels.npy").toString(),
        "--out", csv.toString(), "--quiet");
    assertEquals(Main.OK, s.code(), s.err());
    List<String> ref = Files.readAllLines(EXAMPLE.resolve("reference/knn_loo.csv"));
    String scores = Files.readString(csv);
    for (String l : ref.subList(1, ref.size())) {
      String[] f = l.split(",");
      assertTrue(scores.contains(f[0] + ",knn-loo," + Double.parseDouble(f[1])), f[0] + " in\n" + scores);
    }
    // a second embed reuses everything
    ScoreCommandTest.Run again = ScoreCommandTest.run("embed", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--out", out.toString(), "--device", "cpu");
    assertTrue(again.err().contains("(4 from cache, 0 failed)"), again.err());
  }

  /** Option values found wrong by a README audit: each a usage error, or the device refused before the cache is read. */
  @Test
  void badOptionValuesAreRefusedBeforeAnyWork() throws Exception {
    String zoo = EXAMPLE.resolve("zoo").toString(), data = EXAMPLE.resolve("images").toString(), cache = dir.resolve("cache").toString();
    ScoreCommandTest.Run top = ScoreCommandTest.run("select", "--zoo", zoo, "--data", data, "--no-cache", "--top", "-1", "--quiet");
    assertEquals(Main.USAGE, top.code(), top.err());
    assertTrue(top.err().contains("--top"), top.err());
    ScoreCommandTest.Run both = ScoreCommandTest.run("select", "--zoo", zoo, "--data", data, "--cache", cache, "--no-cache", "--quiet");
    assertEquals(Main.USAGE, both.code(), both.err());
    assertTrue(both.err().contains("--cache and --no-cache"), both.err());
    // every embedding cached, then --device cuda on a build without the CUDA provider: refused (exit 4), not a silent success
    ScoreCommandTest.Run warm = ScoreCommandTest.run("select", "--zoo", zoo, "--data", data, "--cache", cache, "--device", "cpu", "--quiet",
        "--out", dir.resolve("o1").toString());
    assertEquals(Main.OK, warm.code(), warm.err());
    org.junit.jupiter.api.Assumptions.assumeFalse(ai.onnxruntime.OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA),
        "this ONNX Runtime build has the CUDA provider");
    ScoreCommandTest.Run cuda = ScoreCommandTest.run("select", "--zoo", zoo, "--data", data, "--cache", cache, "--device", "cuda", "--quiet",
        "--out", dir.resolve("o2").toString());
    assertEquals(Main.BACKEND, cuda.code(), cuda.err());
    assertTrue(cuda.err().contains("cannot use CUDA"), cuda.err());
  }
}
