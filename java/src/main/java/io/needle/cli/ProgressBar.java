package io.needle.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The CLI's progress line on stderr (me.tongfei:progressbar), shown only when the console is a terminal and the
 * run is not {@code --quiet}: never in logs or pipes. One bar per stage ("read", "embed", "score", a task's
 * name): a new stage replaces the bar; {@link #clear} removes it.
 */
final class ProgressBar {
  private final boolean on;
  private me.tongfei.progressbar.ProgressBar bar;
  private String stage;

  ProgressBar(boolean quiet) {
    this.on = !quiet && System.console() != null;
  }

  /** Shows "stage 42% [=====>    ] done/total unit (elapsed / left) rate unit/s detail", redrawn at most 10 times a second. */
  synchronized void show(String stage, int done, int total, String unit, String detail) {
    if (!on) return;
    if (bar == null || !stage.equals(this.stage)) {
      clear();
      this.stage = stage;
      bar = new ProgressBarBuilder().setTaskName(stage).setInitialMax(total).setUnit(" " + unit, 1).setStyle(ProgressBarStyle.ASCII)
          .setUpdateIntervalMillis(100).continuousUpdate().showSpeed().clearDisplayOnFinish().setConsumer(new OneLine(System.err)).build();
    }
    bar.maxHint(total).stepTo(done).setExtraMessage(detail == null ? "" : " " + detail);
  }

  synchronized void clear() {
    if (bar != null) bar.close();
    bar = null;
  }

  /** Redraws one line with a carriage return and leaves nothing behind (the library's consumers end with a new line). */
  private static final class OneLine extends ConsoleProgressBarConsumer {
    private final PrintStream err;

    OneLine(PrintStream err) {
      super(err);
      this.err = err;
    }

    @Override
    public void clear() {
      err.print("\r" + " ".repeat(getMaxRenderedLength()) + "\r");
    }

    @Override
    public void close() {
      err.flush();
    }
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
