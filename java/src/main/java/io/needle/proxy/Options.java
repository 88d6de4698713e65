package io.needle.proxy;

import io.needle.NeedleException;

/**
 * Parameters of the proxies. Defaults follow the papers: 1-NN with Euclidean distance ([004]), an 80/20
 * stratified split (VTAB-1k's 800/200), L2-regularised logistic regression with scikit-learn's default
 * strength (C = 1), solved by L-BFGS.
 *
 * @param k neighbours that vote (majority; a tie in votes goes to the class whose member is nearest)
 * @param cosine use cosine distance (rows scaled to unit length; all-zero rows are left at zero)
 * @param valFraction fraction of each class held out for validation by knn-split and linear
 * @param seed seed of the split and of SGD
 * @param linearC inverse L2 strength, as scikit-learn's C: minimise C * sum(cross-entropy) + ||W||^2 / 2
 * @param solver "lbfgs" (deterministic, to convergence) or "sgd" (the protocol of [004])
 * @param maxIter L-BFGS iteration cap
 * @param tolerance L-BFGS stops when the largest gradient entry of the per-example objective is below this
 * @param sgdSteps SGD steps per learning rate ([004]: 2500)
 * @param sgdBatch SGD minibatch size ([004]: 512)
 * @param sgdRuns SGD repetitions; the score is the median over runs of the best learning rate ([004]: 5)
 */
public record Options(int k, boolean cosine, double valFraction, long seed, double linearC, String solver, int maxIter,
    double tolerance, int sgdSteps, int sgdBatch, int sgdRuns) {

  /** Validates every field. */
  public Options {
    if (k < 1) throw invalid("k must be at least 1, got " + k);
    if (!(valFraction > 0 && valFraction < 1)) throw invalid("validation fraction must be in (0, 1), got " + valFraction);
    if (!(linearC > 0)) throw invalid("C must be positive, got " + linearC);
    if (!solver.equals("lbfgs") && !solver.equals("sgd")) throw invalid("linear solver must be lbfgs or sgd, got " + solver);
    if (maxIter < 1 || sgdSteps < 1 || sgdBatch < 1 || sgdRuns < 1) throw invalid("iteration counts must be positive");
    if (!(tolerance > 0)) throw invalid("tolerance must be positive");
  }

  /** @return the defaults described above */
  public static Options defaults() {
    return new Options(1, false, 0.2, 0, 1.0, "lbfgs", 500, 1e-5, 2500, 512, 1);
  }

  public Options withK(int v) { return new Options(v, cosine, valFraction, seed, linearC, solver, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withCosine(boolean v) { return new Options(k, v, valFraction, seed, linearC, solver, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withValFraction(double v) { return new Options(k, cosine, v, seed, linearC, solver, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withSeed(long v) { return new Options(k, cosine, valFraction, v, linearC, solver, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withLinearC(double v) { return new Options(k, cosine, valFraction, seed, v, solver, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withSolver(String v) { return new Options(k, cosine, valFraction, seed, linearC, v, maxIter, tolerance, sgdSteps, sgdBatch, sgdRuns); }
  public Options withSgd(int steps, int batch, int runs) { return new Options(k, cosine, valFraction, seed, linearC, solver, maxIter, tolerance, steps, batch, runs); }

  private static NeedleException invalid(String m) {
    return new NeedleException(NeedleException.Code.INVALID_ARGUMENT, m);
  }
}
