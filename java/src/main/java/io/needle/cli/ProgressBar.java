package io.needle.cli;

import java.io.PrintStream;
import java.util.Locale;

/** One self-overwriting status line on stderr, only when stderr is a terminal (never in logs or pipes). */
final class ProgressBar {
  private final PrintStream err = System.err;
  private final boolean on;
  private long last;

  ProgressBar(boolean quiet) {
    this.on = !quiet && System.console() != null;
  }

  /** Shows "stage [####    ] done/total unit detail", at most 10 times a second. */
  synchronized void show(String stage, int done, int total, String unit, String detail) {
    if (!on) return;
    long now = System.nanoTime();
    if (done < total && now - last < 100_000_000L) return;
    last = now;
    int width = 24, filled = total == 0 ? width : (int) ((long) width * done / total);
    String line = String.format(Locale.ROOT, "\r%-6s [%s%s] %d/%d %s %s", stage, "#".repeat(filled), " ".repeat(width - filled), done, total, unit,
        detail == null ? "" : detail);
    err.print(line.length() > 100 ? line.substring(0, 100) : line + " ".repeat(100 - line.length()));
  }

  synchronized void clear() {
    if (on) err.print("\r" + " ".repeat(100) + "\r");
  }

  /** @return a suite listener drawing on this bar and reporting skipped tasks on stderr unless quiet */
  static io.needle.Suite.Listener listener(ProgressBar bar, boolean quiet) {
    return new io.needle.Suite.Listener() {
      @Override
      public void progress(String label, int done, int total, String detail) {
        bar.show(label, done, total, "experts", detail);
      }

      @Override
      public void taskDone() {
        bar.clear();
      }

      @Override
      public void skipped(io.needle.data.Tasks.Task task, String reason) {
        if (!quiet) System.err.println("needle: task " + task.name() + ": " + reason + " (skipped)");
      }
    };
  }
}
