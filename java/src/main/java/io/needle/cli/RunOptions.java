package io.needle.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --cache}, {@code --no-cache} and {@code --quiet}: the run options of the commands that embed experts. */
final class RunOptions {
  @Option(names = "--cache", paramLabel = "DIR", description = "embedding cache (default: $NEEDLE_CACHE, else $XDG_CACHE_HOME/needle, else ~/.cache/needle)")
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
    if (cache != null && noCache)
      throw new io.needle.NeedleException(io.needle.NeedleException.Code.INVALID_ARGUMENT, "--cache and --no-cache together: give one");
    Main.quiet(quiet);
    Outputs.checkDir(out, "--out");
    return Outputs.cache(cache, noCache);
  }
}
