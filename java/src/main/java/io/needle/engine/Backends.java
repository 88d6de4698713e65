package io.needle.engine;

import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Backend discovery, in the manner of DJL's engine discovery and Lucene's vectorization provider: "auto"
 * takes cuda if a device is usable, else cpu, else java, and logs each skipped tier once with its reason.
 */
public final class Backends {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle.engine");
  private static volatile boolean logged;

  private Backends() {}

  /** The backends by name, for typed configuration ({@link #AUTO}: the best usable one). */
  public enum Kind {
    AUTO, JAVA, CPU, CUDA;

    /** @return "auto", "java", "cpu" or "cuda" */
    public String id() {
      return io.needle.Ids.id(this);
    }

    /** Parses {@link #id()}. */
    public static Kind parse(String s) {
      return io.needle.Ids.parse(Kind.class, s, "backend", NeedleException.Code.INVALID_ARGUMENT);
    }
  }

  /** Opens a backend of this kind; see {@link #open(String, int)}. */
  public static Backend open(Kind kind, int threads) {
    return open(kind.id(), threads);
  }

  /** One tier's availability, as {@code needle doctor} prints it. */
  public record Availability(String name, boolean usable, String detail) {}

  /** @return every backend tier, best first, with whether it is usable here and why not */
  public static List<Availability> probe() {
    List<Availability> out = new ArrayList<>();
    String cuda = CudaBackend.unavailableReason();
    out.add(new Availability("cuda", cuda == null, cuda == null ? describe("cuda") : cuda));
    NativeLoader.Status cpu = CpuBackend.status();
    out.add(new Availability("cpu", cpu.loaded(), cpu.loaded() ? describe("cpu") : cpu.reason()));
    out.add(new Availability("java", true, describe("java")));
    return out;
  }

  private static String describe(String name) {
    try (Backend b = open(name, 0)) {
      return b.describe();
    }
  }

  /**
   * Opens a backend by name: "auto", "java", "cpu" or "cuda".
   *
   * @param threads CPU threads (java and cpu backends); 0 or less means all cores
   * @throws NeedleException BACKEND_UNAVAILABLE if a named backend cannot run here (with the reason)
   */
  public static Backend open(String name, int threads) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "java":
        return new JavaBackend(threads);
      case "cpu":
        return new CpuBackend(threads);
      case "cuda":
        return new CudaBackend();
      case "auto":
        return auto(threads);
      default:
        throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT,
            "unknown backend '" + name + "': use auto, java, cpu or cuda");
    }
  }

  private static Backend auto(int threads) {
    String cuda = CudaBackend.unavailableReason();
    if (cuda == null) return new CudaBackend();
    NativeLoader.Status cpu = CpuBackend.status();
    if (!logged) {
      logged = true;
      LOG.info("backend cuda skipped: " + cuda);
      if (!cpu.loaded()) LOG.warn("backend cpu skipped: " + cpu.reason() + "; using the java reference backend");
    }
    return cpu.loaded() ? new CpuBackend(threads) : new JavaBackend(threads);
  }
}
