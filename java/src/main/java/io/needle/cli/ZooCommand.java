package io.needle.cli;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.embed.Model;
import io.needle.zoo.Expert;
import io.needle.zoo.Pool;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code needle zoo}: work with a zoo folder. */
@Command(name = "zoo", description = "Inspect a zoo of ONNX experts, or add a soup of some of them.", subcommands = {ZooCommand.Inspect.class, SoupCommand.class})
final class ZooCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "choose a subcommand: inspect, soup");
  }

  /** {@code needle zoo inspect DIR}: validate and list. */
  @Command(name = "inspect", sortOptions = false,
      description = "Validate a zoo and list its experts with their metadata. Each model is loaded in ONNX Runtime to show its inputs and outputs (--no-load skips that).")
  static final class Inspect implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "the zoo folder")
    Path dir;

    @Option(names = "--pool", paramLabel = "FILTER", description = "list only the experts of a pool, e.g. params<=25e6,tag=semantic")
    String pool;

    @Option(names = "--no-load", description = "do not load the models in ONNX Runtime")
    boolean noLoad;

    @Override
    public Integer call() {
      Zoo all = Zoo.open(dir);
      Zoo zoo = all.filter(Pool.parse(pool));
      List<Problem> problems = new ArrayList<>(zoo.problems());
      Map<Path, String> signature = new HashMap<>();
      Map<Path, List<String>> dynamic = new HashMap<>();
      if (!noLoad) {
        for (Expert e : zoo.experts()) {
          if (signature.containsKey(e.file())) continue;
          try (Model m = Model.load(e.file(), "cpu", 1, e.output())) {
            signature.put(e.file(), m.signature());
            dynamic.put(e.file(), m.dynamicSizeInputs());
          } catch (NeedleException ex) {
            signature.put(e.file(), "-");
            problems.add(new Problem(e.file().getFileName().toString(), ex.getMessage()));
          }
        }
      }
      System.out.printf(Locale.ROOT, "%-26s %-22s %12s %-12s %-16s %8s  %s%n", "expert", "file", "params", "arch", "upstream", "score", "tags");
      for (Expert e : zoo.experts()) {
        var m = e.meta();
        System.out.printf(Locale.ROOT, "%-26s %-22s %12s %-12s %-16s %8s  %s%n", e.id(), e.file().getFileName(),
            m.parameters() == null ? "-" : String.format(Locale.ROOT, "%,d", m.parameters()), nz(m.architecture()), nz(m.upstream())
                + (m.upstreamSize() == null ? "" : " (" + m.upstreamSize() + ")"),
            m.score() == null ? "-" : String.format(Locale.ROOT, "%.4f", m.score()), String.join(",", m.tags()));
        if (signature.containsKey(e.file())) System.out.println("    " + signature.get(e.file())
            + (e.adapter() ? "   [adapter " + e.adapterInput() + "=" + e.adapterIndex() + "]" : "")
            + (e.output() != null ? "   [embedding: " + e.output() + "]" : ""));
        List<String> dyn = dynamic.getOrDefault(e.file(), List.of());
        if (!dyn.isEmpty() && (e.input() == null || dyn.contains(e.input())))
          System.out.println("    dynamic height/width: runs at " + (e.preprocess().resize() != null || e.preprocess().crop() != null
              ? "the size of its preprocess resize/crop" : "the task's image size (set preprocess.resize/crop in zoo.json to choose)"));
      }
      System.out.printf(Locale.ROOT, "%d experts%s%n", zoo.experts().size(),
          pool == null ? "" : " in pool " + pool + " (of " + all.experts().size() + ")");
      if (!problems.isEmpty()) {
        System.out.println("problems (" + problems.size() + "):");
        for (Problem p : problems) System.out.println("  " + p);
      }
      return problems.isEmpty() ? Main.OK : Main.PARTIAL;
    }

    private static String nz(String s) {
      return s == null ? "-" : s;
    }
  }
}
