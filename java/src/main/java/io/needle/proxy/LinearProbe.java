package io.needle.proxy;

import io.needle.data.Embedding;
import io.needle.engine.Backend;
import io.needle.engine.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The linear proxy: multinomial logistic regression on the frozen embeddings of the train split, scored by
 * validation accuracy. The optimiser is written once, here, and drives a batch of experts in lock step so a
 * backend can evaluate all their gradients in one call.
 *
 * <p>lbfgs (default): minimise {@code (1/n) [sum CE + ||W||^2 / (2C)]} (bias not penalised; the minimiser is
 * scikit-learn's LogisticRegression(C)) from zero by L-BFGS (memory 10) with a backtracking Armijo line
 * search, until the largest gradient entry is below the tolerance, the objective stops decreasing (relative
 * change below 1e-9, the float32 resolution of the loss), or the iteration cap.
 * sgd: the protocol of [004]: plain minibatch SGD on the mean cross-entropy from zero, learning rates 0.1
 * and 0.01, a fixed number of steps, the better learning rate's validation accuracy, median over runs.
 */
public final class LinearProbe {
  /** Inverse L2 strength, as scikit-learn's C. */
  public static final Option<Double> C = Option.real("linear-c", 1.0, v -> v > 0, "inverse L2 strength of the linear probe, as scikit-learn's C, > 0");
  /** lbfgs (to convergence) or sgd ([004]'s protocol). */
  public static final Option<String> SOLVER = Option.choice("linear-solver", "lbfgs", List.of("lbfgs", "sgd"),
      "lbfgs (deterministic, to convergence) or sgd (the protocol of [004])");
  /** L-BFGS iteration cap. */
  public static final Option<Integer> MAX_ITER = Option.integer("linear-max-iter", 500, 1, Integer.MAX_VALUE, "L-BFGS iteration cap, at least 1");
  /** L-BFGS gradient tolerance. */
  public static final Option<Double> TOLERANCE = Option.real("linear-tol", 1e-5, v -> v > 0,
      "L-BFGS stops when the largest gradient entry of the per-example objective is below this, > 0");
  /** SGD steps per learning rate. */
  public static final Option<Integer> SGD_STEPS = Option.integer("sgd-steps", 2500, 1, Integer.MAX_VALUE, "SGD steps per learning rate ([004]: 2500)");
  /** SGD minibatch size. */
  public static final Option<Integer> SGD_BATCH = Option.integer("sgd-batch", 512, 1, Integer.MAX_VALUE, "SGD minibatch size ([004]: 512)");
  /** SGD repetitions. */
  public static final Option<Integer> SGD_RUNS = Option.integer("sgd-runs", 1, 1, 1000,
      "SGD repetitions; the score is the median over runs of the best learning rate ([004]: 5)");
  /** Every option of the linear probe. */
  public static final List<Option<?>> OPTIONS = List.of(C, SOLVER, MAX_ITER, TOLERANCE, SGD_STEPS, SGD_BATCH, SGD_RUNS);

  /**
   * The linear probe's parameters.
   *
   * @param c inverse L2 strength, as scikit-learn's C: minimise C * sum(cross-entropy) + ||W||^2 / 2
   * @param solver "lbfgs" or "sgd"
   * @param maxIter L-BFGS iteration cap
   * @param tolerance L-BFGS gradient tolerance
   * @param sgdSteps SGD steps per learning rate
   * @param sgdBatch SGD minibatch size
   * @param sgdRuns SGD repetitions
   * @param seed seed of SGD
   */
  public record Params(double c, String solver, int maxIter, double tolerance, int sgdSteps, int sgdBatch, int sgdRuns, long seed) {
    /** @return the parameters as set (or defaulted) in {@code s} */
    public static Params of(Settings s) {
      return new Params(s.get(C), s.get(SOLVER), s.get(MAX_ITER), s.get(TOLERANCE), s.get(SGD_STEPS), s.get(SGD_BATCH), s.get(SGD_RUNS),
          s.get(TaskData.SEED));
    }

    /** @return the defaults */
    public static Params defaults() {
      return of(Settings.defaults());
    }
  }

  private static final int MEMORY = 10;
  private static final int MAX_BACKTRACKS = 20;
  private static final double FTOL = 1e-9;

  private LinearProbe() {}

  /**
   * Arrays of the L-BFGS state (the curvature history: 2 x 10 float64 vectors of c (d + 1) per expert) reused from batch
   * to batch within one scoring run ({@link TaskData} holds one): a run over hundreds of experts would otherwise leave
   * megabytes per expert to the garbage collector, whose heap then grows. Thread-safe.
   */
  public static final class Workspace {
    /**
     * What is kept for reuse is capped: a zoo of many embedding widths (or class counts) would otherwise keep arrays of
     * every size it ever saw until the run ends (found by review: 1.1 -> 47.6 MiB over 12 widths at 10 classes, about
     * 300 MB per width at 100 classes and D = 2048). Sizes not used for longest go first.
     */
    static final long CAP_BYTES = 256L << 20;

    // key: (float ? 1 : 0) << 32 | length; access order, so the eldest entry is the size used longest ago
    private final java.util.LinkedHashMap<Long, java.util.ArrayDeque<Object>> free = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private long held;

    /** @return an array of this length, contents undefined */
    synchronized double[] take(int size) {
      Object a = pop(size, false);
      return a == null ? new double[size] : (double[]) a;
    }

    /** @return an array of this length, contents undefined */
    synchronized float[] takeFloats(int size) {
      Object a = pop(size, true);
      return a == null ? new float[size] : (float[]) a;
    }

    synchronized void give(double[] a) {
      if (a != null) push(a, a.length, false, 8L * a.length);
    }

    synchronized void give(float[] a) {
      if (a != null) push(a, a.length, true, 4L * a.length);
    }

    /** @return the bytes of the arrays kept for reuse (for tests) */
    synchronized long heldBytes() {
      return held;
    }

    private Object pop(int size, boolean floats) {
      java.util.ArrayDeque<Object> q = free.get(key(size, floats));
      if (q == null || q.isEmpty()) return null;
      held -= (floats ? 4L : 8L) * size;
      return q.pop();
    }

    private void push(Object a, int length, boolean floats, long bytes) {
      long k = key(length, floats);
      free.computeIfAbsent(k, x -> new java.util.ArrayDeque<>()).push(a);
      held += bytes;
      // evict whole sizes, least recently used first, never the one just given back
      for (java.util.Iterator<java.util.Map.Entry<Long, java.util.ArrayDeque<Object>>> it = free.entrySet().iterator(); held > CAP_BYTES && it.hasNext(); ) {
        java.util.Map.Entry<Long, java.util.ArrayDeque<Object>> e = it.next();
        if (e.getKey() == k) continue;
        held -= e.getValue().size() * ((e.getKey() >>> 32) == 1 ? 4L : 8L) * (int) (long) e.getKey();
        it.remove();
      }
      if (held > CAP_BYTES) {  // one size alone above the cap: keep no more of it
        free.get(k).pop();
        held -= bytes;
      }
    }

    private static long key(int length, boolean floats) {
      return (floats ? 1L << 32 : 0L) | length;
    }
  }

  /** Validation accuracy of each expert. */
  public static double[] score(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, Params o) {
    return score(backend, experts, y, classes, split, o, new Workspace());
  }

  /** Validation accuracy of each expert, the optimiser's arrays taken from (and given back to) {@code ws}. */
  public static double[] score(Backend backend, List<Embedding> experts, int[] y, int classes, Split split, Params o, Workspace ws) {
    int[] ytrain = Split.pick(y, split.train()), yval = Split.pick(y, split.val());
    List<Tensor> xs = new ArrayList<>();
    List<float[]> vals = new ArrayList<>();
    try {
      for (Embedding e : experts) xs.add(backend.putRows(e, split.train()));
      for (Embedding e : experts) {  // the validation rows, gathered into reused arrays
        float[] v = ws.takeFloats(split.val().length * e.cols());
        java.nio.FloatBuffer b = e.buffer();
        for (int r = 0; r < split.val().length; r++) b.get(split.val()[r] * e.cols(), v, r * e.cols(), e.cols());
        vals.add(v);
      }
      if (o.solver().equals("sgd")) return sgd(backend, xs, ytrain, classes, vals, yval, o);
      List<float[]> w = lbfgs(backend, xs, ytrain, classes, o, ws);
      double[] out = new double[experts.size()];
      // the experts' validation accuracies are independent: computed side by side (on the common fork-join pool)
      java.util.stream.IntStream acc = java.util.stream.IntStream.range(0, out.length);
      (experts.get(0).cols() * (long) yval.length * classes >= 1 << 18 ? acc.parallel() : acc)
          .forEach(t -> out[t] = accuracy(w.get(t), vals.get(t), experts.get(t).cols(), yval, classes));
      return out;
    } finally {
      xs.forEach(Tensor::close);
      vals.forEach(ws::give);
    }
  }

  /** Fits each expert's weights ({@code classes x (d + 1)}, bias last) by L-BFGS; returns them. */
  public static List<float[]> lbfgs(Backend backend, List<Tensor> xs, int[] y, int classes, Params o) {
    return lbfgs(backend, xs, y, classes, o, new Workspace());
  }

  /** {@link #lbfgs(Backend, List, int[], int, Params)}, the optimiser's arrays taken from (and given back to) {@code ws}. */
  public static List<float[]> lbfgs(Backend backend, List<Tensor> xs, int[] y, int classes, Params o, Workspace ws) {
    int e = xs.size();
    List<State> states = new ArrayList<>();
    for (Tensor x : xs) states.add(new State(x.cols(), classes, y.length, o.c(), ws));
    // every active expert proposes a point; one backend call evaluates them all
    List<Integer> active = new ArrayList<>();
    for (int t = 0; t < e; t++) active.add(t);
    while (!active.isEmpty()) {
      List<Tensor> bx = new ArrayList<>();
      List<float[]> bw = new ArrayList<>(), bg = new ArrayList<>();
      for (int t : active) {
        bx.add(xs.get(t));
        bw.add(states.get(t).trial);
        bg.add(states.get(t).trialGrad);
      }
      double[] loss = backend.softmaxGrad(bx, y, null, classes, bw, bg);
      // each expert's L-BFGS step is its own: taken side by side (on the common fork-join pool) when several are active
      // and large enough (a step costs ~40 operations per weight; below a few thousand weights the hand-off costs more)
      boolean[] more = new boolean[active.size()];
      List<Integer> now = active;
      java.util.stream.IntStream steps = java.util.stream.IntStream.range(0, now.size());
      boolean side = now.size() > 1 && states.get(now.get(0)).size >= 4096;
      (side ? steps.parallel() : steps).forEach(a -> more[a] = states.get(now.get(a)).observe(loss[a], o));
      List<Integer> next = new ArrayList<>();
      for (int a = 0; a < now.size(); a++) if (more[a]) next.add(now.get(a));
      active = next;
    }
    List<float[]> out = new ArrayList<>();
    for (State s : states) {
      out.add(s.w);
      s.giveBack();
    }
    return out;
  }

  /** One expert's L-BFGS state; {@link #observe} takes the objective at {@link #trial} and picks the next. */
  private static final class State {
    final int d, classes, n, size;
    final double invC;
    float[] w, g, trial, trialGrad;
    double f = Double.NaN, step, slope;
    double[] dir, sSpare, ySpare;
    final double[][] sHist = new double[MEMORY][], yHist = new double[MEMORY][];
    final double[] rho = new double[MEMORY], alpha = new double[MEMORY];
    int stored, iter, head, backtracks;

    final Workspace ws;

    State(int d, int classes, int n, double c, Workspace ws) {
      this.ws = ws;
      this.d = d;
      this.classes = classes;
      this.n = n;
      this.size = classes * (d + 1);
      this.invC = 1 / c;
      this.w = new float[size];
      this.trial = ws.takeFloats(size);
      java.util.Arrays.fill(trial, 0f);  // the first point evaluated: w = 0
      this.trialGrad = ws.takeFloats(size);
    }

    /** Completes the raw (sum) loss and gradient at {@link #trial} into the scaled objective. */
    private double complete(double rawLoss, float[] grad, float[] at) {
      double reg = 0;
      for (int j = 0; j < classes; j++)
        for (int p = 0; p < d; p++) {
          int q = j * (d + 1) + p;
          reg += (double) at[q] * at[q];
          grad[q] = (float) ((grad[q] + invC * at[q]) / n);
        }
      for (int j = 0; j < classes; j++) grad[j * (d + 1) + d] /= n;
      return (rawLoss + 0.5 * invC * reg) / n;
    }

    /** @return true while the expert needs more evaluations */
    boolean observe(double rawLoss, Params o) {
      double ft = complete(rawLoss, trialGrad, trial);
      if (Double.isNaN(f)) {  // first evaluation, at w = 0
        accept(ft, false);
        return startIteration(o);
      }
      if (ft <= f + 1e-4 * step * slope) {
        double before = f;
        accept(ft, true);
        iter++;
        // relative decrease below float32 resolution of the objective: converged as far as it can be seen
        if (before - f <= FTOL * Math.max(1, Math.max(Math.abs(before), Math.abs(f)))) return false;
        return startIteration(o);
      }
      if (++backtracks > MAX_BACKTRACKS || step * maxAbs(dir) < 1e-10) {
        if (stored == 0) return false;  // even steepest descent finds no decrease: done
        stored = 0;  // the quasi-Newton model is stale: restart from steepest descent
        return startIteration(o);
      }
      step *= 0.5;
      setTrial();
      return true;
    }

    private void accept(double ft, boolean update) {
      if (update) {
        // computed into spare arrays, swapped with the ring slot it replaces when kept: no allocation per iteration
        if (sSpare == null) {
          sSpare = ws.take(size);
          ySpare = ws.take(size);
        }
        double[] s = sSpare, yv = ySpare;
        double sy = 0, yy = 0;
        for (int q = 0; q < size; q++) {
          s[q] = (double) trial[q] - w[q];
          yv[q] = (double) trialGrad[q] - g[q];
          sy += s[q] * yv[q];
          yy += yv[q] * yv[q];
        }
        if (sy > 1e-12 * Math.max(yy, 1e-30)) {  // keep only curvature pairs that keep H positive definite
          sSpare = sHist[head];
          ySpare = yHist[head];
          sHist[head] = s;
          yHist[head] = yv;
          rho[head] = 1 / sy;
          head = (head + 1) % MEMORY;
          stored = Math.min(stored + 1, MEMORY);
        }
      }
      f = ft;
      float[] tw = w;
      w = trial;
      trial = tw;
      float[] tg = g == null ? ws.takeFloats(size) : g;
      g = trialGrad;
      trialGrad = tg;
    }

    private boolean startIteration(Params o) {
      double gmax = 0;
      for (float v : g) gmax = Math.max(gmax, Math.abs(v));
      if (gmax < o.tolerance() || iter >= o.maxIter()) return false;
      // two-loop recursion: dir = -H g (computed in place: the previous direction is no longer needed)
      if (dir == null) dir = ws.take(size);
      double[] q = dir;
      for (int i = 0; i < size; i++) q[i] = g[i];
      for (int m = 0; m < stored; m++) {
        int at = Math.floorMod(head - 1 - m, MEMORY);
        double a = dot(sHist[at], q, size);
        a *= rho[at];
        alpha[at] = a;
        for (int i = 0; i < size; i++) q[i] -= a * yHist[at][i];
      }
      if (stored > 0) {
        int last = Math.floorMod(head - 1, MEMORY);
        double yy = dot(yHist[last], yHist[last], size);
        double gamma = 1 / (rho[last] * yy);
        for (int i = 0; i < size; i++) q[i] *= gamma;
      }
      for (int m = stored - 1; m >= 0; m--) {
        int at = Math.floorMod(head - 1 - m, MEMORY);
        double b = dot(yHist[at], q, size);
        b *= rho[at];
        for (int i = 0; i < size; i++) q[i] += sHist[at][i] * (alpha[at] - b);
      }
      slope = 0;
      for (int i = 0; i < size; i++) {
        q[i] = -q[i];
        slope += q[i] * g[i];
      }
      if (slope >= 0) {  // not a descent direction: restart from steepest descent
        for (int i = 0; i < size; i++) q[i] = -g[i];
        slope = 0;
        for (int i = 0; i < size; i++) slope -= (double) g[i] * g[i];
        stored = 0;
      }
      dir = q;
      backtracks = 0;
      step = stored == 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
      setTrial();
      return true;
    }

    /** Hands the history's arrays back to the workspace (the state is done). */
    void giveBack() {
      for (int m = 0; m < MEMORY; m++) {
        ws.give(sHist[m]);
        ws.give(yHist[m]);
        sHist[m] = yHist[m] = null;
      }
      ws.give(sSpare);
      ws.give(ySpare);
      ws.give(dir);
      ws.give(trial);
      ws.give(trialGrad);
      ws.give(g);
      sSpare = ySpare = dir = null;
      trial = trialGrad = g = null;
    }

    private void setTrial() {
      for (int i = 0; i < size; i++) trial[i] = (float) (w[i] + step * dir[i]);
    }
  }

  /**
   * The dot product of the first n entries, in four interleaved partial sums: the two-loop recursion's inner products
   * over c (d + 1) weights would otherwise wait on one addition chain (about four times slower).
   */
  static double dot(double[] a, double[] b, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
  }

  private static double maxAbs(double[] v) {
    double m = 0;
    for (double x : v) m = Math.max(m, Math.abs(x));
    return m;
  }

  /** [004]'s protocol: minibatch SGD at learning rates 0.1 and 0.01; median over runs of the better one. */
  private static double[] sgd(Backend backend, List<Tensor> xs, int[] y, int classes, List<float[]> vals, int[] yval, Params o) {
    int e = xs.size(), n = y.length, batch = Math.min(o.sgdBatch(), n);
    double[][] perRun = new double[e][o.sgdRuns()];
    for (int run = 0; run < o.sgdRuns(); run++) {
      double[] best = new double[e];
      for (double lr : new double[] {0.1, 0.01}) {
        Random rnd = new Random(o.seed() * 1_000_003L + run);
        List<float[]> w = new ArrayList<>(), g = new ArrayList<>();
        for (Tensor x : xs) {
          w.add(new float[classes * (x.cols() + 1)]);
          g.add(new float[classes * (x.cols() + 1)]);
        }
        float[] mask = new float[n];
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int step = 0; step < o.sgdSteps(); step++) {
          Arrays.fill(mask, 0f);
          for (int i = 0; i < batch; i++) {  // partial Fisher-Yates: a batch without replacement
            int j = i + rnd.nextInt(n - i);
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
            mask[perm[i]] = 1f;
          }
          backend.softmaxGrad(xs, y, mask, classes, w, g);
          for (int t = 0; t < e; t++) {
            float[] wt = w.get(t), gt = g.get(t);
            for (int q = 0; q < wt.length; q++) wt[q] -= (float) (lr * gt[q] / batch);
          }
        }
        for (int t = 0; t < e; t++)
          best[t] = Math.max(best[t], accuracy(w.get(t), vals.get(t), xs.get(t).cols(), yval, classes));
      }
      for (int t = 0; t < e; t++) perRun[t][run] = best[t];
    }
    double[] out = new double[e];
    for (int t = 0; t < e; t++) {
      double[] r = perRun[t].clone();
      Arrays.sort(r);
      out[t] = r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    }
    return out;
  }

  /** Accuracy of the linear classifier w on rows x (argmax of the logits, ties to the lower class). */
  static double accuracy(float[] w, float[] x, int d, int[] y, int classes) {
    int correct = 0;
    for (int i = 0; i < y.length; i++) {
      int best = 0;
      double bestZ = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < classes; j++) {
        int wo = j * (d + 1), xo = i * d;
        // four independent sums keep the FPU pipelines busy (the JIT does not reorder a single sum)
        double z0 = 0, z1 = 0, z2 = 0, z3 = 0;
        int p = 0;
        for (; p + 4 <= d; p += 4) {
          z0 += (double) w[wo + p] * x[xo + p];
          z1 += (double) w[wo + p + 1] * x[xo + p + 1];
          z2 += (double) w[wo + p + 2] * x[xo + p + 2];
          z3 += (double) w[wo + p + 3] * x[xo + p + 3];
        }
        for (; p < d; p++) z0 += (double) w[wo + p] * x[xo + p];
        double z = w[wo + d] + ((z0 + z1) + (z2 + z3));
        if (z > bestZ) {
          bestZ = z;
          best = j;
        }
      }
      if (best == y[i]) correct++;
    }
    return (double) correct / y.length;
  }

  /** The objective minimised by lbfgs, in scikit-learn's scale: C * sum(CE) + ||W||^2 / 2 (for tests and reports). */
  public static double sklearnObjective(Backend backend, Tensor x, int[] y, int classes, float[] w, double c) {
    double ce = backend.softmaxGrad(x, y, null, classes, w, new float[w.length]);
    int d = x.cols();
    double reg = 0;
    for (int j = 0; j < classes; j++) for (int p = 0; p < d; p++) reg += (double) w[j * (d + 1) + p] * w[j * (d + 1) + p];
    return c * ce + reg / 2;
  }
}
