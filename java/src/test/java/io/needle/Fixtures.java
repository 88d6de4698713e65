package io.needle;

import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import io.needle.data.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The scikit-learn reference fixtures made by tools/fixtures/make_fixtures.py (see their README). */
public final class Fixtures {
  public static final List<String> EXPERTS = List.of("clean_d8", "mid_d64", "weak_d200", "noise_d8", "dups", "ties_int");

  private Fixtures() {}

  public static Path dir() {
    try {
      return Path.of(Fixtures.class.getResource("/fixtures/labels.npy").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A model of java/src/test/resources/onnx/ (made by tools/fixtures/make_onnx_fixtures.py). */
  public static Path onnx(String name) {
    try {
      return Path.of(Fixtures.class.getResource("/onnx/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Labels labels() {
    return Experts.labels(dir().resolve("labels.npy"));
  }

  public static Embedding expert(String name) {
    return new Experts.Source(name, dir().resolve(name + ".npy"), null, null).load();
  }

  public static int[] ints(String file) {
    return Npy.read(dir().resolve(file)).toInts();
  }

  /** Rows of a reference CSV (header dropped), split on commas. */
  public static List<String[]> csv(String file) {
    try {
      List<String[]> out = new ArrayList<>();
      List<String> lines = Files.readAllLines(dir().resolve(file));
      for (String l : lines.subList(1, lines.size())) if (!l.isBlank()) out.add(l.split(","));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
