package io.needle.engine;

import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Custom CUDA kernels through JavaCPP (no cuBLAS): batched k-NN candidate search with fused selection, many
 * experts per launch, followed by the same float64 host re-rank as the cpu backend; batched softmax
 * gradients. Each tensor is held on the device, plus a native host copy for the re-rank.
 */
public final class CudaBackend implements Backend {
  private Pointer labels;
  private int[] labelsKey;

  /** @throws NeedleException BACKEND_UNAVAILABLE when the library is absent or no device is usable */
  public CudaBackend() {
    String why = unavailableReason();
    if (why != null) throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "cuda backend: " + why);
  }

  /** @return null if a CUDA device is usable here, else the reason it is not */
  static String unavailableReason() {
    NativeLoader.Status s = NativeLoader.load(NativeCuda.class, "nvcc was not found when Needle was built");
    if (!s.loaded()) return s.reason();
    try (IntPointer count = new IntPointer(1); BytePointer err = new BytePointer(512)) {
      int rc = NativeCuda.needle_cuda_devices(count, err, 512);
      return rc == 0 ? null : cstr(err);
    }
  }

  /** A NUL-terminated C string in a buffer (getString alone would read the whole buffer). */
  private static String cstr(BytePointer p) {
    return p.limit(p.position()).getString();
  }

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public String describe() {
    try (BytePointer out = new BytePointer(512)) {
      return NativeCuda.needle_cuda_describe(out, 512) == 0 ? "CUDA kernels on " + cstr(out) : "CUDA kernels";
    }
  }

  static final class DeviceTensor extends Shaped {
    final Pointer device;
    final FloatPointer host;

    DeviceTensor(float[] values, int rows, int cols) {
      super(rows, cols);
      long bytes = 4L * values.length;
      Pointer p = NativeCuda.needle_cuda_alloc(bytes);
      if (p == null || p.isNull()) throw error("cudaMalloc of " + bytes + " bytes");
      this.device = p;
      this.host = new FloatPointer(values);
      if (NativeCuda.needle_cuda_upload(device, host, bytes) != 0) {
        close();
        throw error("upload");
      }
    }

    @Override
    public void close() {
      if (!device.isNull()) NativeCuda.needle_cuda_free(device);
      device.setNull();
      host.close();
    }
  }

  @Override
  public Tensor put(float[] data, int rows, int cols) {
    Checks.put(data, rows, cols);
    return new DeviceTensor(data, rows, cols);
  }

  private static DeviceTensor dev(Tensor t) {
    if (t instanceof DeviceTensor d) return d;
    throw Checks.invalid("tensor was not made by the cuda backend");
  }

  @Override
  public Neighbors nearest(Tensor query, Tensor base, int k, boolean self) {
    return nearest(List.of(query), List.of(base), k, self).get(0);
  }

  @Override
  public List<Neighbors> nearest(List<Tensor> queries, List<Tensor> bases, int k, boolean self) {
    // one launch per group of equal shapes
    Map<String, List<Integer>> groups = new LinkedHashMap<>();
    for (int t = 0; t < queries.size(); t++) {
      Checks.nearest(queries.get(t), bases.get(t), k, self);
      Tensor q = queries.get(t), b = bases.get(t);
      groups.computeIfAbsent(q.rows() + "x" + b.rows() + "x" + q.cols(), s -> new ArrayList<>()).add(t);
    }
    Neighbors[] out = new Neighbors[queries.size()];
    for (List<Integer> g : groups.values()) {
      int e = g.size();
      DeviceTensor q0 = dev(queries.get(g.get(0))), b0 = dev(bases.get(g.get(0)));
      int nq = q0.rows;
      try (PointerPointer<Pointer> dq = new PointerPointer<>(e); PointerPointer<Pointer> hq = new PointerPointer<>(e);
          PointerPointer<Pointer> db = new PointerPointer<>(e); PointerPointer<Pointer> hb = new PointerPointer<>(e);
          IntPointer idx = new IntPointer((long) e * nq * k); FloatPointer dist = new FloatPointer((long) e * nq * k)) {
        for (int t = 0; t < e; t++) {
          DeviceTensor q = dev(queries.get(g.get(t))), b = dev(bases.get(g.get(t)));
          dq.put(t, q.device);
          hq.put(t, q.host);
          db.put(t, b.device);
          hb.put(t, b.host);
        }
        check(NativeCuda.needle_cuda_knn(dq, hq, nq, db, hb, b0.rows, q0.cols, e, k, self ? 1 : 0, idx, dist), "knn");
        for (int t = 0; t < e; t++) {
          int[] index = new int[nq * k];
          float[] distance = new float[nq * k];
          idx.position((long) t * nq * k).get(index);
          dist.position((long) t * nq * k).get(distance);
          out[g.get(t)] = new Neighbors(nq, k, index, distance);
        }
      }
    }
    return List.of(out);
  }

  @Override
  public double softmaxGrad(Tensor x, int[] y, float[] rowWeight, int classes, float[] w, float[] grad) {
    return softmaxGrad(List.of(x), y, rowWeight, classes, List.of(w), List.of(grad))[0];
  }

  @Override
  public double[] softmaxGrad(List<Tensor> xs, int[] y, float[] rowWeight, int classes, List<float[]> w, List<float[]> grad) {
    double[] out = new double[xs.size()];
    Map<Integer, List<Integer>> groups = new LinkedHashMap<>();
    for (int t = 0; t < xs.size(); t++) {
      Checks.softmax(xs.get(t), y, rowWeight, classes, w.get(t), grad.get(t));
      groups.computeIfAbsent(xs.get(t).cols(), s -> new ArrayList<>()).add(t);
    }
    Pointer dy = deviceLabels(y);
    Pointer drw = rowWeight == null ? null : upload(new FloatPointer(rowWeight), 4L * rowWeight.length);
    try {
      for (List<Integer> g : groups.values()) {
        int e = g.size(), d = xs.get(g.get(0)).cols(), n = y.length, size = classes * (d + 1);
        try (PointerPointer<Pointer> px = new PointerPointer<>(e); FloatPointer pw = new FloatPointer((long) e * size);
            FloatPointer pg = new FloatPointer((long) e * size); DoublePointer loss = new DoublePointer(e)) {
          for (int t = 0; t < e; t++) {
            px.put(t, dev(xs.get(g.get(t))).device);
            pw.position((long) t * size).put(w.get(g.get(t)));
          }
          pw.position(0);
          check(NativeCuda.needle_cuda_softmax_grad(px, n, d, dy, drw, classes, e, pw, pg, loss), "softmax");
          for (int t = 0; t < e; t++) {
            pg.position((long) t * size).get(grad.get(g.get(t)));
            out[g.get(t)] = loss.get(t);
          }
        }
      }
    } finally {
      if (drw != null) NativeCuda.needle_cuda_free(drw);
    }
    return out;
  }

  private Pointer deviceLabels(int[] y) {
    if (labelsKey != y) {
      if (labels != null) NativeCuda.needle_cuda_free(labels);
      labels = upload(new IntPointer(y), 4L * y.length);
      labelsKey = y;
    }
    return labels;
  }

  private static Pointer upload(Pointer host, long bytes) {
    try (host) {
      Pointer p = NativeCuda.needle_cuda_alloc(bytes);
      if (p == null || p.isNull()) throw error("cudaMalloc of " + bytes + " bytes");
      if (NativeCuda.needle_cuda_upload(p, host, bytes) != 0) {
        NativeCuda.needle_cuda_free(p);
        throw error("upload");
      }
      return p;
    }
  }

  private static NeedleException error(String what) {
    return new NeedleException(NeedleException.Code.NATIVE_ERROR,
        "cuda " + what + " failed: " + NativeCuda.needle_cuda_last_error().getString());
  }

  private static void check(int rc, String what) {
    if (rc != 0) throw error(what + " kernel (code " + rc + ")");
  }

  @Override
  public void close() {
    if (labels != null) NativeCuda.needle_cuda_free(labels);
    labels = null;
    labelsKey = null;
  }
}
