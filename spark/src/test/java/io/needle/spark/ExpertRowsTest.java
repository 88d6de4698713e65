package io.needle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.needle.zoo.Expert;
import io.needle.zoo.GeneratedZoo;
import io.needle.zoo.Preprocess;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Experts survive the trip through a Spark table to an executor: every manifest field, adapters and preprocessing included. */
class ExpertRowsTest {
  @Test
  void expertsRoundTripThroughATable(@TempDir Path tmp) {
    List<Expert> experts = new ArrayList<>(Zoo.open(SparkTests.MINI_VTAB.resolve("zoo")).experts());
    GeneratedZoo.write(tmp, 20, 28, 1, 6);
    experts.addAll(Zoo.open(tmp).experts());
    Expert.Metadata m = new Expert.Metadata("resnet50", 25_557_032L, 2048, "inaturalist", 579_184L, 0.761, List.of("natural", "big"), "resnet50-base",
        List.of("resnet50-a", "resnet50-b"));
    experts.add(new Expert("full", tmp.resolve("x.onnx"), "pixel_values", "pooled", "expert_index", 3,
        new Preprocess("rgb", new int[] {256}, new int[] {224, 224}, new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}, "NHWC"),
        m, "logits"));
    experts.add(new Expert("bare", tmp.resolve("y.onnx"), null, null, null, 0, Preprocess.DEFAULT, new Expert.Metadata(null, null, null, null, null, null, null)));
    List<Row> rows = NeedleSpark.experts(SparkTests.spark(), experts, 3).collectAsList();
    assertEquals(experts.size(), rows.size());
    for (int i = 0; i < rows.size(); i++) assertEquals(experts.get(i), ExpertRows.expert(rows.get(i)));
  }
}
