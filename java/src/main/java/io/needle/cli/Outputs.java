package io.needle.cli;

import io.needle.NeedleException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks, before any computation, that a command's outputs can be written: a run should not spend minutes and
 * then fail on its {@code --out}.
 */
final class Outputs {
  private Outputs() {}

  /**
   * An output file: not a folder, and its folder exists as a writable folder or can be created.
   *
   * @throws NeedleException IO naming the option and the path
   */
  static void checkFile(Path file, String option) {
    if (file == null) return;
    if (Files.isDirectory(file)) throw unwritable(option, file, "is a folder; name a file");
    checkFolder(file.toAbsolutePath().getParent(), option, file);
  }

  /**
   * An output folder: not a file, and writable or creatable.
   *
   * @throws NeedleException IO naming the option and the path
   */
  static void checkDir(Path dir, String option) {
    if (dir == null) return;
    if (Files.exists(dir) && !Files.isDirectory(dir)) throw unwritable(option, dir, "is a file; name a folder");
    checkFolder(dir.toAbsolutePath(), option, dir);
  }

  /** The nearest existing ancestor of {@code folder} (itself included) must be a writable folder. */
  private static void checkFolder(Path folder, String option, Path out) {
    Path p = folder;
    while (p != null && !Files.exists(p)) p = p.getParent();
    if (p == null) return;
    if (!Files.isDirectory(p)) throw unwritable(option, out, "cannot be created: " + p + " is a file");
    if (!Files.isWritable(p)) throw unwritable(option, out, "cannot be written: " + p + " is not writable");
  }

  private static NeedleException unwritable(String option, Path out, String why) {
    return new NeedleException(NeedleException.Code.IO, option + " " + out + ": " + why);
  }

  /**
   * The embedding cache root to use: null with {@code --no-cache}; {@code --cache} as given (an unwritable one
   * fails the run later, as asked); the default ({@link SelectCommand#cacheRoot}) only if it is a writable folder
   * or can be made one, else null after one warning, so the run goes on uncached.
   */
  static Path cache(Path option, boolean noCache) {
    if (noCache) return null;
    if (option != null) return option;
    return usableDefault(SelectCommand.cacheRoot(null));
  }

  static Path usableDefault(Path root) {
    try {
      Files.createDirectories(root);
      if (Files.isWritable(root)) return root;
    } catch (java.io.IOException | RuntimeException e) {
      System.err.println("needle: warning: the default embedding cache " + root + " cannot be created (" + e + "); running without a cache (--cache DIR to choose one)");
      return null;
    }
    System.err.println("needle: warning: the default embedding cache " + root + " is not writable; running without a cache (--cache DIR to choose one)");
    return null;
  }
}
