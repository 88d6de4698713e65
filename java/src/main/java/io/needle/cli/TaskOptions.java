package io.needle.cli;

import io.needle.NeedleException;
import io.needle.Problem;
import io.needle.data.Images;
import io.needle.zoo.Expert;
import io.needle.zoo.Pool;
import io.needle.zoo.Zoo;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The options {@code needle embed} and {@code needle select} share: the zoo, the dataset and inference. */
final class TaskOptions {
  @Option(names = "--zoo", required = true, paramLabel = "DIR", description = "folder of ONNX experts, with an optional zoo.json")
  Path zoo;

  @Option(names = "--data", required = true, paramLabel = "PATH",
      description = "the task: an ImageFolder, an IDX images file (MNIST format), an Arrow table with a 'label' column, "
          + "or a folder of tasks with a tasks.json (select and ensemble)")
  Path data;

  @Option(names = "--pool", paramLabel = "FILTER", description = "experts to consider, e.g. params<=25e6,tag=semantic (default: all)")
  String pool;

  @Option(names = "--n", defaultValue = "1000", description = "stratified subsample of the dataset (default: ${DEFAULT-VALUE})")
  int n;

  @Option(names = "--seed", defaultValue = "0", description = "seed of the subsample, the split and SGD (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--device", defaultValue = "auto", description = "ONNX Runtime provider: auto, cpu or cuda (default: ${DEFAULT-VALUE})")
  String device;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--image-batch", defaultValue = "32", description = "images per inference call (default: ${DEFAULT-VALUE})")
  int imageBatch;

  /** The pool of the zoo; problems of the zoo itself are kept. */
  Zoo openZoo() {
    return Zoo.open(zoo).filter(Pool.parse(pool));
  }


  static String describe(Images all, Images used) {
    return String.format(Locale.ROOT, "%s: %d images (%s), %d classes%s", used.source(), used.size(), used.describe(), used.classNames().size(),
        all.size() > used.size() ? ", subsampled from " + all.size() : "");
  }

  static void checkAny(List<Expert> experts, List<Problem> problems, Path zoo) {
    if (experts.isEmpty())
      throw new NeedleException(NeedleException.Code.BAD_INPUT, zoo + ": no usable expert in the pool" + (problems.isEmpty() ? "" : " (" + problems.size() + " rejected: " + problems.get(0) + (problems.size() > 1 ? ", ..." : "") + ")"));
  }
}
