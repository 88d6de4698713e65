package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad-input case of a zoo and a dataset: each fails alone with a message naming the file or expert and
 * the problem, the rest of the run proceeds, and the summary lists every failure.
 */
class BadInputTest {
  static final Path EXAMPLE = Path.of("..", "examples", "fashion-tiny");
  @TempDir Path dir;

  static Path onnx(String name) {
    return io.needle.Fixtures.onnx(name);
  }

  /** A copy of the example images (few per class) to break in place. */
  Path images(int perClass) throws Exception {
    Path out = dir.resolve("images");
    try (Stream<Path> classes = Files.list(EXAMPLE.resolve("images"))) {
      for (Path c : classes.sorted().toList()) {
        Files.createDirectories(out.resolve(c.getFileName()));
        try (Stream<Path> files = Files.list(c)) {
          for (Path f : files.sorted().limit(perClass).toList()) Files.copy(f, out.resolve(c.getFileName()).resolve(f.getFileName()));
        }
      }
    }
    return out;
  }

  @Test
  void everyBadModelFailsAloneWithItsReason() throws Exception {
    Path zoo = Files.createDirectories(dir.resolve("zoo"));
    Files.copy(EXAMPLE.resolve("zoo/mlp-trained.onnx"), zoo.resolve("good.onnx"));
    byte[] good = Files.readAllBytes(zoo.resolve("good.onnx"));
    Files.write(zoo.resolve("truncated.onnx"), Arrays.copyOf(good, good.length / 3));
    Files.writeString(zoo.resolve("text.onnx"), "this is not a model\n");
    for (String f : List.of("rank2.onnx", "rgb.onnx", "size32.onnx", "two-outputs.onnx", "outside.onnx", "inside.onnx", "inside.weights"))
      Files.copy(onnx(f), zoo.resolve(f));
    Files.write(dir.resolve("outside.bin"), new byte[784 * 8 * 4]);  // exists, but outside the zoo folder
    Path data = images(6);

    Path out = dir.resolve("out");
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", zoo.toString(), "--data", data.toString(), "--no-cache", "--device", "cpu",
        "--out", out.toString());
    assertEquals(Main.PARTIAL, r.code(), r.err());
    // issue 11: ranking.csv lists every model it was given, the unreadable ones as failed with their reason
    io.needle.data.Csv ranking = io.needle.data.Csv.read(out.resolve("ranking.csv"));
    java.util.Map<String, String> status = new java.util.TreeMap<>();
    for (String[] row : ranking.rows()) assertTrue(status.put(row[0], row[3]) == null, "one row per expert: " + row[0]);
    assertEquals(9, status.size(), status.toString());
    assertEquals("failed", status.get("truncated.onnx"), status.toString());
    assertEquals("ok", status.get("good"), status.toString());
    assertTrue(Files.readString(out.resolve("report.html")).contains("not a valid ONNX model"), "reasons in the report");
    // the two usable experts are ranked
    List<String> ranked = r.out().lines().filter(l -> l.matches("\\s+[12]\\s+\\S+\\s+[0-9.]+")).map(l -> l.trim().split("\\s+")[1]).sorted().toList();
    assertEquals(List.of("good", "inside"), ranked, r.out());
    String err = r.err();
    assertTrue(err.contains("left out 7:"), err);
    assertTrue(err.contains("truncated.onnx: not a valid ONNX model (corrupt or truncated protobuf)"), err);
    assertTrue(err.contains("text.onnx: "), err);
    assertTrue(err.contains("rank2 (rank2.onnx): input 'image' float[-1,784] has rank 2; an image input is 4-D"), err);
    assertTrue(err.contains("rgb (rgb.onnx): input 'image' float[-1,3,28,28] takes 3 channels but the images are 28x28 gray"), err);
    assertTrue(err.contains("size32 (size32.onnx): input 'image' float[-1,1,32,32] takes 32x32 images but the images are 28x28 gray"), err);
    assertTrue(err.contains("two-outputs (two-outputs.onnx): has 2 outputs [embedding, logits]; name the embedding with \"output\" in zoo.json"), err);
    assertTrue(err.contains("outside.onnx: external data path '../outside.bin' points outside the zoo folder; refused"), err);
  }

  /** Issue 11: on a folder of tasks, a run where every expert failed is exit 3 as on one task (it was 1). */
  @Test
  void everyExpertFailingOnEveryTaskIsExit3() throws Exception {
    Path zoo = Files.createDirectories(dir.resolve("zoo"));
    Files.copy(onnx("rgb.onnx"), zoo.resolve("rgb.onnx"));
    Files.copy(onnx("size32.onnx"), zoo.resolve("size32.onnx"));
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", zoo.toString(), "--data", Path.of("..", "examples", "mini-vtab", "tasks").toString(),
        "--n", "40", "--no-cache", "--device", "cpu", "--quiet");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.err().contains("every expert failed"), r.err());
  }

  /** Issue 11 item 1: a dynamic height/width ran into an IllegalArgumentException that stopped the run (exit 5). */
  @Test
  void dynamicSizeExpertIsScoredBesideTheOthersAndInspectFlagsIt() throws Exception {
    Path zoo = Files.createDirectories(dir.resolve("zoo"));
    Files.copy(EXAMPLE.resolve("zoo/mlp-trained.onnx"), zoo.resolve("good.onnx"));
    Files.copy(onnx("dynamic-hw.onnx"), zoo.resolve("dynamic-hw.onnx"));
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", zoo.toString(), "--data", images(6).toString(), "--no-cache", "--device", "cpu");
    assertEquals(Main.OK, r.code(), r.err());
    List<String> ranked = r.out().lines().filter(l -> l.matches("\\s+[12]\\s+\\S+\\s+[0-9.]+")).map(l -> l.trim().split("\\s+")[1]).sorted().toList();
    assertEquals(List.of("dynamic-hw", "good"), ranked, r.out());
    ScoreCommandTest.Run inspect = ScoreCommandTest.run("zoo", "inspect", zoo.toString());
    assertEquals(Main.OK, inspect.code(), inspect.out() + inspect.err());
    assertTrue(inspect.out().contains("image float[-1,1,-1,-1] -> embedding float[-1,3]\n    dynamic height/width: runs at the task's image size"), inspect.out());
  }

  @Test
  void badImagesAreLeftOutAndListed() throws Exception {
    Path data = images(8);
    Path c0 = Files.list(data).sorted().findFirst().orElseThrow();
    Files.writeString(c0.resolve("broken.png"), "not a png");
    ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_GRAY), "png", c0.resolve("big.png").toFile());
    ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB), "png", c0.resolve("colour.png").toFile());
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", data.toString(), "--no-cache", "--device", "cpu");
    assertEquals(Main.PARTIAL, r.code(), r.err());
    assertTrue(r.err().contains("80 images (28x28 gray), 10 classes"), r.err());
    assertTrue(r.err().contains("left out 3:"), r.err());
    assertTrue(r.err().contains("broken.png: not a readable image"), r.err());
    assertTrue(r.err().contains("big.png: image is 32x32 gray but the dataset is 28x28 gray"), r.err());
    assertTrue(r.err().contains("colour.png: image is 28x28 RGB but the dataset is 28x28 gray"), r.err());
    assertTrue(r.out().contains("pick (task-aware, budget 1)"), r.out());
  }

  @Test
  void datasetProblemsThatStopTheRun() throws Exception {
    Path one = dir.resolve("one");
    Files.createDirectories(one.resolve("only"));
    for (int i = 0; i < 3; i++) ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), "png", one.resolve("only/" + i + ".png").toFile());
    ScoreCommandTest.Run r = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", one.toString(), "--no-cache");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.err().contains("3 images of 1 class; a task needs at least 2 classes"), r.err());

    ScoreCommandTest.Run missing = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", dir.resolve("nope").toString());
    assertEquals(Main.BAD_INPUT, missing.code());
    assertTrue(missing.err().contains("nope: no such file or directory"), missing.err());

    Path txt = Files.writeString(dir.resolve("data.txt"), "x", StandardCharsets.UTF_8);
    ScoreCommandTest.Run other = ScoreCommandTest.run("select", "--zoo", EXAMPLE.resolve("zoo").toString(), "--data", txt.toString());
    assertEquals(Main.BAD_INPUT, other.code());
    assertTrue(other.err().contains("data.txt: not a dataset"), other.err());

    ScoreCommandTest.Run noZoo = ScoreCommandTest.run("select", "--zoo", dir.toString(), "--data", EXAMPLE.resolve("images").toString());
    assertEquals(Main.BAD_INPUT, noZoo.code());
    assertTrue(noZoo.err().contains("no experts (no *.onnx files and no zoo.json)"), noZoo.err());
  }
}
