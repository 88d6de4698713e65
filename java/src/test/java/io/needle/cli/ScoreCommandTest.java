package io.needle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.data.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code needle score} end to end on a folder with good and broken experts. */
class ScoreCommandTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    PrintStream o = System.out, e = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.run(args);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(o);
      System.setErr(e);
    }
  }

  @Test
  void scoresGoodExpertsAndListsEachBadOneWithItsReason() throws Exception {
    Path emb = Files.createDirectories(dir.resolve("emb"));
    for (String x : List.of("clean_d8", "mid_d64", "dups")) Files.copy(Fixtures.dir().resolve(x + ".npy"), emb.resolve(x + ".npy"));
    float[] nan = Npy.read(Fixtures.dir().resolve("clean_d8.npy")).toFloats();
    nan[8 * 17 + 3] = Float.NaN;
    Npy.writeFloats(emb.resolve("has_nan.npy"), nan, 300, 8);
    Npy.writeFloats(emb.resolve("short.npy"), new float[299 * 4], 299, 4);
    byte[] whole = Files.readAllBytes(Fixtures.dir().resolve("mid_d64.npy"));
    Files.write(emb.resolve("truncated.npy"), java.util.Arrays.copyOf(whole, whole.length / 2));
    Files.write(emb.resolve("empty.npy"), new byte[0]);
    Npy.writeLongs(emb.resolve("ints.npy"), new int[] {1, 2, 3});
    Fixtures.writeArrowExpert(emb.resolve("arrow_clean.arrow"), Npy.read(Fixtures.dir().resolve("clean_d8.npy")).toFloats(), 8);
    Path csv = dir.resolve("out/scores.csv");

    Run r = run("score", "--embeddings", emb.toString(), "--labels", Fixtures.dir().resolve("labels.npy").toString(),
        "--proxy", "knn-loo,knn-split,linear", "--out", csv.toString(), "--batch", "3");
    assertEquals(Main.PARTIAL, r.code(), r.err());
    List<String> lines = Files.readAllLines(csv);
    assertEquals("expert,proxy,score,status,reason", lines.get(0));
    assertEquals(1 + 9 * 3, lines.size());
    Map<String, String> loo = lines.stream().skip(1).filter(l -> l.contains(",knn-loo,"))
        .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(',')), l -> l));
    // good experts: scikit-learn's LOO accuracy (277/300 and 210/300), the Arrow copy equal to the .npy
    assertTrue(loo.get("clean_d8").startsWith("clean_d8,knn-loo,0.92333"), loo.get("clean_d8"));
    assertTrue(loo.get("arrow_clean").startsWith("arrow_clean,knn-loo,0.92333"), loo.get("arrow_clean"));
    assertTrue(loo.get("dups").startsWith("dups,knn-loo,0.7,ok"), loo.get("dups"));
    assertTrue(loo.get("has_nan").contains("failed") && loo.get("has_nan").contains("NaN at row 17, column 3"), loo.get("has_nan"));
    assertTrue(loo.get("short").contains("299 rows") && loo.get("short").contains("300"), loo.get("short"));
    assertTrue(loo.get("truncated").contains("truncated.npy") && loo.get("truncated").contains("truncated"), loo.get("truncated"));
    assertTrue(loo.get("empty").contains("empty"), loo.get("empty"));
    assertTrue(loo.get("ints").contains("shape"), loo.get("ints"));
    assertTrue(r.out().contains("failed:"), r.out());
    assertTrue(r.err().contains("scored 9 experts (5 failed)"), r.err());
  }

  /** Issue 11 item 3: x.arrow and x.npy in one folder collapsed silently into one result. */
  @Test
  void twoExpertFilesWithOneNameAreAnErrorNamingBoth() throws Exception {
    Path emb = Files.createDirectories(dir.resolve("emb"));
    Files.copy(Fixtures.dir().resolve("clean_d8.npy"), emb.resolve("x.npy"));
    Fixtures.writeArrowExpert(emb.resolve("x.arrow"), Npy.read(Fixtures.dir().resolve("mid_d64.npy")).toFloats(), 64);
    Files.copy(Fixtures.dir().resolve("dups.npy"), emb.resolve("dups.npy"));
    Path csv = dir.resolve("scores.csv");
    Run r = run("score", "--embeddings", emb.toString(), "--labels", Fixtures.dir().resolve("labels.npy").toString(), "--out", csv.toString(), "--quiet");
    assertEquals(Main.BAD_INPUT, r.code(), r.out() + r.err());
    assertTrue(r.err().contains("expert name 'x' is used by two files, x.arrow and x.npy"), r.err());
    assertTrue(!Files.exists(csv), "nothing is scored or written");
    // the library refuses two experts of one name too, rather than keeping one of them
    try (io.needle.Needle n = io.needle.Needle.builder().backend("java").build()) {
      io.needle.data.Embedding a = Fixtures.expert("clean_d8");
      io.needle.NeedleException e = org.junit.jupiter.api.Assertions.assertThrows(io.needle.NeedleException.class,
          () -> n.score(Fixtures.labels(), List.of(a, new io.needle.data.Embedding("clean_d8", a.data(), a.rows(), a.cols()))));
      assertTrue(e.getMessage().contains("expert 'clean_d8' is given twice"), e.getMessage());
    }
  }

  @Test
  void jsonAndArrowOutputsAndArrowLabels() throws Exception {
    Path emb = Files.createDirectories(dir.resolve("emb"));
    Files.copy(Fixtures.dir().resolve("clean_d8.npy"), emb.resolve("clean_d8.npy"));
    Path labels = dir.resolve("labels.arrow");
    int[] y = Npy.read(Fixtures.dir().resolve("labels.npy")).toInts();
    try (RootAllocator a = new RootAllocator(); BigIntVector v = new BigIntVector("label", a)) {
      v.allocateNew(y.length);
      for (int i = 0; i < y.length; i++) v.set(i, y[i]);
      v.setValueCount(y.length);
      try (VectorSchemaRoot root = VectorSchemaRoot.of(v); var ch = Files.newByteChannel(labels, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
          ArrowFileWriter w = new ArrowFileWriter(root, null, ch)) {
        w.start();
        w.writeBatch();
        w.end();
      }
    }
    Path json = dir.resolve("s.json"), arrow = dir.resolve("s.arrow");
    assertEquals(Main.OK, run("score", "--embeddings", emb.toString(), "--labels", labels.toString(), "--out", json.toString(), "--quiet").code());
    var doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
    assertEquals(1, doc.size(), doc.toString());
    var row = doc.get(0);
    assertEquals("clean_d8", row.get("expert").asText());
    assertEquals("knn-loo", row.get("proxy").asText());
    assertEquals(0.9233333333333333, row.get("score").asDouble());
    assertEquals("ok", row.get("status").asText());
    assertTrue(row.get("reason").isNull(), doc.toString());
    assertEquals(Main.OK, run("score", "--embeddings", emb.toString(), "--labels", labels.toString(), "--out", arrow.toString(), "--backend", "java", "--quiet").code());
    try (RootAllocator a = new RootAllocator(); var ch = Files.newByteChannel(arrow); ArrowFileReader rd = new ArrowFileReader(ch, a)) {
      rd.loadNextBatch();
      VectorSchemaRoot root = rd.getVectorSchemaRoot();
      assertEquals(1, root.getRowCount());
      assertEquals(0.9233333333333333, ((org.apache.arrow.vector.Float8Vector) root.getVector("score")).get(0), 1e-12);
    }
  }

  /** Issue 11 item 6: "backend cuda skipped" (an informational log line) printed with --quiet. */
  @Test
  void quietDropsInformationalLogLines() throws Exception {
    Path emb = Files.createDirectories(dir.resolve("emb"));
    Files.copy(Fixtures.dir().resolve("clean_d8.npy"), emb.resolve("clean_d8.npy"));
    String labels = Fixtures.dir().resolve("labels.npy").toString();
    Run quiet = run("score", "--embeddings", emb.toString(), "--labels", labels, "--backend", "auto", "--quiet");
    assertEquals(Main.OK, quiet.code(), quiet.err());
    assertTrue(!quiet.err().contains("skipped"), quiet.err());
    // the backend's line is logged once per process, so check the mechanism as well: through the library's SLF4J
    // loggers, INFO is off while quiet, and on again for a run without --quiet
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("io.needle.engine");
    assertTrue(!log.isInfoEnabled());
    assertTrue(log.isWarnEnabled());
    run("score", "--embeddings", emb.toString(), "--labels", labels, "--backend", "java");
    assertTrue(log.isInfoEnabled());
  }

  @Test
  void exitCodesForUsageInputAndBackendErrors() {
    assertEquals(Main.USAGE, run("score", "--labels", "x.npy").code());
    assertEquals(Main.USAGE, run("score", "--embeddings", Fixtures.dir().toString(), "--labels", Fixtures.dir().resolve("labels.npy").toString(), "--proxy", "nope").code());
    Run missing = run("score", "--embeddings", dir.resolve("none").toString(), "--labels", Fixtures.dir().resolve("labels.npy").toString());
    assertEquals(Main.BAD_INPUT, missing.code());
    assertTrue(missing.err().contains("not a directory"), missing.err());
    Run bad = run("score", "--embeddings", dir.toString(), "--labels", dir.resolve("nolabels.npy").toString());
    assertEquals(Main.BAD_INPUT, bad.code());
    assertTrue(bad.err().contains("nolabels.npy: no such file"), bad.err());
    assertEquals(Main.OK, run("doctor").code());
  }
}
