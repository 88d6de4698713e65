package io.needle.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.Needle;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Experts;
import io.needle.data.Labels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every estimator against the values its authors' code gives on the same features and labels
 * (src/test/resources/fixtures/estimators: four sets incl. D > N and C = 2, made and scored by
 * tools/fixtures/make_estimator_fixtures.py; see its README). Tolerance: 1e-6 relative (the issue asks 1e-3), except
 * the authors' raw PARC values: np.corrcoef on one-hot label rows leaves 1-ulp noise (from OpenBLAS's tiling) that
 * breaks ties in Spearman's ranks; Needle takes the label dissimilarities exactly and equals the authors' pipeline with
 * exact ties ("-exactties" rows) to 1e-6, the raw values to 2e-3.
 */
class EstimatorReferenceTest {
  static final Path DIR = Path.of("src/test/resources/fixtures/estimators");

  /** reference row name → proxy id and the settings that select the variant */
  static final Map<String, Object[]> VARIANTS = Map.ofEntries(
      Map.entry("parc-exactties", new Object[] {"parc", Settings.defaults()}),
      Map.entry("parc-exactpca-exactties", new Object[] {"parc", Settings.defaults().with(Parc.PCA, "exact")}),
      Map.entry("gbc-diagonal", new Object[] {"gbc", Settings.defaults().with(Gbc.GAUSSIAN, "diagonal")}),
      Map.entry("logme", new Object[] {"logme", Settings.defaults()}),
      Map.entry("leep", new Object[] {"leep", Settings.defaults()}),
      Map.entry("nce", new Object[] {"nce", Settings.defaults()}),
      Map.entry("hscore", new Object[] {"hscore", Settings.defaults()}),
      Map.entry("hscore-shrinkage", new Object[] {"hscore-shrinkage", Settings.defaults()}),
      Map.entry("transrate", new Object[] {"transrate", Settings.defaults()}),
      Map.entry("sfda", new Object[] {"sfda", Settings.defaults()}),
      Map.entry("parc", new Object[] {"parc", Settings.defaults()}),
      Map.entry("parc-exactpca", new Object[] {"parc", Settings.defaults().with(Parc.PCA, "exact")}),
      Map.entry("gbc", new Object[] {"gbc", Settings.defaults()}));

  record Ref(String set, String estimator, double value) {}

  static List<Ref> references() throws Exception {
    List<Ref> out = new ArrayList<>();
    List<String> lines = Files.readAllLines(DIR.resolve("references.csv"));
    for (String l : lines.subList(1, lines.size())) {
      String[] f = l.split(",", 4);
      out.add(new Ref(f[0], f[1], Double.parseDouble(f[2])));
    }
    return out;
  }

  static ExpertInput input(String set) {
    Path d = DIR.resolve(set);
    Embedding x = new Experts.Source(set, d.resolve("x.npy"), d.resolve("z.npy"), null).load();
    return new ExpertInput(x, new Experts.Source(set, d.resolve("x.npy"), d.resolve("z.npy"), null).loadLogits(), null);
  }

  @Test
  void everyEstimatorMatchesItsAuthorsCode() throws Exception {
    int checked = 0;
    List<String> failures = new ArrayList<>();
    for (Ref r : references()) {
      Object[] v = VARIANTS.get(r.estimator());
      if (v == null) continue;
      Labels y = Experts.labels(DIR.resolve(r.set()).resolve("y.npy"));
      try (Needle n = Needle.builder().backend("java").proxies((String) v[0]).settings((Settings) v[1]).build()) {
        Score s = n.scoreInputs(y, List.of(input(r.set())), null).get(0);
        if (!s.ok()) failures.add(r + ": " + s.reason());
        else if (Math.abs(s.score() - r.value()) > (r.estimator().equals("parc") || r.estimator().equals("parc-exactpca") ? 2e-3 : 1e-6) * Math.max(1, Math.abs(r.value())))
          failures.add(r.set() + " " + r.estimator() + ": got " + s.score() + ", authors " + r.value());
      }
      checked++;
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertTrue(checked >= 45, "checked " + checked);
  }

  /**
   * NLEEP's mixture starts from a random k-means++ seeding, so no implementation matches another digit for digit: Needle's
   * value (in the SFDA code's form, without the logarithm) must fall within the spread of the authors' code over numpy
   * seeds 0..9 (fixtures README), widened by 0.02.
   */
  @Test
  void nleepFallsWithinTheAuthorsSpreadOverSeeds() {
    Map<String, double[]> spread = Map.of("a_n300_d32_c5", new double[] {0.3381, 0.4098}, "b_n120_d200_c4", new double[] {0.3536, 0.4110},
        "c_n200_d16_c2", new double[] {0.5983, 0.6395}, "d_n400_d64_c10", new double[] {0.2503, 0.2668});
    List<String> failures = new ArrayList<>();
    spread.forEach((set, range) -> {
      Labels y = Experts.labels(DIR.resolve(set).resolve("y.npy"));
      try (Needle n = Needle.builder().backend("java").proxies("nleep").settings(Settings.defaults().with(Nleep.FORM, "sfda")).build()) {
        Score s = n.scoreInputs(y, List.of(input(set)), null).get(0);
        if (!s.ok() || s.score() < range[0] - 0.02 || s.score() > range[1] + 0.02) failures.add(set + ": " + s + " outside " + java.util.Arrays.toString(range));
      }
    });
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }
}
