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
 * <p>Exit codes (README's table, checked by {@code CliContractTest}): 0 everything scored; 1 some experts, files
 * or images failed (the rest are scored and written, failures listed); 2 usage error; 3 bad task input (labels,
 * dataset, folder, missing input file, duplicate expert names, no usable expert); 4 the requested backend or
 * device is not usable here; 5 an output cannot be written, or another unexpected error.
 */
@Command(name = "needle", mixinStandardHelpOptions = true, versionProvider = Version.class, scope = CommandLine.ScopeType.INHERIT,
    usageHelpAutoWidth = true,
    description = "Which of my pre-trained models should I transfer to this dataset?",
    subcommands = {SelectCommand.class, EnsembleCommand.class, EvaluateCommand.class, DemoCommand.class, EmbedCommand.class, ScoreCommand.class, ProxiesCommand.class, ZooCommand.class, DoctorCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:everything scored (or listed, or printed)", "1:some experts, files or images failed; the rest were used and written",
        "2:usage error", "3:bad task input (labels, dataset, folder, missing input file, no usable expert)",
        "4:requested backend or device not usable here", "5:output not writable (checked before computing) or unexpected error"})
public final class Main implements Runnable {
  public static final int OK = 0, PARTIAL = 1, USAGE = 2, BAD_INPUT = 3, BACKEND = 4, ERROR = 5;

  /**
   * The exit code of a finished scoring: {@link #OK} when every score is ok, {@link #BAD_INPUT} when no expert
   * has a single score that did not fail (no usable expert: README's "stops the run"), else {@link #PARTIAL}.
   */
  static int exitCode(java.util.List<io.needle.Score> scores) {
    if (scores.stream().allMatch(s -> s.status() == io.needle.Score.Status.FAILED)) {
      System.err.println("needle: no usable expert: every expert failed");
      return BAD_INPUT;
    }
    return scores.stream().allMatch(io.needle.Score::ok) ? OK : PARTIAL;
  }

  /** Prints, on stderr, what a run left out and why (nothing when nothing was). */
  static void printLeftOut(java.util.List<io.needle.Problem> problems) {
    if (problems.isEmpty()) return;
    System.err.println("needle: left out " + problems.size() + ":");
    for (io.needle.Problem p : problems) System.err.println("  " + p);
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "choose a command: "
        + String.join(", ", spec.subcommands().keySet()));
  }

  public static void main(String[] args) {
    // The report writers build a Jackson ObjectMapper when their class is first used (~0.2 s, cold): done on a second
    // thread while the command line is parsed and the inputs read, rather than on the way to the first score
    Thread warm = new Thread(() -> {
      try {
        Class.forName("io.needle.report.Reports");
      } catch (Throwable ignored) {  // the command itself will report any real problem
      }
    }, "needle-warm-up");
    warm.setDaemon(true);
    warm.start();
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (for tests and embedding). */
  public static int run(String... args) {
    return execute(new CommandLine(new Main()), args);
  }

  /**
   * Runs {@code needle select} alone, with the same options, outputs and exit codes, each task's selection computed by
   * {@code runner}: the needle-spark module's main passes one that spreads the experts over a Spark cluster.
   *
   * @param name the command's name in its help and messages, e.g. "needle-spark"
   * @return the exit code
   */
  public static int select(String name, io.needle.select.Selector.Runner runner, String... args) {
    CommandLine cl = new CommandLine(new SelectCommand(java.util.Objects.requireNonNull(runner, "runner")));
    cl.setCommandName(name);
    CommandLine.Model.CommandSpec spec = cl.getCommandSpec();
    spec.mixinStandardHelpOptions(true);
    spec.versionProvider(new Version());
    CommandLine.Model.UsageMessageSpec needle = new CommandLine(new Main()).getCommandSpec().usageMessage();
    spec.usageMessage().autoWidth(true).exitCodeListHeading(needle.exitCodeListHeading()).exitCodeList(needle.exitCodeList());
    return execute(cl, args);
  }

  private static int execute(CommandLine cl, String... args) {
    configureLogging();
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
   * Needle's loggers: the library logs through the SLF4J API, which the CLI binds to java.util.logging
   * (slf4j-jdk14), so a level set here applies to the next call of each logger. Held here: java.util.logging
   * keeps only weak references to loggers, and a collected one would forget its level.
   */
  private static final Logger NEEDLE = Logger.getLogger("io.needle");

  /**
   * {@code --quiet}: the library's informational log lines ("backend cuda skipped: ...") are dropped; warnings
   * still print.
   */
  static void quiet(boolean quiet) {
    NEEDLE.setLevel(quiet ? Level.WARNING : Level.INFO);
  }

  /** Prints an informational line of the CLI's own ("needle: wrote ...") on stderr, unless {@code --quiet}. */
  static void info(String line) {
    if (NEEDLE.isLoggable(Level.INFO)) System.err.println(line);
  }

  /**
   * One line per message on stderr: "needle: ..." or "needle: warning: ...". Needle's own informational lines
   * print; other libraries' (Arrow, Netty, ONNX Runtime) only from warnings up.
   */
  private static void configureLogging() {
    Logger root = Logger.getLogger("");
    root.setLevel(Level.WARNING);
    NEEDLE.setLevel(Level.INFO);
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
