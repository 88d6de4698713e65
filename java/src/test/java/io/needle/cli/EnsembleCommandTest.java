package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code needle ensemble} end to end on examples/fashion-tiny (four plain ONNX experts, 500 images). */
class EnsembleCommandTest {
  static final Path EXAMPLE = SelectCommandTest.EXAMPLE;
  @TempDir Path dir;

  @Test
  void picksSetsAndWritesTheMatrixAndReport() throws Exception {
    Path out = dir.resolve("out");
    ScoreCommandTest.Run r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--size", "2", "--cache", dir.resolve("cache").toString(), "--out", out.toString(), "--device", "cpu", "--backend", "java", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    for (String m : List.of("calibrated", "diverse", "concat")) assertTrue(r.out().contains(m + ": "), r.out());
    List<String> sets = Files.readAllLines(out.resolve("sets.csv"));
    assertEquals("task,method,k,experts,predicted", sets.get(0));
    assertEquals(1 + 3 * 2, sets.size(), "every method's set of size 1 and 2");
    List<String> m = Files.readAllLines(out.resolve("inconsistency.csv"));
    assertEquals(5, m.size(), "header + 4 experts");
    String[] head = m.get(0).split(",");
    for (int i = 1; i < m.size(); i++) {
      String[] row = m.get(i).split(",");
      assertEquals(head[i], row[0]);
      assertEquals(0.0, Double.parseDouble(row[i]), 0, "zero diagonal");
      for (int j = 1; j < row.length; j++) assertEquals(Double.parseDouble(row[j]), Double.parseDouble(m.get(j).split(",")[i]), 0, "symmetric");
    }
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("<svg") && html.contains("inconsistency") && html.contains("calibrated"), "heat map and steps");
    assertFalse(html.contains("<script") || html.contains("http://") || html.contains("https://"));
    assertTrue(Files.readString(out.resolve("steps.csv")).startsWith("method,step,expert,accuracy,gain,inconsistency\n"));
    assertEquals(5, Files.readAllLines(out.resolve("probes.csv")).size());

    // the same again reads every embedding from the cache and gives the same sets
    Path again = dir.resolve("again");
    r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--size", "2", "--cache", dir.resolve("cache").toString(), "--out", again.toString(), "--device", "cpu", "--backend", "java", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    assertEquals(sets, Files.readAllLines(again.resolve("sets.csv")));
  }

  @Test
  void badSizesAndMethodsAreUsageErrors() {
    ScoreCommandTest.Run r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--size", "9", "--no-cache");
    assertEquals(Main.USAGE, r.code(), r.err());
    assertTrue(r.err().contains("--size 9") && r.err().contains("4 expert"), r.err());
    r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(), "--method", "soup", "--no-cache");
    assertEquals(Main.USAGE, r.code(), r.err());
    assertTrue(r.err().contains("soup"), r.err());
    // anchors are checked before anything is embedded
    for (String[] bad : List.of(new String[] {"task-agnostic:0", "whole number"}, new String[] {"nobody", "not an expert of the pool"},
        new String[] {"task-agnostic:4", "do not fit a set of 3"}, new String[] {"task-agnostic:2147483647,mlp-trained", "do not fit a set of 3"},
        new String[] {"task-agnostic,task-agnostic:2", "task-agnostic may appear once"}, new String[] {"mlp-trained,mlp-trained", "named twice"})) {
      r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
          "--size", "3", "--anchor", bad[0], "--no-cache");
      assertEquals(Main.USAGE, r.code(), bad[0] + ": " + r.err());
      assertTrue(r.err().contains(bad[1]), r.err());
    }
  }

  @Test
  void setsStartFromEveryAnchor() throws Exception {
    Path out = dir.resolve("anchored");
    ScoreCommandTest.Run r = ScoreCommandTest.run("ensemble", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--size", "3", "--anchor", "task-agnostic:2", "--out", out.toString(), "--device", "cpu", "--backend", "java", "--quiet", "--no-cache");
    assertEquals(Main.OK, r.code(), r.err());
    List<String> sets = Files.readAllLines(out.resolve("sets.csv"));
    java.util.Map<String, java.util.Set<String>> byK = new java.util.TreeMap<>();
    for (String line : sets.subList(1, sets.size())) {
      String[] f = line.split(",");
      byK.computeIfAbsent(f[2], k -> new java.util.TreeSet<>()).add(f[3]);
    }
    assertEquals(1, byK.get("1").size(), "every method starts from the same first anchor: " + sets);
    assertEquals(1, byK.get("2").size(), "and the same two anchors: " + sets);
    assertTrue(byK.get("2").iterator().next().startsWith(byK.get("1").iterator().next() + ";"), sets.toString());
    assertEquals(9, sets.size() - 1, "3 methods x sizes 1..3");
  }

  @Test
  void anExpertThatCannotBeEmbeddedIsLeftOutNotFatal() throws Exception {
    Path zoo = Files.createDirectories(dir.resolve("zoo"));
    for (String f : List.of("cnn-trained.onnx", "mlp-trained.onnx")) Files.copy(EXAMPLE.resolve("zoo").resolve(f), zoo.resolve(f));
    Files.write(zoo.resolve("broken.onnx"), new byte[] {1, 2, 3, 4});
    ScoreCommandTest.Run r = ScoreCommandTest.run("ensemble", "--zoo", zoo.toString(), "--data", EXAMPLE.resolve("images").toString(),
        "--size", "2", "--method", "calibrated", "--no-cache", "--backend", "java");
    assertEquals(Main.PARTIAL, r.code(), r.err());
    assertTrue(r.err().contains("broken"), r.err());
    assertTrue(r.out().contains("calibrated: ") && (r.out().contains("cnn-trained, mlp-trained") || r.out().contains("mlp-trained, cnn-trained")), r.out());
  }
}
