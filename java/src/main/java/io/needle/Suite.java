package io.needle;

import io.needle.data.Csv;
import io.needle.data.Images;
import io.needle.data.Tasks;
import io.needle.embed.EmbeddingCache;
import io.needle.embed.Pipeline;
import io.needle.zoo.Expert;
import io.needle.eval.ScoreTable;
import io.needle.report.Reports;
import io.needle.report.SelectReport;
import io.needle.select.Selector;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code needle select} over a folder of tasks ({@code tasks.json}): each task is selected on in turn, with the same
 * zoo, proxies and cache. A task whose data cannot be read is reported and skipped; the others go on. The combined
 * score table {@code scores.csv} ({@code task,expert,proxy,score,status,error}, what {@code needle evaluate} reads) is
 * rewritten atomically after every task, so a killed run keeps what it finished (and its embeddings are cached).
 */
public final class Suite {
  private Suite() {}

  /** One task's selection. */
  public record TaskRun(Tasks.Task task, Images images, Selector.Result result, double readSeconds) {}

  /**
   * What a suite run produced.
   *
   * @param computedUpFront embeddings of pool experts computed expert-major before the per-task selections (which then
   *     found them in the cache), over all tasks
   */
  public record Run(List<TaskRun> tasks, List<Problem> problems, double seconds, long computedUpFront) {}

  /** Told about progress and about tasks left out, from the calling thread. */
  public interface Listener {
    /** Task {@code label} ("task 2/9 digits"): {@code done} of {@code total} experts; {@code detail} the current one. */
    default void progress(String label, int done, int total, String detail) {}

    /** A task finished (or was skipped). */
    default void taskDone() {}

    /** A task could not be read and is skipped. */
    default void skipped(Tasks.Task task, String reason) {}
  }

  /** The combined score table's file name under {@code out}. */
  public static final String SCORES = "scores.csv";

  /**
   * Selects on every task in turn with the same zoo, configuration and cache.
   *
   * @param n examples per task (a stratified, seeded subsample)
   * @param cacheRoot the embedding cache root (one folder per dataset below it), or null for none
   * @param out where scores.csv and a report per task go (rewritten after every task), or null
   * @throws NeedleException BAD_INPUT when no task could be read
   */
  public static Run run(Zoo zoo, List<Tasks.Task> tasks, Selector.Config cfg, int n, long seed, Path cacheRoot, Path out, Listener listener) {
    return run(zoo, tasks, cfg, n, seed, cacheRoot, out, listener, Selector.LOCAL);
  }

  /**
   * {@link #run(Zoo, List, Selector.Config, int, long, Path, Path, Listener)}, each task's selection computed by
   * {@code runner}; the expert-major pass over all tasks is made in this JVM, so only for {@link Selector#LOCAL}.
   */
  public static Run run(Zoo zoo, List<Tasks.Task> tasks, Selector.Config cfg, int n, long seed, Path cacheRoot, Path out, Listener listener,
      Selector.Runner runner) {
    long t0 = System.nanoTime();
    List<TaskRun> runs = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    // every task's images first (8-bit, small beside the models), so each expert can embed all of them at once
    Map<Integer, Images> read = new LinkedHashMap<>();
    Map<Integer, Double> readSeconds = new LinkedHashMap<>();
    for (int i = 0; i < tasks.size(); i++) {
      Tasks.Task t = tasks.get(i);
      if (t.excluded() != null) {
        listener.skipped(t, "excluded by tasks.json: " + t.excluded());
        continue;
      }
      long r0 = System.nanoTime();
      try {
        read.put(i, Images.open(t.train()).subsample(n, seed));
        readSeconds.put(i, (System.nanoTime() - r0) / 1e9);
      } catch (NeedleException e) {
        problems.add(new Problem("task " + t.name(), e.getMessage()));
        listener.skipped(t, e.getMessage());
      }
    }
    long upFront = runner == Selector.LOCAL && cacheRoot != null && cfg.halving() == null && read.size() > 1
        ? expertMajor(zoo, cfg, read.values(), cacheRoot, listener) : 0;
    for (int i = 0; i < tasks.size(); i++) {
      if (!read.containsKey(i)) continue;
      Tasks.Task t = tasks.get(i);
      String label = "task " + (i + 1) + "/" + tasks.size() + " " + t.name();
      Images images = read.get(i);
      double readTime = readSeconds.get(i);
      Selector.Result r = runner.run(zoo, images, cacheRoot == null ? null : cacheRoot.resolve(images.hash().substring(0, 16)), cfg,
          (done, total, current, k, nt) -> listener.progress(label, done, total, current + (k > 0 ? " " + k + "/" + nt : "")));
      listener.taskDone();
      runs.add(new TaskRun(t, images, r, readTime));
      for (Problem p : r.problems())
        if (!zoo.problems().contains(p)) problems.add(new Problem(t.name() + ": " + p.subject(), p.message()));
      if (out != null) {
        SelectReport.write(out.resolve("tasks").resolve(t.name()), r, zoo.experts(), images, zoo.dir().toString());
        writeScores(out.resolve(SCORES), runs);
      }
    }
    if (runs.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, "no task could be read (" + problems.get(0) + ")");
    return new Run(List.copyOf(runs), List.copyOf(problems), (System.nanoTime() - t0) / 1e9, upFront);
  }

  /**
   * Embeds every task with each expert while its model is loaded once (instead of once per task), into each task's
   * cache; the per-task selections then read their embeddings back. Skipped when the images of all tasks together
   * exceed {@link #EXPERT_MAJOR_BYTES} (they are held at once).
   */
  private static long expertMajor(Zoo zoo, Selector.Config cfg, java.util.Collection<Images> all, Path cacheRoot, Listener listener) {
    long bytes = all.stream().mapToLong(im -> (long) im.pixels().length).sum();
    if (bytes > EXPERT_MAJOR_BYTES) return 0;
    List<Expert> experts = Selector.models(zoo.experts(), zoo.selectors(), cfg);
    // one cache per distinct dataset (two tasks on the same images share it)
    Map<String, Images> distinct = new LinkedHashMap<>();
    for (Images im : all) distinct.putIfAbsent(im.hash(), im);
    List<Images> tasks = new ArrayList<>(distinct.values());
    List<EmbeddingCache> caches = new ArrayList<>();
    try {
      for (Images im : tasks) caches.add(EmbeddingCache.open(cacheRoot.resolve(im.hash().substring(0, 16))));
      Map<String, Integer> computed = new Pipeline(cfg.device().id(), cfg.threads(), cfg.imageBatch()).prefetch(experts, tasks, caches,
          (done, total, expert) -> listener.progress("all " + tasks.size() + " tasks", done, total, expert));
      return zoo.experts().stream().mapToLong(e -> computed.getOrDefault(e.id(), 0)).sum();
    } finally {
      for (EmbeddingCache c : caches) c.close();
    }
  }

  /** The most image bytes (all tasks together) for which experts embed every task while loaded once. */
  public static final long EXPERT_MAJOR_BYTES = 2L << 30;

  /** Writes the combined score table ({@code task} then the score CSV's columns) atomically. */
  public static void writeScores(Path file, List<TaskRun> runs) {
    List<String> header = new ArrayList<>(List.of("task"));
    header.addAll(Reports.CSV_HEADER);
    Csv.write(file, header, out -> {
      for (TaskRun t : runs)
        for (Score s : t.result().scores()) {
          List<Object> row = Reports.csvFields(s);
          row.add(0, t.task().name());
          out.printRecord(row);
        }
    });
  }

  /** The scores of a run as {@code needle evaluate} reads them without a trip through the file. */
  public static ScoreTable scoreTable(List<TaskRun> runs) {
    Map<String, Map<String, Map<String, Score>>> m = new LinkedHashMap<>();
    for (TaskRun t : runs)
      for (Score s : t.result().scores())
        m.computeIfAbsent(t.task().name(), k -> new LinkedHashMap<>()).computeIfAbsent(s.proxy(), k -> new LinkedHashMap<>())
            .put(s.expert(), s);
    return new ScoreTable(m);
  }
}
