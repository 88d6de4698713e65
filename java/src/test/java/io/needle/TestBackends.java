package io.needle;

import io.needle.engine.Backend;
import io.needle.engine.Backends;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The backends a test runs on. java always; cpu must load unless the build skipped native code
 * (-Dneedle.skipNative), so CI fails if the native build silently broke; cuda only where a device is usable.
 */
public final class TestBackends {
  private TestBackends() {}

  public static boolean nativeRequired() {
    return !Boolean.parseBoolean(System.getProperty("needle.skipNative", "false"));
  }

  /** Names of the backends usable here (java, cpu, cuda), failing if cpu is required but absent. */
  public static List<String> names() {
    List<String> out = new ArrayList<>();
    for (Backends.Availability a : Backends.probe()) {
      if (a.usable()) out.add(a.name());
      else if (a.name().equals("cpu") && nativeRequired())
        throw new AssertionError("cpu backend must be built and loadable in this build: " + a.detail());
    }
    return out;
  }

  /** Opens a backend, or skips the test with the reason it is unavailable. */
  public static Backend open(String name) {
    for (Backends.Availability a : Backends.probe())
      if (a.name().equals(name)) Assumptions.assumeTrue(a.usable(), name + " backend unavailable here: " + a.detail());
    return Backends.open(name, 0);
  }
}
