package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Experts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kill/resume campaign (issue 11): a real {@code needle select} over the 26-expert mini-experts zoo, in a
 * child JVM, is killed with SIGKILL at {@value #KILLS} seeded random points (while it starts, between and
 * inside experts, while it scores and writes its outputs) and resumed each time with the same cache and output
 * folder. Every resume must leave each embedding finished before it untouched (not recomputed, not rewritten),
 * the last, uninterrupted resume must take exactly those from the cache, and its ranking.csv must be
 * byte-identical to an uninterrupted run's. {@link SelectCommandTest} has the single-kill version.
 */
@Tag("slow")
class KillResumeCampaignTest {
  static final Path ZOO = Path.of("..", "examples", "mini-vtab", "zoo");
  static final Path TASK = Path.of("..", "examples", "mini-vtab", "tasks", "fashion", "train-images-idx3-ubyte.gz");
  static final int KILLS = 20;
  static final long SEED = 20251123L;
  @TempDir Path dir;

  @Test
  void killedAtRandomPointsResumesToTheSameRanking() throws Exception {
    Path cache = dir.resolve("cache"), out = dir.resolve("out"), ref = dir.resolve("ref");
    List<String> args = List.of("select", "--zoo", ZOO.toString(), "--data", TASK.toString(), "--n", "200", "--device", "cpu");
    List<String> refArgs = new ArrayList<>(args);
    refArgs.addAll(List.of("--no-cache", "--out", ref.toString()));
    ScoreCommandTest.Run whole = ScoreCommandTest.run(refArgs.toArray(String[]::new));
    assertEquals(Main.OK, whole.code(), whole.err());
    int experts = (int) Files.readAllLines(ref.resolve("ranking.csv")).stream().skip(1).map(l -> l.substring(0, l.indexOf(','))).distinct().count();
    assertEquals(26, experts);

    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "io.needle.cli.Main"));
    cmd.addAll(args);
    cmd.addAll(List.of("--cache", cache.toString(), "--out", out.toString()));
    Random random = new Random(SEED);
    int kills = 0, runs = 0;
    List<String> log = new ArrayList<>();
    while (true) {
      Map<Path, FileTime> before = finished(cache);
      boolean last = kills == KILLS;
      Path childLog = dir.resolve("child-" + runs++ + ".log");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(childLog.toFile()).start();
      String point = last ? "none" : killPoint(random, p, cache, before.size(), experts);
      if (!last && p.isAlive()) {
        p.destroyForcibly();
        kills++;
      }
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not end");
      Map<Path, FileTime> after = finished(cache);
      log.add(point + ": " + before.size() + " -> " + after.size() + " finished, exit " + p.exitValue());
      // nothing finished before this run was recomputed or rewritten, and it is still readable
      for (var e : before.entrySet()) {
        assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " was rewritten by run " + runs + "\n" + String.join("\n", log));
        assertTrue(new Experts.Source("x", e.getKey(), null, null).load().rows() == 200, e.getKey().toString());
      }
      if (last || point.equals("ended")) {  // a run that was not killed: it took every finished expert from the cache
        String said = Files.readString(childLog);
        assertEquals(Main.OK, p.exitValue(), said);
        Matcher m = Pattern.compile("\\((\\d+) embedded on every image, (\\d+) from cache, 0 failed").matcher(said);
        assertTrue(m.find(), said);
        assertEquals(before.size(), Integer.parseInt(m.group(2)), "the uninterrupted resume takes every finished expert from the cache\n" + said);
        assertEquals(experts - before.size(), Integer.parseInt(m.group(1)), said);
        if (last) break;
      }
    }
    assertTrue(kills >= KILLS, kills + " kills");
    assertArrayEquals(Files.readAllBytes(ref.resolve("ranking.csv")), Files.readAllBytes(out.resolve("ranking.csv")),
        "the resumed ranking differs from an uninterrupted run's\n" + String.join("\n", log));
    System.out.println("kill/resume campaign: " + kills + " kills in " + runs + " runs (seed " + SEED + ")\n  " + String.join("\n  ", log));
    for (Path d : List.of(cache, out))
      try (Stream<Path> s = Files.walk(d)) {
        assertTrue(s.noneMatch(f -> f.getFileName().toString().contains(".tmp-")), "temporary files left in " + d);
      }
  }

  /**
   * Waits for a seeded random point of the child's run and says which: a delay from its start (starting,
   * reading, or, once every expert is cached, scoring and writing), or a delay after it finishes one to three
   * more experts.
   *
   * @return the point, or "ended" if the child ended before it
   */
  static String killPoint(Random random, Process p, Path cache, int done, int experts) throws Exception {
    long start = System.nanoTime();
    String point;
    if (done == experts || random.nextInt(4) == 0) {
      long ms = random.nextInt(done == experts ? 4000 : 2500);
      point = "at " + ms + " ms";
      while (p.isAlive() && System.nanoTime() - start < ms * 1_000_000L) Thread.sleep(5);
    } else {
      int more = 1 + random.nextInt(3);
      long ms = random.nextInt(150);
      point = "after " + more + " more expert(s) + " + ms + " ms";
      while (p.isAlive() && finished(cache).size() < Math.min(experts, done + more) && System.nanoTime() - start < 60_000_000_000L) Thread.sleep(5);
      long at = System.nanoTime();
      while (p.isAlive() && System.nanoTime() - at < ms * 1_000_000L) Thread.sleep(1);
    }
    return p.isAlive() ? point : "ended";
  }

  /** The finished embeddings of the cache and their modification times. */
  static Map<Path, FileTime> finished(Path cache) throws Exception {
    Map<Path, FileTime> out = new LinkedHashMap<>();
    for (Path f : SelectCommandTest.arrows(cache)) out.put(f, Files.getLastModifiedTime(f));
    return out;
  }
}
