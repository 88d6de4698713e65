package io.needle.cli;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.Score;
import io.needle.data.AtomicWrite;
import io.needle.data.Csv;
import io.needle.data.Images;
import io.needle.data.Tasks;
import io.needle.embed.EmbeddingCache;
import io.needle.eval.ScoreTable;
import io.needle.report.Reports;
import io.needle.report.SelectReport;
import io.needle.select.Selector;
import io.needle.zoo.Zoo;
import java.nio.charset.StandardCharsets;
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
final class Suite {
  private Suite() {}

  /** One task's selection. */
  record TaskRun(Tasks.Task task, Images images, Selector.Result result, double readSeconds) {}

  /** What a suite run produced. */
  record Run(List<TaskRun> tasks, List<Problem> problems, double seconds) {}

  static final String SCORES = "scores.csv";

  static Run run(Zoo zoo, List<Tasks.Task> tasks, Selector.Config cfg, int n, long seed, Path cacheRoot, Path out, ProgressBar bar, boolean quiet) {
    long t0 = System.nanoTime();
    List<TaskRun> runs = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      Tasks.Task t = tasks.get(i);
      String label = "task " + (i + 1) + "/" + tasks.size() + " " + t.name();
      long r0 = System.nanoTime();
      Images images;
      try {
        images = Images.open(t.train()).subsample(n, seed);
      } catch (NeedleException e) {
        problems.add(new Problem("task " + t.name(), e.getMessage()));
        if (!quiet) System.err.println("needle: task " + t.name() + ": " + e.getMessage() + " (skipped)");
        continue;
      }
      double read = (System.nanoTime() - r0) / 1e9;
      Selector.Result r;
      try (EmbeddingCache c = cacheRoot == null ? null : EmbeddingCache.open(cacheRoot.resolve(images.hash().substring(0, 16)))) {
        r = Selector.run(zoo, images, c, cfg,
            (done, total, current, k, nt) -> bar.show(label, done, total, "experts", current + (k > 0 ? " " + k + "/" + nt : "")));
      }
      bar.clear();
      runs.add(new TaskRun(t, images, r, read));
      for (Problem p : r.problems())
        if (!zoo.problems().contains(p)) problems.add(new Problem(t.name() + ": " + p.subject(), p.message()));
      if (out != null) {
        SelectReport.write(out.resolve("tasks").resolve(t.name()), r, zoo.experts(), images, zoo.dir().toString());
        writeScores(out.resolve(SCORES), runs);
      }
    }
    if (runs.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, "no task could be read (" + problems.get(0) + ")");
    return new Run(List.copyOf(runs), List.copyOf(problems), (System.nanoTime() - t0) / 1e9);
  }

  static void writeScores(Path file, List<TaskRun> runs) {
    StringBuilder sb = new StringBuilder("task,").append(String.join(",", Reports.CSV_HEADER)).append('\n');
    for (TaskRun t : runs)
      for (Score s : t.result().scores()) Reports.csvRow(sb.append(Csv.field(t.task().name())).append(','), s).append('\n');
    AtomicWrite.write(file, o -> o.write(sb.toString().getBytes(StandardCharsets.UTF_8)));
  }

  /** The scores of a run as {@code needle evaluate} reads them without a trip through the file. */
  static ScoreTable scoreTable(List<TaskRun> runs) {
    Map<String, Map<String, Map<String, Score>>> m = new LinkedHashMap<>();
    for (TaskRun t : runs)
      for (Score s : t.result().scores())
        m.computeIfAbsent(t.task().name(), k -> new LinkedHashMap<>()).computeIfAbsent(s.proxy(), k -> new LinkedHashMap<>())
            .put(s.expert(), s);
    return new ScoreTable(m);
  }
}
