package io.needle.select;

import io.needle.Needle;
import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.data.Labels;
import io.needle.embed.EmbeddingCache;
import io.needle.embed.Pipeline;
import io.needle.proxy.ExpertInput;
import io.needle.proxy.Proxy;
import io.needle.proxy.Split;
import io.needle.zoo.Expert;
import io.needle.zoo.Selectors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Successive halving over inference (the idea of SHiFT, applied where the cost of a large pool is): every expert
 * embeds a small stratified subset of the task's images and is scored on it with the ranking proxy; the best
 * {@code 1/eta} go on, the subset grows {@code eta}-fold, and so on until the finalists embed every image and get
 * every proxy, exactly as in a full run. Subsets are prefixes of one seeded, stratified order of the images, so a
 * survivor only embeds the images it has not seen yet: a round costs its survivors times the images it adds.
 *
 * <p>Experts left out in an early round get an {@code undefined} score for every proxy, the reason naming the round
 * and their score there; strategies rank only the finalists. When the first round already holds every image, no
 * expert is left out on a smaller subset and the ranking is the full run's. Experts whose full embeddings are in the
 * cache cost no inference; the finalists' full embeddings are written to it.
 *
 * @param start images in the first round; 0 for the default, an eighth of the task (at least 2 per class)
 * @param eta by how much the subset grows and the field shrinks each round (2 or more)
 * @param keep the fewest experts a round keeps; 0 for the default, the larger of 4 and twice the budget
 * @param seed seed of the order of the images
 */
public record Halving(int start, int eta, int keep, long seed) {
  public Halving {
    if (start < 0) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "halving start must be 0 (automatic) or a number of images");
    if (eta < 2) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "halving eta must be at least 2, got " + eta);
    if (keep < 0) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "halving keep must be 0 (automatic) or a number of experts");
  }

  /** The defaults: start at an eighth of the images, halve each round, keep at least max(4, 2 x budget). */
  public static Halving defaults(long seed) {
    return new Halving(0, 2, 0, seed);
  }

  /**
   * One round.
   *
   * @param images images each expert of the round is scored on
   * @param experts experts that entered it
   * @param kept experts that went on (all of them in the last round)
   * @param inferences image inferences it ran
   */
  public record Round(int images, int experts, int kept, long inferences) {}

  /**
   * What halving did.
   *
   * @param proxy the proxy that ranked the rounds
   * @param inferences image inferences run, every round together
   * @param full image inferences a full run would have run (experts not in the cache, times the images)
   * @param leftOut the experts left out before the last round, in the order they were, with their ranking proxy's score in
   *     the round that left them out (NaN if it was not computed)
   */
  public record Report(String proxy, List<Round> rounds, long inferences, long full, Map<String, Double> leftOut) {
    /** @return how many times fewer inferences than the full run (infinite when none were needed) */
    public double saving() {
      return inferences == 0 ? Double.POSITIVE_INFINITY : (double) full / inferences;
    }

    /** @return e.g. "4 rounds (125, 250, 500, 1000 images; 26, 13, 7, 4 experts): 8,625 of 26,000 image inferences (3.0x fewer)" */
    public String describe() {
      return String.format(Locale.ROOT, "%d round%s (%s images; %s experts): %,d of %,d image inferences (%.1fx fewer)", rounds.size(),
          rounds.size() == 1 ? "" : "s", String.join(", ", rounds.stream().map(r -> String.valueOf(r.images())).toList()),
          String.join(", ", rounds.stream().map(r -> String.valueOf(r.experts())).toList()), inferences, full, saving());
    }
  }

  /** The image counts of the rounds: start, start x eta, ..., the whole task. */
  List<Integer> sizes(int n, int classes) {
    int s = start > 0 ? Math.min(start, n) : Math.min(n, Math.max((n + 7) / 8, 2 * classes));
    List<Integer> out = new ArrayList<>();
    for (long k = s; k < n; k *= eta) out.add((int) k);
    out.add(n);
    return out;
  }

  /**
   * A seeded order of the examples in which every prefix is stratified: each class is shuffled, and its i-th example
   * of {@code n_c} is placed at the fraction {@code (i + u) / n_c} of the way, {@code u} uniform per class.
   */
  static int[] stratifiedOrder(int[] labels, long seed) {
    int n = labels.length, classes = Arrays.stream(labels).max().orElse(0) + 1;
    List<List<Integer>> members = new ArrayList<>();
    for (int c = 0; c < classes; c++) members.add(new ArrayList<>());
    for (int i = 0; i < n; i++) members.get(labels[i]).add(i);
    Random r = new Random(seed);
    double[] key = new double[n];
    for (List<Integer> m : members) {
      Collections.shuffle(m, r);
      double u = r.nextDouble();
      for (int i = 0; i < m.size(); i++) key[m.get(i)] = (i + u) / m.size();
    }
    return java.util.stream.IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble((Integer i) -> key[i]).thenComparingInt(i -> labels[i]))
        .mapToInt(Integer::intValue).toArray();
  }

  /** Runs the selection with successive halving; see {@link Selector#run}. */
  static Selector.Result run(List<Expert> pool, List<Problem> zooProblems, Selectors selectors, Images images, EmbeddingCache cache,
      Selector.Config c, Selector.Progress progress) {
    Halving h = c.halving();
    Proxy ranker = c.proxies().get(0);
    if (!EnumSet.of(Proxy.Need.EMBEDDINGS, Proxy.Need.SPLIT).containsAll(ranker.needs()))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "successive halving ranks its rounds by the first proxy, and "
          + ranker.id() + " needs more than the embeddings (" + ranker.needs() + "); put an embedding proxy such as knn-loo first");
    long t0 = System.nanoTime();
    int n = images.size();
    int[] labels = images.labels();
    int[] order = stratifiedOrder(labels, h.seed());
    List<Integer> sizes = h.sizes(n, images.classNames().size());
    int keepMin = h.keep() > 0 ? h.keep() : Math.max(4, 2 * c.budget());
    double sign = ranker.higherIsBetter() ? -1 : 1;

    List<Problem> problems = new ArrayList<>();
    List<Score> left = new ArrayList<>();  // undefined and failed rows of experts that did not reach the final
    Map<String, Embedding> full = new HashMap<>();  // full embeddings, in the images' order (cache hits)
    Map<String, String> keys = new HashMap<>();
    if (cache != null) {
      for (Expert e : pool) {
        try {
          String key = cache.key(e, images);
          keys.put(e.id(), key);
          Embedding hit = cache.get(e, key);
          if (hit != null && hit.rows() == n) full.put(e.id(), hit);
        } catch (NeedleException ex) {
          Selector.failed(e, ex.getMessage(), c, problems, left);
        }
      }
    }
    List<Expert> alive = new ArrayList<>(pool);
    alive.removeIf(e -> left.stream().anyMatch(s -> s.expert().equals(e.id())));
    long fullCost = (long) alive.stream().filter(e -> !full.containsKey(e.id())).count() * n;
    Map<String, float[]> partial = new HashMap<>();  // rows order[0..seen) of experts not in the cache
    Map<String, Integer> dims = new HashMap<>();
    List<Round> rounds = new ArrayList<>();
    Map<String, Double> leftOut = new LinkedHashMap<>();
    double[] embedSeconds = {0}, scoreSeconds = {0};
    Map<String, Double> spent = new HashMap<>();
    Map<String, String> where = new HashMap<>();
    int seen = 0;
    long total = 0;
    try (Needle needle = Needle.builder().backend(c.backend()).threads(c.threads()).proxies(List.of(ranker)).settings(c.settings()).build()) {
      for (int r = 0; r < sizes.size(); r++) {
        int upto = sizes.get(r);
        boolean last = r == sizes.size() - 1 || alive.size() <= keepMin;
        if (last) upto = n;
        // embed the images this round adds, for the experts that have not seen them
        List<Expert> todo = alive.stream().filter(e -> !full.containsKey(e.id())).toList();
        int from = seen, to = upto;
        long cost = (long) todo.size() * (to - from);
        if (!todo.isEmpty() && to > from) {
          Images add = images.rows(Arrays.copyOfRange(order, from, to));
          int done0 = rounds.size();
          int[] count = {0};
          new Pipeline(c.device().id(), c.threads(), c.imageBatch()).run(todo, add, null, new Pipeline.Listener() {
            @Override
            public void embedded(Expert e, Embedding x, boolean cached, double s, String device) {
              embedSeconds[0] += s;
              spent.merge(e.id(), s, Double::sum);
              where.put(e.id(), device);
              float[] old = partial.getOrDefault(e.id(), new float[0]);
              float[] grown = Arrays.copyOf(old, old.length + x.data().length);
              System.arraycopy(x.data(), 0, grown, old.length, x.data().length);
              partial.put(e.id(), grown);
              dims.put(e.id(), x.cols());
              if (progress != null) progress.update(++count[0], todo.size(), "round " + (done0 + 1) + ": " + e.id(), 0, to - from);
            }

            @Override
            public void failed(Expert e, String message) {
              Selector.failed(e, message, c, problems, left);
              partial.remove(e.id());
              if (progress != null) progress.update(++count[0], todo.size(), "round " + (done0 + 1) + ": " + e.id(), 0, to - from);
            }
          });
          alive.removeIf(e -> !full.containsKey(e.id()) && !partial.containsKey(e.id()));
        }
        total += cost;
        seen = upto;
        if (last) {
          rounds.add(new Round(upto, alive.size(), alive.size(), cost));
          break;
        }
        // score the round on the prefix and keep the best
        int[] prefix = Arrays.copyOf(order, upto);
        Labels l = Labels.anyClasses(Split.pick(labels, prefix), images.source() + " (first " + upto + " images of the halving order)");
        List<ExpertInput> in = new ArrayList<>();
        for (Expert e : alive) {
          Embedding x = full.containsKey(e.id()) ? rows(full.get(e.id()), prefix) : new Embedding(e.id(), partial.get(e.id()), upto, dims.get(e.id()));
          in.add(new ExpertInput(x, null, e.meta()));
        }
        Map<String, Score> got = new HashMap<>();
        long ts = System.nanoTime();
        for (Score s : needle.scoreInputs(l, in, null)) got.put(s.expert(), s);
        scoreSeconds[0] += (System.nanoTime() - ts) / 1e9;
        List<Expert> ranked = new ArrayList<>(alive);
        ranked.sort(Comparator.comparingDouble((Expert e) -> got.get(e.id()).ok() ? sign * got.get(e.id()).score() : Double.POSITIVE_INFINITY)
            .thenComparing(Expert::id));
        int keep = Math.min(alive.size(), Math.max(keepMin, (alive.size() + h.eta() - 1) / h.eta()));
        rounds.add(new Round(upto, alive.size(), keep, cost));
        for (Expert e : ranked.subList(keep, ranked.size())) {
          Score s = got.get(e.id());
          // one reason per round (the text table groups by reason); the expert's own round score is in the report
          String why = "left out by successive halving in round " + rounds.size() + " (" + upto + " of " + n + " images; " + ranker.id()
              + " kept the best " + keep + " of " + ranked.size() + ")";
          for (Proxy p : c.proxies()) left.add(Score.undefined(e.id(), p.id(), why));
          leftOut.put(e.id(), s.ok() ? s.score() : Double.NaN);
          partial.remove(e.id());
        }
        alive = new ArrayList<>(ranked.subList(0, keep));
      }
    }
    // the finalists' embeddings in the images' own order, kept in the cache like a full run's
    Map<String, Selector.Given> ready = new LinkedHashMap<>();
    for (Expert e : alive) {
      if (full.containsKey(e.id())) {
        ready.put(e.id(), new Selector.Given(full.get(e.id()), 0, "cache"));
        continue;
      }
      int d = dims.get(e.id());
      float[] p = partial.get(e.id()), x = new float[n * d];
      for (int i = 0; i < n; i++) System.arraycopy(p, i * d, x, order[i] * d, d);
      Embedding emb = new Embedding(e.id(), x, n, d);
      ready.put(e.id(), new Selector.Given(emb, spent.getOrDefault(e.id(), 0.0), where.getOrDefault(e.id(), "cpu") + ", " + rounds.size() + " rounds"));
      if (cache != null && keys.containsKey(e.id())) {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("needle.dataset", images.source());
        info.put("needle.dataset_sha256", images.hash());
        info.put("needle.halving", "assembled from " + rounds.size() + " rounds of successive halving");
        info.put("needle.created", java.time.Instant.now().toString());
        cache.put(e, keys.get(e.id()), emb, info);
      }
    }
    Selector.Result fin = Selector.run(alive, zooProblems, selectors, images, cache, c.withHalving(null), progress, ready);
    // the whole pool's table: finalists' scores, then the rest, in pool order; the strategy picks from it
    Map<String, Integer> pos = new HashMap<>();
    for (Expert e : pool) pos.put(e.id(), pos.size());
    List<String> proxyIds = c.proxies().stream().map(Proxy::id).toList();
    List<Score> scores = new ArrayList<>(fin.scores());
    scores.addAll(left);
    scores.sort(Comparator.comparingInt((Score s) -> pos.getOrDefault(s.expert(), Integer.MAX_VALUE)).thenComparingInt(s -> proxyIds.indexOf(s.proxy())));
    List<Problem> allProblems = new ArrayList<>(fin.problems());
    for (Problem p : problems) if (!allProblems.contains(p)) allProblems.add(p);
    Selection sel = Strategies.select(c.strategy(), Selector.context(pool, scores, proxyIds.get(0), c.budget()));
    Map<String, Double> seconds = new LinkedHashMap<>();
    seconds.put("halving-embed", embedSeconds[0]);
    seconds.put("halving-score", scoreSeconds[0]);
    seconds.putAll(fin.seconds());
    seconds.put("total", (System.nanoTime() - t0) / 1e9);
    return new Selector.Result(List.copyOf(scores), List.copyOf(allProblems), fin.experts(), sel, Collections.unmodifiableMap(seconds),
        fin.backend(), new Report(ranker.id(), List.copyOf(rounds), total, fullCost, Collections.unmodifiableMap(leftOut)));
  }

  private static Embedding rows(Embedding x, int[] idx) {
    return new Embedding(x.expert(), Split.rows(x.data(), x.cols(), idx), idx.length, x.cols());
  }
}
