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
@Command(name = "zoo", description = "Inspect a zoo of ONNX experts, add a soup of some of them, or generate one for benchmarks.",
    subcommands = {ZooCommand.Inspect.class, SoupCommand.class, ZooCommand.Generate.class})
final class ZooCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "choose a subcommand: inspect, soup, generate");
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

  /** {@code needle zoo generate DIR --experts N}: a synthetic zoo for benchmarks and tests at scale. */
  @Command(name = "generate", sortOptions = false,
      description = "Write N small distinct ONNX experts (CNNs, MLPs and packed adapters with random weights, plausible metadata) and their zoo.json, for trying Needle at scale. The same arguments write the same files.")
  static final class Generate implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "the folder to write (created if needed)")
    Path dir;

    @Option(names = "--experts", paramLabel = "N", defaultValue = "1000", description = "how many experts (default ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--size", paramLabel = "PX", defaultValue = "28", description = "image height and width the experts take (default ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--channels", paramLabel = "C", defaultValue = "1", description = "1 or 3 (default ${DEFAULT-VALUE})")
    int channels;

    @Option(names = "--seed", defaultValue = "0", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
      long t0 = System.nanoTime();
      io.needle.zoo.GeneratedZoo.Written w = io.needle.zoo.GeneratedZoo.write(dir, experts, size, channels, seed);
      System.out.printf(Locale.ROOT, "%d experts in %d ONNX files (%.1f MB) and %s written to %s in %.1f s%n", w.experts(), w.files(),
          w.bytes() / 1e6, Zoo.MANIFEST, dir, (System.nanoTime() - t0) / 1e9);
      return Main.OK;
    }
  }
}
