package io.needle.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import io.needle.Score;
import io.needle.data.Images;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Settings;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Zoo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * In a pool of a hundred experts run several at a time, the bad ones (a corrupt file, weights that give NaN, an input
 * the task cannot fill) fail with their reason and every other expert is scored, with and without successive halving.
 */
class ManyExpertsBadInputTest {
  @Test
  void badExpertsFailAloneInALargePool(@TempDir Path dir) throws Exception {
    Path zooDir = dir.resolve("zoo");
    GeneratedZoo.write(zooDir, 100, 28, 1, 21);
    // gen-00003: corrupt bytes; gen-00005: NaN weights; gen-00007: a model for 3-channel 32x32 images
    Files.write(zooDir.resolve("gen-00003.onnx"), new byte[] {8, 7, 1, 2, 3});
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(zooDir.resolve("gen-00005.onnx")));
    TensorProto w = m.getGraph().getInitializer(0);
    ByteBuffer nan = ByteBuffer.allocate(w.getRawData().size()).order(ByteOrder.LITTLE_ENDIAN);
    while (nan.hasRemaining()) nan.putFloat(Float.NaN);
    Files.write(zooDir.resolve("gen-00005.onnx"), m.toBuilder().setGraph(m.getGraph().toBuilder()
        .setInitializer(0, w.toBuilder().setRawData(ByteString.copyFrom(nan.array())))).build().toByteArray());
    Path other = dir.resolve("other");
    GeneratedZoo.write(other, 1, 32, 3, 5);
    Files.copy(other.resolve("gen-00000.onnx"), zooDir.resolve("gen-00007.onnx"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    Zoo zoo = Zoo.open(zooDir);
    Images images = Images.open(Path.of("..", "examples", "fashion-tiny", "images"));
    for (Halving h : new Halving[] {null, Halving.defaults(0)}) {
      Selector.Config c = new Selector.Config(Device.CPU, 0, 32, Backends.Kind.AUTO, List.of(Proxies.get("knn-loo")), Settings.defaults(),
          Strategies.get("task-aware"), 1, h);
      Selector.Result r = Selector.run(zoo, images, null, c, null);
      Map<String, Score> by = r.scores().stream().collect(Collectors.toMap(Score::expert, s -> s));
      List<String> ids = zoo.experts().stream().map(io.needle.zoo.Expert::id).toList();
      // the corrupt file is refused when the zoo opens; the other two fail when run
      assertTrue(zoo.problems().stream().anyMatch(p -> p.subject().contains("gen-00003")), zoo.problems().toString());
      assertEquals(Score.Status.FAILED, by.get("gen-00005").status());
      assertTrue(by.get("gen-00005").reason().toLowerCase().contains("nan"), by.get("gen-00005").reason());
      assertEquals(Score.Status.FAILED, by.get("gen-00007").status());
      assertTrue(by.get("gen-00007").reason().contains("3 channels"), by.get("gen-00007").reason());
      long failed = r.scores().stream().filter(s -> s.status() == Score.Status.FAILED).count();
      assertEquals(2, failed, (h == null ? "full" : "halving") + ": only the bad ones fail");
      assertEquals(ids.size(), r.scores().size(), "every expert of the zoo has a row");
      if (h == null) assertEquals(ids.size() - 2, r.scores().stream().filter(Score::ok).count(), "the rest are scored");
      assertTrue(r.problems().stream().anyMatch(p -> p.subject().startsWith("gen-00005")), r.problems().toString());
    }
  }
}
