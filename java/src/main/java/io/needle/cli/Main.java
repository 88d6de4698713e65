package io.needle.cli;

import io.needle.NeedleException;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code needle} command.
 *
 * <p>Exit codes: 0 every expert scored; 1 some experts failed (the rest are scored and written, failures
 * listed); 2 usage error; 3 bad task input (labels, folder, no experts); 4 the requested backend is not usable
 * here; 5 an output file could not be written or another unexpected error.
 */
@Command(name = "needle", mixinStandardHelpOptions = true, version = "needle 0.1.0",
    description = "Which of my pre-trained models should I transfer to this dataset?",
    subcommands = {SelectCommand.class, EvaluateCommand.class, DemoCommand.class, EmbedCommand.class, ScoreCommand.class, ProxiesCommand.class, ZooCommand.class, DoctorCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:every expert scored", "1:some experts, files or images failed; the rest were used and written",
        "2:usage error", "3:bad task input (labels, dataset, folder, no experts)", "4:requested backend not usable here",
        "5:output not writable or unexpected error"})
public final class Main implements Runnable {
  public static final int OK = 0, PARTIAL = 1, USAGE = 2, BAD_INPUT = 3, BACKEND = 4, ERROR = 5;

  /** Prints, on stderr, what a run left out and why (nothing when nothing was). */
  static void printLeftOut(java.util.List<io.needle.Problem> problems) {
    if (problems.isEmpty()) return;
    System.err.println("needle: left out " + problems.size() + ":");
    for (io.needle.Problem p : problems) System.err.println("  " + p);
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "choose a command: select, embed, score, zoo or doctor");
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (for tests and embedding). */
  public static int run(String... args) {
    configureLogging();
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof NeedleException ne) {
        cmd.getErr().println("needle: " + ne.getMessage());
        return switch (ne.code()) {
          case INVALID_ARGUMENT -> USAGE;
          case BAD_INPUT -> BAD_INPUT;
          case BACKEND_UNAVAILABLE -> BACKEND;
          default -> ERROR;
        };
      }
      cmd.getErr().println("needle: unexpected error: " + ex);
      ex.printStackTrace(cmd.getErr());
      return ERROR;
    });
    return cl.execute(args);
  }

  /**
   * {@code --quiet}: the library's informational log lines ("backend cuda skipped: ...") are dropped; warnings
   * still print.
   */
  static void quiet(boolean quiet) {
    Logger.getLogger("").setLevel(quiet ? Level.WARNING : Level.INFO);
  }

  /** One line per message on stderr: "needle: warning: ...". */
  private static void configureLogging() {
    Logger root = Logger.getLogger("");
    root.setLevel(Level.INFO);
    for (var h : root.getHandlers()) root.removeHandler(h);
    ConsoleHandler h = new ConsoleHandler();
    h.setFormatter(new Formatter() {
      @Override
      public String format(LogRecord r) {
        String level = r.getLevel().intValue() >= Level.WARNING.intValue() ? "warning: " : "";
        return "needle: " + level + formatMessage(r) + System.lineSeparator();
      }
    });
    root.addHandler(h);
  }
}
