package io.needle.cli;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.Images;
import io.needle.data.Tasks;
import io.needle.embed.EmbeddingCache;
import io.needle.proxy.Proxies;
import io.needle.proxy.Proxy;
import io.needle.proxy.Settings;
import io.needle.proxy.TaskData;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import io.needle.zoo.Expert;
import io.needle.zoo.OnnxFile;
import io.needle.zoo.Pool;
import io.needle.zoo.Soups;
import io.needle.zoo.Zoo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code needle zoo soup}: average the weights of experts fine-tuned from one base into a new expert of the zoo. */
@Command(name = "soup", sortOptions = false,
    description = "Average the weights of experts fine-tuned from one base (a model soup) into a new ONNX expert, added to the zoo's zoo.json so that it is scored like any other. Uniform by default; --greedy adds ingredients best first while a proxy's score on --data does not drop. Without --experts or --pool, lists the groups of experts that could make a soup. Refuses experts whose graphs or bases differ, saying where.")
final class SoupCommand implements Callable<Integer> {
  private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[A-Za-z0-9._+-]+");

  @Option(names = "--zoo", required = true, paramLabel = "DIR", description = "the zoo folder")
  Path zooDir;

  @Option(names = "--experts", split = ",", paramLabel = "ID", description = "the ingredients' ids, comma separated")
  List<String> experts;

  @Option(names = "--pool", paramLabel = "FILTER", description = "the ingredients as a pool instead, e.g. parent=baseline,tag=semantic")
  String pool;

  @Option(names = "--id", paramLabel = "ID", description = "the soup's expert id (required to build one)")
  String id;

  @Option(names = "--out", paramLabel = "FILE", description = "the soup's ONNX file, inside the zoo folder (default: DIR/ID.onnx)")
  Path out;

  @Option(names = "--greedy", description = "greedy soup: ingredients sorted by their --proxy score on --data, each added if the soup's score does not drop")
  boolean greedy;

  @Option(names = "--data", paramLabel = "PATH", description = "with --greedy: the held-out task (one dataset, as needle select's --data)")
  Path data;

  @Option(names = "--proxy", defaultValue = "linear", paramLabel = "P",
      description = "with --greedy: the score (default: ${DEFAULT-VALUE}, the linear probe's validation accuracy)")
  String proxy;

  @Option(names = "--any-base", description = "average even when zoo.json does not say the experts share a base (\"parent\"); experts trained from different initialisations rarely average into a useful model")
  boolean anyBase;

  @Option(names = "--n", defaultValue = "1000", description = "with --greedy: stratified subsample of the dataset (default: ${DEFAULT-VALUE})")
  int n;

  @Option(names = "--seed", defaultValue = "0", description = "with --greedy: seed of the subsample and the split (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--set", paramLabel = "NAME=VALUE", description = "with --greedy: a proxy parameter, repeatable")
  Map<String, String> set;

  @Option(names = "--device", defaultValue = "auto", description = "ONNX Runtime provider: auto, cpu or cuda (default: ${DEFAULT-VALUE})")
  String device;

  @Option(names = "--backend", defaultValue = "auto", description = "scoring backend: auto, java, cpu or cuda (default: ${DEFAULT-VALUE})")
  String backend;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--image-batch", defaultValue = "32", description = "images per inference call (default: ${DEFAULT-VALUE})")
  int imageBatch;

  @Mixin RunOptions opts;

  @Override
  public Integer call() {
    Path cacheRoot = opts.start(null);
    Zoo zoo = Zoo.open(zooDir);
    if (experts == null && pool == null) return list(zoo);
    if (experts != null && pool != null) throw usage("give the ingredients with --experts or --pool, not both");
    if (id == null) throw usage("--id is required to build a soup");
    if (!ID.matcher(id).matches()) throw usage("--id '" + id + "' may use only letters, digits and . _ + -");
    if (zoo.experts().stream().anyMatch(e -> e.id().equals(id))) throw usage("the zoo already has an expert '" + id + "'");
    if (greedy != (data != null)) throw usage(greedy ? "--greedy needs --data: the task the soup is made for" : "--data is only read with --greedy");
    Path file = out != null ? out : zoo.dir().resolve(id + ".onnx");
    Outputs.checkFile(file, "--out");
    if (Files.exists(file)) throw usage("--out " + file + " exists; remove it or choose another file");
    if (!inside(file, zoo.dir())) throw usage("--out " + file + " is outside the zoo folder " + zoo.dir() + " (zoo.json can only name files inside it)");
    List<Expert> chosen = new ArrayList<>();
    if (experts != null) {
      for (String x : experts)
        chosen.add(zoo.experts().stream().filter(e -> e.id().equals(x)).findFirst().orElseThrow(() -> usage("no expert '" + x + "' in " + zooDir
            + zoo.problems().stream().filter(p -> p.subject().contains(x)).map(p -> " (" + p + ")").findFirst().orElse(""))));
    } else {
      chosen.addAll(zoo.filter(Pool.parse(pool)).experts());
    }
    if (chosen.size() < 2) throw usage("a soup needs at least two ingredients; " + (experts != null ? "--experts" : "--pool " + pool) + " gives " + chosen.size());
    List<Soups.Ingredient> ingredients = chosen.stream().map(Soups::read).toList();
    Soups.check(ingredients);  // the graphs first: their difference is the most concrete reason
    for (Expert e : chosen.subList(1, chosen.size())) {
      String d = Soups.baseDifference(chosen.get(0), e);
      if (d == null) continue;
      if (!anyBase || !d.contains("do not share a base")) throw new NeedleException(NeedleException.Code.BAD_INPUT, d + (d.contains("do not share a base") ? "; refused (--any-base averages them anyway)" : "; refused"));
      System.err.println("needle: warning: " + d + "; averaged anyway (--any-base)");
    }
    long t0 = System.nanoTime();
    Soups.Soup soup;
    Soups.Greedy g = null;
    if (greedy) {
      g = greedy(chosen, ingredients, cacheRoot);
      soup = g.soup();
    } else {
      soup = Soups.uniform(ingredients);
    }
    Soups.write(file, soup);
    Soups.register(zoo, id, file, chosen, soup);
    Zoo after = Zoo.open(zoo.dir());
    if (after.experts().stream().noneMatch(e -> e.id().equals(id)))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, Zoo.MANIFEST + ": the soup's entry is not usable: "
          + after.problems().stream().filter(p -> p.subject().contains(id)).map(Problem::toString).findFirst().orElse("?"));
    if (g != null) printGreedy(g);
    boolean oneBase = chosen.stream().map(Soups::base).distinct().count() == 1;
    System.out.printf(Locale.ROOT, "%s: %s soup of %d expert%s%s: %s%n", id, soup.method(), soup.ingredients().size(),
        soup.ingredients().size() == 1 ? "" : "s", oneBase ? " fine-tuned from " + Soups.base(chosen.get(0)) : "", String.join(", ", soup.ingredients()));
    System.out.printf(Locale.ROOT, "wrote %s (%,d parameters; ONNX Runtime loads it) and added %s to %s%n", file,
        OnnxFile.inspect(soup.model(), id).parameters(), id, zoo.dir().resolve(Zoo.MANIFEST));
    if (!opts.quiet) System.err.println(String.format(Locale.ROOT, "needle: %.1f s", (System.nanoTime() - t0) / 1e9));
    return Main.OK;
  }

  /** Without ingredients: the groups of experts that could make a soup. */
  private int list(Zoo zoo) {
    List<Soups.Group> groups = Soups.candidates(zoo.experts());
    if (groups.isEmpty()) {
      System.out.println("no two experts of " + zooDir + " share a base (zoo.json's \"parent\"), an architecture and a graph: no soup to make");
      return Main.OK;
    }
    System.out.println("experts that could make a soup (same base, architecture, preprocessing and graph):");
    for (Soups.Group grp : groups) {
      System.out.printf(Locale.ROOT, "  base %s%s, %d experts: %s%n", grp.base(), grp.architecture() == null ? "" : " (" + grp.architecture() + ")",
          grp.experts().size(), String.join(",", grp.experts()));
      for (Problem p : grp.leftOut()) System.out.println("    not " + p.subject() + ": " + p.message());
    }
    System.out.println("build one with: needle zoo soup --zoo " + zooDir + " --experts " + String.join(",", groups.get(0).experts()) + " --id soup-"
        + groups.get(0).base());
    return Main.OK;
  }

  /** Scores the ingredients on --data (through the embedding cache) and builds the greedy soup, each candidate embedded uncached. */
  private Soups.Greedy greedy(List<Expert> chosen, List<Soups.Ingredient> ingredients, Path cacheRoot) {
    if (Tasks.isSuite(data))
      throw usage("--greedy makes a soup for one task: give one dataset (e.g. a task's train file), not a folder of tasks");
    Proxy p = Proxies.get(proxy);
    if (!EnumSet.of(Proxy.Need.EMBEDDINGS, Proxy.Need.SPLIT).containsAll(p.needs()))
      throw usage("--proxy " + proxy + " reads " + p.needs() + "; a soup has only its embedding (its upstream heads are dropped): choose one that reads embeddings and the split");
    Settings s = Settings.defaults().with(TaskData.SEED, seed);
    if (set != null) for (Map.Entry<String, String> e : set.entrySet()) s = s.with(e.getKey(), e.getValue());
    Images images = Images.open(data).subsample(n, seed);
    Selector.Config cfg = new Selector.Config(io.needle.embed.Device.parse(device), threads, imageBatch, io.needle.engine.Backends.Kind.parse(backend),
        List.of(p), s, Strategies.get("task-aware"), 1);
    double sign = p.higherIsBetter() ? 1 : -1;
    Map<String, Double> held = new LinkedHashMap<>();
    try (EmbeddingCache c = cacheRoot == null ? null : EmbeddingCache.open(cacheRoot.resolve(images.hash().substring(0, 16)))) {
      Selector.Result r = Selector.run(chosen, List.of(), null, images, c, cfg, null);
      for (Score sc : r.scores()) held.put(sc.expert(), sc.ok() ? sign * sc.score() : Double.NaN);
      for (Problem q : r.problems()) System.err.println("needle: warning: " + q);
    }
    Expert t = chosen.get(0);
    Path tmp;
    try {
      tmp = Files.createTempDirectory("needle-soup");
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, "cannot create a temporary folder: " + e.getMessage(), e);
    }
    int[] k = {0};
    try {
      return Soups.greedy(ingredients, held, (model, names) -> {
        Path f = tmp.resolve("candidate-" + (++k[0]) + ".onnx");
        try {
          Files.write(f, model);
          Expert e = new Expert(id + "-candidate-" + k[0], f, t.input(), null, null, 0, t.preprocess(), t.meta());
          Selector.Result r = Selector.run(List.of(e), List.of(), null, images, null, cfg, null);
          for (Problem q : r.problems()) System.err.println("needle: warning: candidate " + String.join("+", names) + ": " + q.message());
          Score sc = r.scores().get(0);
          return sc.ok() ? sign * sc.score() : Double.NaN;
        } catch (IOException ex) {
          throw new NeedleException(NeedleException.Code.IO, f + ": cannot write: " + ex.getMessage(), ex);
        } finally {
          try {
            Files.deleteIfExists(f);
          } catch (IOException ignored) {
            // a temporary file
          }
        }
      });
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // a temporary folder
      }
    }
  }

  private void printGreedy(Soups.Greedy g) {
    System.out.println("greedy soup on " + data + " by " + proxy + " (ingredients best first; one is kept if the soup's score does not drop):");
    int w = Math.max(10, g.steps().stream().mapToInt(s -> s.ingredient().length()).max().orElse(0));
    System.out.printf(Locale.ROOT, "  %-" + w + "s %12s %12s%n", "ingredient", "its score", "soup's score");
    for (Soups.Step s : g.steps())
      System.out.printf(Locale.ROOT, "  %-" + w + "s %12s %12s  %s%n", s.ingredient(), fmt(s.score()), fmt(s.soupScore()), s.kept() ? "kept" : "left out");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
  }

  /** Whether a file lies inside a folder (the nearest existing ancestor resolved, as the zoo's own paths are). */
  private static boolean inside(Path file, Path dir) {
    Path p = file.toAbsolutePath().normalize().getParent();
    try {
      Path existing = p;
      while (existing != null && !Files.exists(existing)) existing = existing.getParent();
      if (existing == null) return false;
      return existing.toRealPath().resolve(existing.relativize(p)).normalize().startsWith(dir);
    } catch (IOException e) {
      return false;
    }
  }

  private static NeedleException usage(String msg) {
    return new NeedleException(NeedleException.Code.INVALID_ARGUMENT, msg);
  }
}
