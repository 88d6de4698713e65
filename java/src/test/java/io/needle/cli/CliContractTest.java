package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.data.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CLI's contract (issue 11 items 4, 5 and 8): {@code --help} and {@code --version} on every command, and
 * README's exit-code table against what the commands return.
 */
class CliContractTest {
  static final Path README = Path.of("..", "README.md");
  @TempDir Path dir;

  /** Every command and subcommand, as the words that invoke it ("zoo inspect"). */
  static List<List<String>> commands() {
    List<List<String>> out = new ArrayList<>();
    walk(new CommandLine(new Main()), new ArrayList<>(), out);
    return out;
  }

  private static void walk(CommandLine cl, List<String> path, List<List<String>> out) {
    out.add(List.copyOf(path));
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      path.add(e.getKey());
      walk(e.getValue(), path, out);
      path.remove(path.size() - 1);
    }
  }

  static String squash(String s) {
    return s.replaceAll("\\s+", " ").trim();
  }

  @Test
  void helpAndVersionWorkOnEveryCommand() {
    List<List<String>> all = commands();
    TreeSet<String> top = new TreeSet<>();
    for (List<String> c : all) if (c.size() == 1) top.add(c.get(0));
    assertEquals(new TreeSet<>(List.of("demo", "doctor", "embed", "ensemble", "evaluate", "proxies", "score", "select", "zoo")), top);
    assertTrue(all.contains(List.of("zoo", "inspect")), all.toString());
    CommandLine root = new CommandLine(new Main());
    for (List<String> c : all) {
      String name = c.isEmpty() ? "needle" : String.join(" ", c);
      for (String flag : List.of("--help", "-h")) {
        List<String> args = new ArrayList<>(c);
        args.add(flag);
        ScoreCommandTest.Run r = ScoreCommandTest.run(args.toArray(String[]::new));
        assertEquals(Main.OK, r.code(), name + " " + flag + ": " + r.err());
        assertEquals("", r.err(), name + " " + flag + ": no complaint, no picocli warning");
        assertTrue(r.out().startsWith("Usage: needle" + (c.isEmpty() ? "" : " " + name)), name + ": " + r.out());
        // the whole description is shown (a '%' not escaped, or a cut line, would change it)
        CommandLine cl = root;
        for (String w : c) cl = cl.getSubcommands().get(w);
        String description = squash(String.join(" ", cl.getCommandSpec().usageMessage().description()));
        assertTrue(squash(r.out()).contains(description.replace("%%", "%")), name + ": " + r.out());
      }
      for (String flag : List.of("--version", "-V")) {
        List<String> args = new ArrayList<>(c);
        args.add(flag);
        ScoreCommandTest.Run r = ScoreCommandTest.run(args.toArray(String[]::new));
        assertEquals(Main.OK, r.code(), name + " " + flag + ": " + r.err());
        assertEquals(Version.VERSION, r.out().trim(), name + " " + flag);
        assertEquals("", r.err(), name + " " + flag);
      }
    }
    // the top-level help lists every subcommand with its whole description
    String help = squash(ScoreCommandTest.run("--help").out());
    for (Map.Entry<String, CommandLine> e : root.getSubcommands().entrySet())
      assertTrue(help.contains(e.getKey() + " " + squash(String.join(" ", e.getValue().getCommandSpec().usageMessage().description())).replace("%%", "%")),
          e.getKey() + ": " + help);
  }

  /** README's exit-code table: its codes and Main's are the same, and each code is what its case returns. */
  @Test
  void readmeExitCodesMatchBehaviour() throws Exception {
    Map<Integer, String> table = new TreeMap<>();
    boolean in = false;
    for (String line : Files.readAllLines(README)) {
      if (line.startsWith("#")) in = line.equals("### Exit codes");
      else if (in && line.matches("\\| \\d \\| .*")) table.put(Integer.parseInt(line.substring(2, 3)), line.substring(6));
    }
    assertEquals(List.of(Main.OK, Main.PARTIAL, Main.USAGE, Main.BAD_INPUT, Main.BACKEND, Main.ERROR), List.copyOf(table.keySet()), "README table " + table);
    Map<String, String> listed = new CommandLine(new Main()).getCommandSpec().usageMessage().exitCodeList();
    assertEquals(table.keySet().stream().map(String::valueOf).toList(), listed.keySet().stream().map(String::trim).toList(), "--help's exit codes");

    Path emb = Files.createDirectories(dir.resolve("emb"));
    Files.copy(Fixtures.dir().resolve("clean_d8.npy"), emb.resolve("clean_d8.npy"));
    String labels = Fixtures.dir().resolve("labels.npy").toString();
    Map<Integer, List<ScoreCommandTest.Run>> seen = new TreeMap<>();
    java.util.function.BiConsumer<Integer, String[]> expect = (code, args) -> {
      ScoreCommandTest.Run r = ScoreCommandTest.run(args);
      assertEquals(code, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
      seen.computeIfAbsent(code, k -> new ArrayList<>()).add(r);
    };
    // 0
    expect.accept(Main.OK, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--quiet"});
    expect.accept(Main.OK, new String[] {"doctor"});
    // 2
    expect.accept(Main.USAGE, new String[] {"score", "--nope"});
    expect.accept(Main.USAGE, new String[] {"score", "--embeddings", emb.toString()});
    expect.accept(Main.USAGE, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--out", dir.resolve("s.txt").toString()});
    // 5: outputs that cannot be written, refused before anything is computed
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    expect.accept(Main.ERROR, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--out", dir.toString()});
    expect.accept(Main.ERROR, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--out", file.resolve("s.csv").toString()});
    expect.accept(Main.ERROR, new String[] {"select", "--zoo", "x", "--data", "y", "--out", file.toString()});
    expect.accept(Main.ERROR, new String[] {"evaluate", "--scores", "x.csv", "--oracle", "y.csv", "--out", file.toString()});
    for (ScoreCommandTest.Run r : seen.get(Main.ERROR)) {
      assertEquals("", r.out(), "nothing computed");
      assertTrue(r.err().contains("a-file") || r.err().contains(dir.toString()), r.err());
    }
    // 1: one expert fails, the other is scored
    float[] nan = Npy.read(Fixtures.dir().resolve("clean_d8.npy")).toFloats();
    nan[0] = Float.NaN;
    Npy.writeFloats(emb.resolve("has_nan.npy"), nan, 300, 8);
    expect.accept(Main.PARTIAL, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--quiet"});
    // 3: every expert failed (reported as 1 before), a missing input file (5 before), a dataset that is not one
    Path bad = Files.createDirectories(dir.resolve("bad"));
    Files.copy(emb.resolve("has_nan.npy"), bad.resolve("has_nan.npy"));
    Files.write(bad.resolve("empty.npy"), new byte[0]);
    expect.accept(Main.BAD_INPUT, new String[] {"score", "--embeddings", bad.toString(), "--labels", labels, "--quiet"});
    assertTrue(seen.get(Main.BAD_INPUT).get(0).err().contains("no usable expert"), seen.get(Main.BAD_INPUT).get(0).err());
    expect.accept(Main.BAD_INPUT, new String[] {"evaluate", "--scores", dir.resolve("missing.csv").toString(), "--oracle",
        Path.of(CliContractTest.class.getResource("/eval/oracle.csv").toURI()).toString()});
    assertTrue(seen.get(Main.BAD_INPUT).get(1).err().contains("missing.csv: no such file"), seen.get(Main.BAD_INPUT).get(1).err());
    expect.accept(Main.BAD_INPUT, new String[] {"score", "--embeddings", emb.toString(), "--labels", dir.resolve("nolabels.npy").toString()});
    // 4: a backend that is not usable here (cuda, unless this machine has a usable one)
    boolean cuda = io.needle.engine.Backends.probe().stream().anyMatch(a -> a.name().equals("cuda") && a.usable());
    if (!cuda) expect.accept(Main.BACKEND, new String[] {"score", "--embeddings", emb.toString(), "--labels", labels, "--backend", "cuda", "--quiet"});
    for (int code : table.keySet())
      if (code != Main.BACKEND || !cuda) assertTrue(seen.containsKey(code), "README code " + code + " (" + table.get(code) + ") has a case");
  }

  /** An unwritable default cache warns once and the run goes on uncached; a writable one is used. */
  @Test
  void unwritableDefaultCacheWarnsAndRunsUncached() throws Exception {
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    try {
      System.setErr(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
      assertNull(Outputs.usableDefault(file.resolve("needle")));
    } finally {
      System.setErr(err);
    }
    String said = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(1, said.lines().count(), said);
    assertTrue(said.contains("warning: the default embedding cache") && said.contains("running without a cache"), said);
    assertEquals(dir.resolve("cache"), Outputs.usableDefault(dir.resolve("cache")));
    assertTrue(Files.isDirectory(dir.resolve("cache")));
    assertNull(Outputs.cache(dir.resolve("x"), true));
    assertEquals(dir.resolve("x"), Outputs.cache(dir.resolve("x"), false));
    assertFalse(Files.exists(dir.resolve("x")), "an explicit --cache is left to the run");
  }
}
