package io.needle.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --cache}, {@code --no-cache} and {@code --quiet}: the run options of the commands that embed experts. */
final class RunOptions {
  @Option(names = "--cache", paramLabel = "DIR", description = "embedding cache (default: $NEEDLE_CACHE, else ~/.cache/needle)")
  Path cache;

  @Option(names = "--no-cache", description = "neither read nor write cached embeddings (measures the full cost)")
  boolean noCache;

  @Option(names = "--quiet", description = "no progress bar or summary on stderr")
  boolean quiet;

  /**
   * Applies {@code --quiet}, checks {@code --out} before any computation and picks the cache.
   *
   * @return the cache folder to use, or null for none ({@link Outputs#cache}: an unusable default warns and runs uncached)
   */
  Path start(Path out) {
    Main.quiet(quiet);
    Outputs.checkDir(out, "--out");
    return Outputs.cache(cache, noCache);
  }
}
