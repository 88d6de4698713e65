package io.needle;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.needle.engine.Backends;
import org.junit.jupiter.api.Test;

/**
 * The thin library jar with its dependencies, as a Maven user gets it (failsafe puts the packaged jar, not
 * target/classes, on the class path): JavaCPP is there and the jar's own native cpu library loads (issue 11: the thin
 * jar lacked JavaCPP at run time).
 */
class ThinJarIT {
  @Test
  void theThinJarLoadsJavaCppAndItsNativeCpuBackend() throws Exception {
    String from = Backends.class.getProtectionDomain().getCodeSource().getLocation().getPath();
    assertTrue(from.endsWith(".jar"), "Needle's classes should come from the packaged jar, not " + from);
    Class.forName("org.bytedeco.javacpp.Loader");
    assumeFalse(Boolean.getBoolean("needle.skipNative"), "built with -Dneedle.skipNative=true: no native library to load");
    Backends.Availability cpu = Backends.probe().stream().filter(a -> a.name().equals("cpu")).findFirst().orElseThrow();
    assertTrue(cpu.usable() || !cpu.detail().matches("(?s).*(NoClassDefFound|ClassNotFound|UnsatisfiedLink|no jniNativeCpu).*"),
        "the cpu backend did not load from the thin jar: " + cpu.detail());
  }
}
