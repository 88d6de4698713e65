package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Fixtures;
import io.needle.TestBackends;
import io.needle.data.Embedding;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import io.needle.engine.Neighbors;
import io.needle.engine.Tensor;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every backend against scikit-learn's answers on the committed fixtures. */
class ReferenceTest {
  static Stream<String> backends() {
    return TestBackends.names().stream();
  }

  /** The scikit-learn fixtures' split: split.npy marks validation rows with 1. */
  static Split fixtureSplit() {
    int[] flags = Fixtures.ints("split.npy");
    boolean[] isVal = new boolean[flags.length];
    for (int i = 0; i < flags.length; i++) isVal[i] = flags[i] == 1;
    return Split.of(isVal);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void knnLooMatchesSklearnExactly(String name) {
    Labels labels = Fixtures.labels();
    try (Backend b = TestBackends.open(name)) {
      for (String[] r : Fixtures.csv("knn_loo_reference.csv")) {
        String expert = r[0];
        boolean cosine = r[1].equals("cosine");
        int k = Integer.parseInt(r[2]), correct = Integer.parseInt(r[4]);
        Embedding e = Fixtures.expert(expert);
        double acc = Knn.leaveOneOut(b, List.of(e), labels.classes0(), k, cosine)[0];
        long got = Math.round(acc * labels.size());
        if (cosine && expert.equals("ties_int")) {
          // seven rows have mathematically equal cosines that differ by one rounding unit (fixtures README)
          assertTrue(got >= 169 && got <= 173, name + " " + expert + " cosine: " + got);
        } else {
          assertEquals(correct, got, name + " " + expert + " " + r[1] + " k=" + k);
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void nearestNeighbourIndicesMatchSklearn(String name) {
    try (Backend b = TestBackends.open(name)) {
      for (String expert : Fixtures.EXPERTS) {
        Embedding e = Fixtures.expert(expert);
        int[] want = Fixtures.ints(expert + ".nn1.npy");
        try (Tensor x = b.put(e.data(), e.rows(), e.cols())) {
          Neighbors nn = b.nearest(x, x, 1, true);
          assertArrayEquals(want, nn.index(), name + " " + expert);
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void knnSplitMatchesSklearn(String name) {
    Labels labels = Fixtures.labels();
    Split split = fixtureSplit();
    try (Backend b = TestBackends.open(name)) {
      for (String[] r : Fixtures.csv("knn_split_reference.csv")) {
        double acc = Knn.trainVal(b, List.of(Fixtures.expert(r[0])), labels.classes0(), split, 1, false)[0];
        assertEquals(Integer.parseInt(r[2]), Math.round(acc * split.val().length), name + " " + r[0]);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void linearProbeMatchesSklearnLogisticRegression(String name) {
    Labels labels = Fixtures.labels();
    Split split = fixtureSplit();
    int[] ytrain = Split.pick(labels.classes0(), split.train());
    try (Backend b = TestBackends.open(name)) {
      for (String[] r : Fixtures.csv("linear_reference.csv")) {
        Embedding e = Fixtures.expert(r[0]);
        double acc = LinearProbe.score(b, List.of(e), labels.classes0(), labels.classes(), split, LinearProbe.Params.defaults())[0];
        // validation accuracy within one example of scikit-learn's (60 validation examples)
        assertEquals(Double.parseDouble(r[2]), acc, 1.0 / 60 + 1e-9, name + " " + r[0] + " accuracy");
        try (Tensor x = b.put(Split.rows(e.data(), e.cols(), split.train()), split.train().length, e.cols())) {
          float[] w = LinearProbe.lbfgs(b, List.of(x), ytrain, labels.classes(), LinearProbe.Params.defaults()).get(0);
          double obj = LinearProbe.sklearnObjective(b, x, ytrain, labels.classes(), w, 1.0);
          double ref = Double.parseDouble(r[3]);
          assertEquals(ref, obj, 1e-3 * ref, name + " " + r[0] + " objective");
        }
      }
    }
  }
}
