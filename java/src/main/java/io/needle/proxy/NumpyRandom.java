package io.needle.proxy;

/**
 * The legacy generator of numpy's {@code RandomState(seed)}: MT19937 seeded by {@code init_genrand}, doubles from two
 * 32-bit draws, normals by the polar method with one cached value. PARC's randomised PCA draws its test matrix from it
 * (scikit-learn's {@code random_state=1919}); reproducing the draws reproduces the authors' values, not only their
 * distribution.
 */
final class NumpyRandom {
  private final int[] mt = new int[624];
  private int index = 624;
  private boolean hasGauss;
  private double gauss;

  NumpyRandom(long seed) {
    mt[0] = (int) seed;
    for (int i = 1; i < 624; i++) mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
  }

  private int next32() {
    if (index >= 624) {
      for (int k = 0; k < 624; k++) {
        int y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
      }
      index = 0;
    }
    int y = mt[index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y;
  }

  /** @return a double in [0, 1) with 53 random bits, as numpy's legacy {@code random_sample} */
  double nextDouble() {
    long a = (next32() & 0xffffffffL) >>> 5, b = (next32() & 0xffffffffL) >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  /** @return a standard normal, as numpy's legacy {@code gauss} (polar method) */
  double nextGaussian() {
    if (hasGauss) {
      hasGauss = false;
      return gauss;
    }
    double x1, x2, r2;
    do {
      x1 = 2 * nextDouble() - 1;
      x2 = 2 * nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 == 0);
    double f = Math.sqrt(-2 * Math.log(r2) / r2);
    gauss = f * x1;
    hasGauss = true;
    return f * x2;
  }
}
