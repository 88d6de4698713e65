package io.needle.cli;

import io.needle.Problem;
import io.needle.data.Embedding;
import io.needle.data.Images;
import io.needle.embed.EmbeddingCache;
import io.needle.embed.Pipeline;
import io.needle.zoo.Expert;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code needle embed}: per-expert embedding files that {@code needle score} reads. */
@Command(name = "embed", sortOptions = false,
    description = "Embed a labelled image dataset with every expert of a zoo: one Arrow file per expert and labels.npy in --out, ready for 'needle score --embeddings OUT --labels OUT/labels.npy'. Resumable: finished experts whose model, data and preprocessing are unchanged are not recomputed.")
final class EmbedCommand implements Callable<Integer> {
  @Mixin TaskOptions task;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder of <expert>.arrow files and labels.npy")
  Path out;

  @Option(names = "--quiet", description = "no progress bar or summary on stderr")
  boolean quiet;

  @Override
  public Integer call() {
    Main.quiet(quiet);
    Outputs.checkDir(out, "--out");
    long t0 = System.nanoTime();
    Zoo zoo = task.openZoo();
    TaskOptions.checkAny(zoo.experts(), zoo.problems(), task.zoo);
    ProgressBar bar = new ProgressBar(quiet);
    Images all = Images.open(task.data, (d, t) -> {
      bar.show("read", d, t, "images", null);
      return 0;
    });
    bar.clear();
    Images images = all.subsample(task.n, task.seed);
    if (!quiet) System.err.println("needle: " + TaskOptions.describe(all, images) + "; " + zoo.experts().size() + " experts");
    List<Problem> problems = new ArrayList<>(zoo.problems());
    problems.addAll(images.problems());
    int[] done = {0};
    int[] cached = {0};
    int[] failed = {0};
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-24s %6s %10s  %s%n", "expert", "dim", "seconds", "source"));
    try (EmbeddingCache cache = EmbeddingCache.open(out)) {
      cache.putLabels(images);
      new Pipeline(task.device, task.threads, task.imageBatch).run(zoo.experts(), images, cache, new Pipeline.Listener() {
        @Override
        public void embedded(Expert e, Embedding x, boolean fromCache, double seconds, String device) {
          done[0]++;
          if (fromCache) cached[0]++;
          table.append(String.format(Locale.ROOT, "%-24s %6d %10.3f  %s%n", e.id(), x.cols(), seconds, fromCache ? "cache" : device));
        }

        @Override
        public void failed(Expert e, String message) {
          done[0]++;
          failed[0]++;
          problems.add(new Problem(e.id(), message));
          table.append(String.format(Locale.ROOT, "%-24s %6s %10s  %s%n", e.id(), "-", "-", "failed"));
        }

        @Override
        public void images(Expert e, int n, int total) {
          bar.show("embed", done[0], zoo.experts().size(), "experts", e.id() + " " + n + "/" + total);
        }
      });
    }
    bar.clear();
    System.out.print(table);
    if (!quiet) {
      Main.printLeftOut(problems);
      System.err.printf(Locale.ROOT, "needle: %d experts in %.2f s (%d from cache, %d failed); wrote %s%n", zoo.experts().size(),
          (System.nanoTime() - t0) / 1e9, cached[0], failed[0], out);
    }
    if (failed[0] == zoo.experts().size()) {
      System.err.println("needle: no usable expert: every expert failed");
      return Main.BAD_INPUT;
    }
    return problems.isEmpty() ? Main.OK : Main.PARTIAL;
  }
}
