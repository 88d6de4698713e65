package io.needle.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.data.Npy;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime inference against PyTorch: the embeddings of the first images equal the references written by
 * tools/fixtures/make_onnx_fixtures.py (PyTorch forward on the PNGs as PIL decodes them).
 */
class EmbedTest {
  static final Path EXAMPLE = Path.of("..", "examples", "fashion-tiny");

  static Path onnx(String name) {
    return io.needle.Fixtures.onnx(name);
  }

  /** Runs experts with no cache and returns their embeddings; failures are returned by id. */
  static Map<String, Object> run(List<Expert> experts, Images images) {
    Map<String, Object> out = new LinkedHashMap<>();
    new Pipeline("cpu", 0, 64).run(experts, images, null, new Pipeline.Listener() {
      @Override
      public void embedded(Expert e, Embedding x, boolean cached, double seconds, String device) {
        out.put(e.id(), x);
      }

      @Override
      public void failed(Expert e, String message) {
        out.put(e.id(), message);
      }
    });
    return out;
  }

  static void assertHead(float[] want, Embedding got, double tol, String who) {
    int d = got.cols();
    assertEquals(want.length % d, 0, who + " width");
    for (int i = 0; i < want.length; i++)
      assertEquals(want[i], got.data()[i], tol * Math.max(1, Math.abs(want[i])), who + " value " + i);
  }

  @Test
  void plainZooMatchesPyTorch() {
    Zoo zoo = Zoo.open(EXAMPLE.resolve("zoo"));
    assertTrue(zoo.problems().isEmpty(), zoo.problems().toString());
    assertEquals(List.of("cnn-random", "cnn-trained", "mlp-trained", "pixels-pool"), zoo.experts().stream().map(Expert::id).toList());
    Images images = Images.open(EXAMPLE.resolve("images"));
    assertEquals(500, images.size());
    assertEquals("28x28 gray", images.describe());
    Map<String, Object> got = run(zoo.experts(), images);
    for (Expert e : zoo.experts()) {
      Object x = got.get(e.id());
      assertTrue(x instanceof Embedding, e.id() + ": " + x);
      float[] want = Npy.read(EXAMPLE.resolve("reference").resolve(e.id() + ".head.npy")).toFloats();
      assertHead(want, (Embedding) x, 1e-4, e.id());
    }
  }
}
