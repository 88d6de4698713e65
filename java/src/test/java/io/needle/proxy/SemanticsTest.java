package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Labels;
import io.needle.engine.Neighbors;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The definitions documented on {@link Proxy}, on hand-checkable cases. */
class SemanticsTest {
  @Test
  void voteTieGoesToTheClassWithTheNearestMember() {
    // neighbours of row 0, nearest first: classes 2, 1, 1, 2 -> 2 and 1 tie on votes; 2 has the nearest member
    Neighbors nn = new Neighbors(1, 4, new int[] {5, 6, 7, 8}, new float[4]);
    int[] labels = {0, 0, 0, 0, 0, 2, 1, 1, 2};
    assertEquals(2, Knn.vote(nn, 0, labels));
    Neighbors clear = new Neighbors(1, 3, new int[] {5, 6, 7}, new float[3]);
    assertEquals(1, Knn.vote(clear, 0, labels));
  }

  @Test
  void leaveOneOutExcludesSelfByIndexEvenForDuplicates() {
    // rows 0 and 1 are identical but of different classes; LOO must use the duplicate, not itself
    float[] x = {0, 0, 0, 0, 5, 5, 5, 6};
    int[] y = {0, 1, 1, 1};
    try (Needle n = Needle.builder().backend("java").build()) {
      List<Score> s = n.score(y, Map.of("e", x));
      // row0 -> row1 (class 1, wrong); row1 -> row0 (wrong); row2 -> row3 (right); row3 -> row2 (right)
      assertEquals(0.5, s.get(0).score(), 0);
    }
  }

  @Test
  void singletonClassIsAlwaysWrongUnderLeaveOneOut() {
    float[] x = {0, 0.1f, 0.2f, 10, 10.1f};
    Labels labels = Labels.of(new int[] {7, 7, 7, 9, 3}, "y");
    double acc = Knn.leaveOneOut(new io.needle.engine.JavaBackend(1), List.of(new Embedding("e", x, 5, 1)), labels.classes0(), 1, false)[0];
    assertEquals(3.0 / 5, acc, 0);
  }

  @Test
  void stratifiedSplitIs800By200AndSeeded() {
    int[] y = new int[1000];
    for (int i = 0; i < y.length; i++) y[i] = i % 7 == 0 ? 3 : i % 3;
    Labels labels = Labels.of(y, "y");
    Split a = Split.stratified(labels, 0.2, 4), b = Split.stratified(labels, 0.2, 4), c = Split.stratified(labels, 0.2, 5);
    assertEquals(200, a.val().length);
    assertEquals(800, a.train().length);
    assertArrayEquals(a.val(), b.val());
    assertEquals(false, java.util.Arrays.equals(a.val(), c.val()));
    int[] perClass = new int[labels.classes()];
    for (int i : a.val()) perClass[labels.classes0()[i]]++;
    int[] counts = labels.counts();
    for (int k = 0; k < perClass.length; k++) assertEquals(0.2 * counts[k], perClass[k], 1.0);
  }

  @Test
  void cosineIgnoresScale() {
    // rows 2 and 3 point the way of rows 0 and 1 but 100 times farther: nearest by cosine, far by Euclidean
    float[] x = {1, 0, 0, 1, 100, 1, 1, 100};
    int[] y = {0, 1, 0, 1};
    Labels l = Labels.of(y, "y");
    Embedding e = new Embedding("e", x, 4, 2);
    double cos = Knn.leaveOneOut(new io.needle.engine.JavaBackend(1), List.of(e), l.classes0(), 1, true)[0];
    double euc = Knn.leaveOneOut(new io.needle.engine.JavaBackend(1), List.of(e), l.classes0(), 1, false)[0];
    assertEquals(1.0, cos, 0);
    assertEquals(0.5, euc, 0);
  }

  @Test
  void sgdProtocolLearnsASeparableTask() {
    int n = 200, d = 4;
    float[] x = new float[n * d];
    int[] y = new int[n];
    java.util.Random r = new java.util.Random(1);
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      for (int p = 0; p < d; p++) x[i * d + p] = (float) (r.nextGaussian() * 0.3 + (p == 0 ? 2 * y[i] - 1 : 0));
    }
    Labels l = Labels.of(y, "y");
    LinearProbe.Params o = new LinearProbe.Params(1.0, "sgd", 500, 1e-5, 200, 64, 3, 0);
    double acc = LinearProbe.score(new io.needle.engine.JavaBackend(1), List.of(new Embedding("e", x, n, d)), l.classes0(), 2,
        Split.stratified(l, 0.2, 0), o)[0];
    assertEquals(1.0, acc, 0.051);
  }
}
