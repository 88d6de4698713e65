package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.zoo.Expert;
import io.needle.zoo.Soups;
import io.needle.zoo.Zoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code needle zoo soup} end to end on a small zoo made of bundled mini-experts models (a base, three of its
 * fine-tunes with upstream heads of different sizes, an untrained network of the same graph, the packed adapters) and
 * mini-VTAB's MLP, with README's exit codes.
 */
class SoupCommandTest {
  static final Path EXPERTS = Path.of("..", "examples", "mini-experts"), VTAB = Path.of("..", "examples", "mini-vtab");
  static final Path TASK = EXPERTS.resolve("tasks/clevr-count/train-images-idx3-ubyte.gz");
  @TempDir Path dir;
  Path zoo;

  @BeforeEach
  void zoo() throws Exception {
    zoo = Files.createDirectories(dir.resolve("zoo"));
    for (String f : List.of("baseline", "baseline-early", "semantic-clothing", "semantic-scenes", "semantic-microscopy", "cnn-random", "adapters"))
      Files.copy(EXPERTS.resolve("zoo").resolve(f + ".onnx"), zoo.resolve(f + ".onnx"));
    Files.copy(VTAB.resolve("zoo/mlp.onnx"), zoo.resolve("mlp.onnx"));
    StringBuilder m = new StringBuilder("{\"experts\": [\n");
    m.append("{\"id\": \"baseline\", \"file\": \"baseline.onnx\", \"architecture\": \"cnn-w16\", \"dimension\": 64, \"output\": \"embedding\", \"logits\": \"logits\"},\n");
    for (String s : List.of("clothing", "scenes", "microscopy"))
      m.append("{\"id\": \"semantic-").append(s).append("\", \"file\": \"semantic-").append(s).append(".onnx\", \"architecture\": \"cnn-w16\", \"dimension\": 64,")
          .append(" \"parent\": \"baseline\", \"tags\": [\"semantic\"], \"output\": \"embedding\", \"logits\": \"logits\"},\n");
    m.append("{\"id\": \"baseline-early\", \"file\": \"baseline-early.onnx\", \"architecture\": \"cnn-w16\", \"dimension\": 64, \"output\": \"embedding\"},\n");
    m.append("{\"id\": \"cnn-random\", \"file\": \"cnn-random.onnx\", \"architecture\": \"cnn-w16\", \"dimension\": 64},\n");
    m.append("{\"id\": \"mlp\", \"file\": \"mlp.onnx\", \"architecture\": \"mlp\", \"dimension\": 64, \"parent\": \"baseline\"},\n");
    m.append("{\"id\": \"adapters\", \"file\": \"adapters.onnx\", \"architecture\": \"cnn-w16+adapters\", \"adapters\": {\"input\": \"adapter\", \"count\": 2}}\n]}\n");
    Files.writeString(zoo.resolve("zoo.json"), m);
  }

  private ScoreCommandTest.Run soup(String... args) {
    List<String> a = new ArrayList<>(List.of("zoo", "soup", "--zoo", zoo.toString()));
    a.addAll(List.of(args));
    return ScoreCommandTest.run(a.toArray(String[]::new));
  }

  private void refused(int code, String message, String... args) throws Exception {
    byte[] manifest = Files.readAllBytes(zoo.resolve("zoo.json"));
    List<Path> before;
    try (var s = Files.list(zoo)) {
      before = s.sorted().toList();
    }
    ScoreCommandTest.Run r = soup(args);
    assertEquals(code, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
    assertTrue(r.err().contains(message), r.err());
    assertEquals("", r.out());
    assertArrayEquals(manifest, Files.readAllBytes(zoo.resolve("zoo.json")), "zoo.json untouched");
    try (var s = Files.list(zoo)) {
      assertEquals(before, s.sorted().toList(), "no file left behind");
    }
  }

  @Test
  void listsTheGroupsThatCouldMakeASoup() {
    ScoreCommandTest.Run r = soup();
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().contains("base baseline (cnn-w16), 4 experts: baseline,semantic-clothing,semantic-scenes,semantic-microscopy"), r.out());
    assertFalse(r.out().contains("cnn-random") || r.out().contains("mlp") || r.out().contains("baseline-early"),
        "other bases (no parent) or architectures: " + r.out());
  }

  @Test
  void buildsAUniformSoupThatIsScoredLikeAnyOtherExpert() throws Exception {
    ScoreCommandTest.Run r = soup("--pool", "parent=baseline,tag=semantic", "--id", "soup-semantic", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().contains("soup-semantic: uniform soup of 3 experts fine-tuned from baseline: semantic-clothing, semantic-scenes, semantic-microscopy"), r.out());
    Zoo z = Zoo.open(zoo);
    Expert s = z.experts().stream().filter(e -> e.id().equals("soup-semantic")).findFirst().orElseThrow();
    assertEquals(List.of("semantic-clothing", "semantic-scenes", "semantic-microscopy"), s.meta().ingredients());
    assertEquals(List.of("soup", "uniform"), s.meta().tags());
    assertEquals("baseline", s.meta().parent());
    assertEquals(zoo.toRealPath().resolve("soup-semantic.onnx"), s.file());
    // its weights are the ingredients' mean (their heads of 10, 5 and 4 classes dropped)
    List<Soups.Ingredient> in = new ArrayList<>();
    for (String id : s.meta().ingredients()) in.add(Soups.read(z.experts().stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow()));
    var soup = Soups.read(s).weights();
    for (var w : soup.entrySet())
      for (int k = 0; k < w.getValue().length; k += 97)
        assertEquals((in.get(0).weights().get(w.getKey())[k] + in.get(1).weights().get(w.getKey())[k] + in.get(2).weights().get(w.getKey())[k]) / 3,
            w.getValue()[k], 1e-6, w.getKey());
    // scored with the others
    r = ScoreCommandTest.run("select", "--zoo", zoo.toString(), "--data", TASK.toString(), "--pool", "arch=cnn-w16", "--no-cache", "--device", "cpu", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("soup-semantic ") || l.contains(" soup-semantic ")), r.out());
    // a soup of the soup and the base is a soup of one base too
    r = soup("--experts", "soup-semantic,baseline", "--id", "soup-2", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
  }

  @Test
  void refusesWithAReasonAndLeavesTheZooAsItWas() throws Exception {
    refused(Main.BAD_INPUT, "needle: semantic-clothing and mlp differ: initializer 'body.fc.1.weight' float [64, 1568] vs absent",
        "--experts", "semantic-clothing,mlp", "--id", "x");
    refused(Main.BAD_INPUT, "needle: semantic-clothing and baseline-early do not share a base: semantic-clothing was fine-tuned from baseline, zoo.json"
        + " names no parent for baseline-early (zoo.json's \"parent\": the expert each was fine-tuned from); refused (--any-base averages them anyway)",
        "--experts", "semantic-clothing,baseline-early", "--id", "x");
    // exported without the head wrapper: same layers, other initializer names; not averaged even with --any-base
    refused(Main.BAD_INPUT, "needle: semantic-clothing and cnn-random differ: initializer 'body.fc.1.weight' float [64, 1568] vs absent",
        "--experts", "semantic-clothing,cnn-random", "--id", "x", "--any-base");
    refused(Main.BAD_INPUT, "needle: adapters@0: one adapter of the packed model adapters.onnx", "--experts", "semantic-clothing,adapters@0", "--id", "x");
    refused(Main.USAGE, "--id is required to build a soup", "--experts", "semantic-clothing,semantic-scenes");
    refused(Main.USAGE, "no expert 'nope' in", "--experts", "semantic-clothing,nope", "--id", "x");
    refused(Main.USAGE, "the zoo already has an expert 'baseline'", "--experts", "semantic-clothing,semantic-scenes", "--id", "baseline");
    refused(Main.USAGE, "--id 'a/b' may use only", "--experts", "semantic-clothing,semantic-scenes", "--id", "a/b");
    refused(Main.USAGE, "a soup needs at least two ingredients; --pool tag=none gives 0", "--pool", "tag=none", "--id", "x");
    refused(Main.USAGE, "--greedy needs --data", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--greedy");
    refused(Main.USAGE, "--data is only read with --greedy", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--data", TASK.toString());
    refused(Main.USAGE, "is outside the zoo folder", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--out", dir.resolve("x.onnx").toString());
    refused(Main.USAGE, "exists; remove it or choose another file", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--out",
        zoo.resolve("mlp.onnx").toString());
    refused(Main.USAGE, "--greedy makes a soup for one task", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--greedy", "--data",
        EXPERTS.resolve("tasks").toString());
    refused(Main.USAGE, "--proxy leep reads", "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--greedy", "--data", TASK.toString(),
        "--proxy", "leep");
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    refused(Main.ERROR, "--out " + file.resolve("x.onnx"), "--experts", "semantic-clothing,semantic-scenes", "--id", "x", "--out", file.resolve("x.onnx").toString());
    // --any-base averages experts of different bases, with a warning, and names no parent
    ScoreCommandTest.Run r = soup("--experts", "semantic-clothing,baseline-early", "--id", "mixed", "--any-base");
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.err().contains("warning: semantic-clothing and baseline-early do not share a base") && r.err().contains("averaged anyway"), r.err());
    assertEquals(null, Zoo.open(zoo).experts().stream().filter(e -> e.id().equals("mixed")).findFirst().orElseThrow().meta().parent());
  }

  @Test
  void greedySoupScoresItsCandidatesOnTheTask() throws Exception {
    ScoreCommandTest.Run r = soup("--pool", "parent=baseline,tag=semantic", "--id", "greedy-clevr", "--greedy", "--data", TASK.toString(), "--proxy", "knn-loo",
        "--no-cache", "--device", "cpu", "--quiet");
    assertEquals(Main.OK, r.code(), r.err());
    assertTrue(r.out().contains("greedy soup on " + TASK + " by knn-loo"), r.out());
    List<String> steps = r.out().lines().filter(l -> l.endsWith("kept") || l.endsWith("left out")).toList();
    assertEquals(3, steps.size(), r.out());
    assertTrue(steps.get(0).endsWith("kept"), "the best ingredient starts the soup: " + r.out());
    Expert s = Zoo.open(zoo).experts().stream().filter(e -> e.id().equals("greedy-clevr")).findFirst().orElseThrow();
    assertEquals(List.of("soup", "greedy"), s.meta().tags());
    assertEquals(steps.stream().filter(l -> l.endsWith("kept")).count(), s.meta().ingredients().size());
    assertTrue(r.out().contains("greedy-clevr: greedy soup of " + s.meta().ingredients().size()), r.out());
  }
}
