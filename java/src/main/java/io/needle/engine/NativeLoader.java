package io.needle.engine;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.Loader;

/**
 * The one place native libraries are loaded. Each library is tried once per process; the outcome (and, on
 * failure, the reason in words) is remembered so that backend discovery can report it without retrying.
 */
final class NativeLoader {
  /** Outcome of loading one library. */
  record Status(boolean loaded, String reason) {}

  private static final Map<Class<?>, Status> STATUS = new HashMap<>();

  private NativeLoader() {}

  static synchronized Status load(Class<?> binding, String whyAbsent) {
    return STATUS.computeIfAbsent(binding, c -> {
      String platform = Loader.getPlatform();
      String lib = "jni" + c.getSimpleName();
      String resource = platform + "/" + System.mapLibraryName(lib);
      if (c.getResource(resource) == null)
        return new Status(false, "library " + System.mapLibraryName(lib) + " for " + platform + " is not in this build (" + whyAbsent + ")");
      try {
        Loader.load(c);
        return new Status(true, "loaded " + resource);
      } catch (Throwable t) {
        return new Status(false, "loading " + resource + " failed: " + t);
      }
    });
  }
}
