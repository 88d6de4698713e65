package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The linear probe's reusable arrays: reuse within a size, and a bounded total across many sizes. */
class LinearWorkspaceTest {
  @Test
  void arraysOfOneSizeAreReused() {
    LinearProbe.Workspace ws = new LinearProbe.Workspace();
    double[] a = ws.take(1000);
    float[] f = ws.takeFloats(1000);
    ws.give(a);
    ws.give(f);
    assertEquals(8000 + 4000, ws.heldBytes());
    assertSame(a, ws.take(1000));
    assertSame(f, ws.takeFloats(1000));
    assertEquals(0, ws.heldBytes());
  }

  @Test
  void manyWidthsDoNotAccumulate() {
    LinearProbe.Workspace ws = new LinearProbe.Workspace();
    // 40 widths x 23 arrays of 100 classes x (d + 1): about 7 GB if every size were kept
    for (int d = 1024; d < 1024 + 40 * 64; d += 64) {
      int size = 100 * (d + 1);
      double[][] batch = new double[23][];
      for (int i = 0; i < batch.length; i++) batch[i] = ws.take(size);
      for (double[] x : batch) ws.give(x);
      assertTrue(ws.heldBytes() <= LinearProbe.Workspace.CAP_BYTES, ws.heldBytes() + " bytes held at d = " + d);
      // the latest size is kept for the next batch of the same width
      assertTrue(ws.heldBytes() >= 8L * size, "the size just given back is kept");
    }
  }
}
