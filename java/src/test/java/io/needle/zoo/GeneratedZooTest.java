package io.needle.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.embed.Pipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code needle zoo generate}: a valid zoo whose every expert runs in ONNX Runtime and gives its own embedding. */
class GeneratedZooTest {
  /** 64 random 28x28 gray images in 4 classes. */
  static Images images(int n, long seed) {
    Random r = new Random(seed);
    byte[] px = new byte[n * 28 * 28];
    r.nextBytes(px);
    int[] y = new int[n];
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      y[i] = i % 4;
      names.add("img" + i);
    }
    return new Images("random", 28, 28, 1, px, y, List.of("a", "b", "c", "d"), names, List.of());
  }

  @Test
  void everyExpertRunsAndDiffers(@TempDir Path dir) throws Exception {
    GeneratedZoo.Written w = GeneratedZoo.write(dir, 40, 28, 1, 7);
    assertTrue(w.experts() >= 40 && w.experts() < 40 + GeneratedZoo.ADAPTERS, "count " + w.experts());
    Zoo zoo = Zoo.open(dir);
    assertTrue(zoo.problems().isEmpty(), zoo.problems().toString());
    assertEquals(w.experts(), zoo.experts().size());
    assertTrue(zoo.experts().stream().anyMatch(Expert::adapter), "some packed adapters");
    assertTrue(zoo.experts().stream().map(e -> e.meta().architecture()).distinct().count() >= 3, "varied architectures");
    Map<String, Embedding> out = new LinkedHashMap<>();
    List<String> failed = new ArrayList<>();
    new Pipeline("cpu", 0, 32).run(zoo.experts(), images(64, 1), null, new Pipeline.Listener() {
      @Override
      public void embedded(Expert e, Embedding x, boolean cached, double s, String device) {
        out.put(e.id(), x);
      }

      @Override
      public void failed(Expert e, String message) {
        failed.add(message);
      }
    });
    assertEquals(List.of(), failed);
    assertEquals(zoo.experts().size(), out.size());
    // no two experts (adapters of one model included) give the same embedding
    List<float[]> seen = new ArrayList<>();
    for (Embedding x : out.values()) {
      assertEquals(64, x.rows());
      for (float[] s : seen) assertFalse(Arrays.equals(s, x.data()), "two experts embed alike");
      seen.add(x.data());
    }
  }

  @Test
  void sameArgumentsSameBytes(@TempDir Path a, @TempDir Path b) throws Exception {
    GeneratedZoo.write(a, 12, 16, 3, 3);
    GeneratedZoo.write(b, 12, 16, 3, 3);
    List<Path> files;
    try (var s = Files.list(a)) {
      files = s.sorted().toList();
    }
    assertEquals(13, files.size(), "12 models and the manifest");
    for (Path f : files) assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(f.getFileName())), f.getFileName().toString());
  }
}
