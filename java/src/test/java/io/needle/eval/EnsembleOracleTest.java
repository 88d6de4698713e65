package io.needle.eval;

import static io.needle.data.NpzTest.half;
import static io.needle.data.NpzTest.npyHalf;
import static io.needle.data.NpzTest.writeNpz;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import io.needle.data.Tasks;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ensemble oracle on a tiny synthetic benchmark written here: one task with 4 test examples of 2 classes (labels
 * 0, 1, 1, 0), experts a, b, c fine-tuned at lr 0.002 with seeds 0 and 1 (and a worse lr 0.0005 for a). Logits are
 * chosen so every softmax is simple to average by hand:
 *
 * <pre>
 *           seed 0 logits (rows)                 right on
 *   a   (2,0) (0,2) (2,0) (0,2)   p(1) = .12 .88 .12 .88     rows 0,1      acc .5
 *   b   (0,1) (0,1) (0,1) (0,1)   p(1) = .73 .73 .73 .73     rows 1,2      acc .5
 *   c   (1,0) (0,1) (0,1) (1,0)   p(1) = .27 .73 .73 .27     all          acc 1
 * </pre>
 *
 * Seed 1 is the same except that b's run diverged (runs.csv says so, and its logits there are garbage): b's seed 1 is
 * left out of every average. The expected ensemble accuracies are worked out beside each assertion.
 */
class EnsembleOracleTest {
  static final float[] A = {2, 0, 0, 2, 2, 0, 0, 2}, B = {0, 1, 0, 1, 0, 1, 0, 1}, C = {1, 0, 0, 1, 0, 1, 1, 0};

  static byte[] run(float[] z) {
    short[] h = new short[z.length];
    for (int i = 0; i < z.length; i++) h[i] = half(z[i]);
    return npyHalf(h, z.length / 2, 2);
  }

  /** An IDX file of unsigned bytes (gzipped), dims as given. */
  static void idx(Path f, int ndim, int[] dims, byte[] data) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ByteBuffer h = ByteBuffer.allocate(4 + 4 * ndim);
    h.putInt(0x0800 | ndim);
    for (int d : dims) h.putInt(d);
    b.write(h.array());
    b.write(data);
    try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
      o.write(b.toByteArray());
    }
  }

  /** Writes the synthetic benchmark: tasks/t/{train,test} IDX, tasks.json, runs.csv, logits/t/*.npz. */
  static Path benchmark(Path dir) throws Exception {
    Path t = Files.createDirectories(dir.resolve("tasks/t/test"));
    idx(dir.resolve("tasks/t/train-images-idx3-ubyte.gz"), 3, new int[] {4, 2, 2}, new byte[16]);
    idx(dir.resolve("tasks/t/train-labels-idx1-ubyte.gz"), 1, new int[] {4}, new byte[] {0, 1, 0, 1});
    idx(t.resolve("test-images-idx3-ubyte.gz"), 3, new int[] {4, 2, 2}, new byte[16]);
    idx(t.resolve("test-labels-idx1-ubyte.gz"), 1, new int[] {4}, new byte[] {0, 1, 1, 0});
    Files.writeString(dir.resolve("tasks/tasks.json"),
        "{\"tasks\": [{\"name\": \"t\", \"train\": \"t/train-images-idx3-ubyte.gz\", \"test\": \"t/test/test-images-idx3-ubyte.gz\"}]}");
    Files.writeString(dir.resolve("runs.csv"), """
        task,expert,lr,seed,val_accuracy,test_accuracy,diverged
        t,a,0.002,0,0.9,0.5,0
        t,a,0.002,1,0.9,0.5,0
        t,a,0.0005,0,0.5,0.5,0
        t,a,0.0005,1,0.5,0.5,0
        t,b,0.002,0,0.8,0.5,0
        t,b,0.002,1,0.1,0.5,1
        t,c,0.002,0,0.7,1.0,0
        t,c,0.002,1,0.7,1.0,0
        """);
    Path logits = Files.createDirectories(dir.resolve("logits/t"));
    float[] zero = new float[8];
    writeNpz(logits.resolve("a.npz"), new LinkedHashMap<>(Map.of("lr0.002_seed0", run(A), "lr0.002_seed1", run(A), "lr0.0005_seed0", run(zero),
        "lr0.0005_seed1", run(zero))));
    writeNpz(logits.resolve("b.npz"), new LinkedHashMap<>(Map.of("lr0.002_seed0", run(B), "lr0.002_seed1", run(new float[] {9, 0, 9, 0, 9, 0, 9, 0}))));
    writeNpz(logits.resolve("c.npz"), new LinkedHashMap<>(Map.of("lr0.002_seed0", run(C), "lr0.002_seed1", run(C))));
    return dir;
  }

  static EnsembleOracle.Loaded load(Path dir) {
    return EnsembleOracle.load(dir.resolve("logits"), Tasks.read(dir.resolve("tasks")), SeedRuns.read(dir.resolve("runs.csv")));
  }

  /**
   * An expert every run of which diverged keeps all its runs, as the single-expert oracle ({@code tools/zoo/oracle.py})
   * does: d always says class 0 (p(1) = .27 on every row), so alone it is right on rows 0 and 3 (0.5), and with c
   * (p(1) = .27 .73 .73 .27) the average is .27 .5 .5 .27: the ties on rows 1 and 2 go to class 0, wrong, so c + d is
   * 0.5 at seed 0, where leaving d out would give c's 1.0. d's seed-1 logits are not finite (one of oracle.py's reasons
   * to call a run diverged): d is left out of seed 1 alone, so c + d there is c's 1.0, and the set's value 0.75.
   */
  @Test
  void anExpertWhoseRunsAllDivergedKeepsThem(@TempDir Path dir) throws Exception {
    benchmark(dir);
    Files.writeString(dir.resolve("runs.csv"), Files.readString(dir.resolve("runs.csv")) + "t,d,0.002,0,0.1,0.5,1\nt,d,0.002,1,0.1,0.5,1\n");
    float[] d = {1, 0, 1, 0, 1, 0, 1, 0};
    short[] nan = new short[8];
    nan[0] = (short) 0x7e00;  // float16 NaN
    writeNpz(dir.resolve("logits/t/d.npz"), new LinkedHashMap<>(Map.of("lr0.002_seed0", run(d), "lr0.002_seed1", npyHalf(nan, 4, 2))));
    EnsembleOracle.Loaded o = load(dir);
    assertTrue(o.warnings().isEmpty(), o.warnings().toString());
    EnsembleOracle.Task t = o.tasks().get("t");
    assertEquals(List.of("a", "b", "c", "d"), t.experts());
    assertEquals(0.5, t.accuracy(List.of("d")), 1e-12);
    assertEquals(0.75, t.accuracy(List.of("c", "d")), 1e-12, "d's outputs are averaged in at seed 0, and d is left out of seed 1");
  }

  @Test
  void ensembleAccuracyFollowsTheRule(@TempDir Path dir) throws Exception {
    EnsembleOracle.Loaded o = load(benchmark(dir));
    assertTrue(o.warnings().isEmpty(), o.warnings().toString());
    EnsembleOracle.Task t = o.tasks().get("t");
    assertEquals(List.of("a", "b", "c"), t.experts());
    // singles: the oracle's own values
    assertEquals(0.5, t.accuracy(List.of("a")), 1e-12);
    assertEquals(0.5, t.accuracy(List.of("b")), 1e-12, "only b's seed 0 counts: its seed 1 diverged");
    assertEquals(1.0, t.accuracy(List.of("c")), 1e-12);
    // a+b: seed 0 averages p(1) = .42 .81 .42 .81 (rows 0, 1 right: 0.5); seed 1 is a alone (0.5)
    assertEquals(0.5, t.accuracy(List.of("a", "b")), 1e-12);
    // b+c at seed 0: p(1) = .5 .73 .73 .5: row 0 is a tie (to class 0: right), rows 1, 2 right, row 3 a tie (right): 1.0;
    // seed 1: c alone: 1.0
    assertEquals(1.0, t.accuracy(List.of("b", "c")), 1e-12);
    // a+c, both seeds: p(1) = .19 .81 .42 .58 against labels 0 1 1 0: rows 0, 1 right, rows 2, 3 wrong
    assertEquals(0.5, t.accuracy(List.of("a", "c")), 1e-12);
    assertEquals(Double.NaN, t.accuracy(List.of("a", "nobody")));
    // best sets: exhaustive over the 3 pairs; b+c reaches 1.0 (ties keep the first found in pool order)
    EnsembleOracle.Set best2 = t.best(2);
    assertEquals(List.of("b", "c"), best2.experts());
    assertEquals(1.0, best2.accuracy(), 1e-12);
    assertEquals("exhaustive", best2.method());
    assertEquals(List.of("c"), t.best(1).experts());
    NeedleException e = assertThrows(NeedleException.class, () -> t.best(4));
    assertTrue(e.getMessage().contains("4") && e.getMessage().contains("1..3"), e.getMessage());

    // a picked pair's regret against the best pair
    EnsembleEvaluation.Result r = EnsembleEvaluation.run(o, List.of(new EnsembleEvaluation.Picked("t", "x", List.of("a", "b")),
        new EnsembleEvaluation.Picked("t", "x", List.of("a", "zed")), new EnsembleEvaluation.Picked("other", "x", List.of("a", "b"))));
    assertEquals(2, r.rows().size(), "the picked pair and the reference");
    EnsembleEvaluation.Row row = r.rows().get(0);
    assertEquals("x", row.source());
    assertEquals(0.5, row.absolute(), 1e-12);
    assertEquals(1.0, row.relative(), 1e-12, "(1 - 0.5) / (1 - 0.5)");
    assertEquals(0.5, row.bestMember(), 1e-12);
    assertEquals(1.0, row.bestSingle(), 1e-12);
    assertTrue(r.warnings().stream().anyMatch(w -> w.contains("zed") && w.contains("undefined")), r.warnings().toString());
    assertTrue(r.warnings().stream().anyMatch(w -> w.contains("other")), r.warnings().toString());
    // the reference: the two best singles are c (1.0) and a (0.5, tied with b, the lower id first), whose pair reaches
    // only 0.5: knowing every expert's accuracy alone does not find the best pair b+c
    EnsembleEvaluation.Row ref = r.rows().get(1);
    assertEquals(EnsembleEvaluation.BEST_SINGLES, ref.source());
    assertEquals(List.of("c", "a"), ref.experts());
    assertEquals(0.5, ref.accuracy(), 1e-12);
    assertEquals(1.0, ref.bestMember(), 1e-12);
    assertEquals(List.of("b", "c"), ref.bestSet());
    assertEquals(0.5, ref.absolute(), 1e-12);
    assertTrue(r.summaries().stream().anyMatch(x -> x.source().equals(EnsembleEvaluation.BEST_SINGLES) && x.k() == 2 && x.tasks() == 1));
  }

  @Test
  void badLogitsMakeTheirExpertUndefinedNotTheRun(@TempDir Path dir) throws Exception {
    benchmark(dir);
    Path logits = dir.resolve("logits/t");
    Files.write(logits.resolve("a.npz"), "garbled".getBytes());                      // not a zip
    writeNpz(logits.resolve("b.npz"), Map.of("lr0.002_seed1", run(B)));               // lacks the kept seed 0
    short[] three = new short[12];
    writeNpz(logits.resolve("c.npz"), Map.of("lr0.002_seed0", npyHalf(three, 4, 3), "lr0.002_seed1", npyHalf(three, 4, 3)));  // 3 classes
    EnsembleOracle.Loaded o = load(dir);
    assertTrue(o.tasks().isEmpty(), "no expert is usable");
    String all = String.join("\n", o.warnings());
    assertTrue(all.contains("expert 'a' undefined") && all.contains("a.npz"), all);
    assertTrue(all.contains("expert 'b' undefined") && all.contains("lr0.002_seed0"), all);
    assertTrue(all.contains("expert 'c' undefined") && all.contains("3 classes") && all.contains("2"), all);
    assertTrue(all.contains("no expert has usable logits"), all);

    Files.delete(logits.resolve("c.npz"));
    writeNpz(logits.resolve("c.npz"), Map.of("lr0.002_seed0", run(C), "lr0.002_seed1", run(C)));
    o = load(dir);
    assertEquals(List.of("c"), o.tasks().get("t").experts(), "the good expert stays");
    NeedleException e = assertThrows(NeedleException.class, () -> EnsembleOracle.load(dir.resolve("nowhere"), List.of(), SeedRuns.read(dir.resolve("runs.csv"))));
    assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
  }

  @Test
  void runKeysAreWrittenAsPythonsPercentG() {
    assertEquals("lr0.002_seed3", EnsembleOracle.key(0.002, 3));
    assertEquals("lr0.0005_seed0", EnsembleOracle.key(0.0005, 0));
    assertEquals("lr0.001_seed1", EnsembleOracle.key(1e-3, 1));
    assertEquals("lr0.0003_seed2", EnsembleOracle.key(3e-4, 2));
    assertEquals("lr1e-05_seed0", EnsembleOracle.key(1e-5, 0));
    assertEquals("lr2.5e-06_seed0", EnsembleOracle.key(2.5e-6, 0));
    assertEquals("lr0.1_seed0", EnsembleOracle.key(0.1, 0));
    assertEquals("lr1_seed0", EnsembleOracle.key(1, 0));
  }

  @Test
  void setsCsvIsCheckedLineByLine(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("sets.csv");
    Files.writeString(f, "task,method,k,experts,predicted\nt,calibrated,2,a;b,0.9\nt,calibrated,1,c,0.8\n");
    List<EnsembleEvaluation.Picked> p = EnsembleEvaluation.readSets(f);
    assertEquals(List.of("a", "b"), p.get(0).experts());
    Files.writeString(f, "task,method,k,experts\nt,calibrated,3,a;b\n");
    NeedleException e = assertThrows(NeedleException.class, () -> EnsembleEvaluation.readSets(f));
    assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("k = 3"), e.getMessage());
  }
}
