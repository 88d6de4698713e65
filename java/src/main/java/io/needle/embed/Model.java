package io.needle.embed;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.needle.NeedleException;
import io.needle.zoo.OnnxFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One ONNX model loaded in ONNX Runtime, shared by all experts (adapters) it holds. Sessions are created on
 * the CUDA execution provider when it is usable, else on the CPU; the first fallback is logged once with the
 * reason.
 */
public final class Model implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.needle.embed");
  private static volatile String cudaProblem;  // why CUDA is not used, once known
  private static volatile boolean cudaLogged;

  final OrtEnvironment env;
  final OrtSession session;
  final Path file;
  final String device;
  final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
  final Map<String, TensorInfo> outputs = new LinkedHashMap<>();

  private Model(OrtEnvironment env, OrtSession session, Path file, String device) throws OrtException {
    this.env = env;
    this.session = session;
    this.file = file;
    this.device = device;
    for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet())
      if (e.getValue().getInfo() instanceof TensorInfo t) inputs.put(e.getKey(), t);
    for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet())
      if (e.getValue().getInfo() instanceof TensorInfo t) outputs.put(e.getKey(), t);
  }

  /** Records why CUDA is not used; the first reason stays (workers loading models at once must not clear it). */
  private static synchronized void cudaFailed(String why) {
    if (cudaProblem == null && why != null) cudaProblem = why;
  }

  /** @return true if experts loaded for this device may run on CUDA (it is not ruled out yet) */
  static boolean mayUseCuda(String device) {
    if (device.equals("cpu") || cudaProblem != null) return false;
    environment();
    return noCudaProvider() == null;
  }

  /** @return why this ONNX Runtime build cannot run CUDA at all, or null if it has the CUDA execution provider */
  private static String noCudaProvider() {
    return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA) ? null
        : "this ONNX Runtime build has no CUDA execution provider (build with -Pgpu for onnxruntime_gpu)";
  }

  /**
   * Checks, without loading a model, that this ONNX Runtime build has the CUDA execution provider (whether a device
   * is present shows only when a session starts).
   *
   * @throws NeedleException BACKEND_UNAVAILABLE if it has not, or if CUDA already failed to start in this process
   */
  public static void requireCudaProvider() {
    environment();
    if (cudaProblem == null) cudaFailed(noCudaProvider());
    if (cudaProblem != null) throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "ONNX Runtime cannot use CUDA: " + cudaProblem);
  }

  /**
   * Loads a model.
   *
   * @param device "auto" (CUDA if usable, else CPU), "cpu" or "cuda"
   * @param threads intra-op threads, 0 for ONNX Runtime's default (all cores)
   * @param output the tensor wanted as the embedding; when it is an intermediate value (not a graph output) the
   *     graph is given one more output for it; null for the model as it is
   * @throws NeedleException BAD_INPUT naming the file if ONNX Runtime cannot load it; BACKEND_UNAVAILABLE if
   *     "cuda" was asked for and cannot be used
   */
  public static Model load(Path file, String device, int threads, String output) {
    OrtEnvironment env = environment();
    byte[] bytes = null;
    if (output != null) {
      try {
        byte[] b = Files.readAllBytes(file);
        if (!OnnxFile.inspect(b, file.getFileName().toString()).outputs().contains(output)) bytes = OnnxFile.withOutput(b, output);
      } catch (java.io.IOException e) {
        throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": cannot read: " + e.getMessage(), e);
      }
    }
    boolean tryCuda = !device.equals("cpu") && cudaProblem == null;
    if (device.equals("cuda") && cudaProblem != null)
      throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "ONNX Runtime cannot use CUDA: " + cudaProblem);
    if (tryCuda) {
      String missing = noCudaProvider();
      if (missing != null) cudaFailed(missing);
      else {
        try {
          return new Model(env, session(env, file, bytes, threads, true), file, "cuda");
        } catch (OrtException e) {
          cudaFailed("the CUDA execution provider did not start: " + firstLine(e.getMessage()));
        }
      }
      if (device.equals("cuda"))
        throw new NeedleException(NeedleException.Code.BACKEND_UNAVAILABLE, "ONNX Runtime cannot use CUDA: " + cudaProblem);
    }
    if (!cudaLogged && device.equals("auto")) {
      cudaLogged = true;
      LOG.info("experts run on ONNX Runtime's CPU provider: " + cudaProblem);
    }
    try {
      return new Model(env, session(env, file, bytes, threads, false), file, "cpu");
    } catch (OrtException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file.getFileName() + ": ONNX Runtime cannot load it: " + firstLine(e.getMessage()), e);
    }
  }

  private static volatile OrtEnvironment environment;

  /**
   * ONNX Runtime's environment, created once, on a thread of its own. ONNX Runtime 1.29 creates it with a recursion as
   * deep as the process's command line is long (about 250 bytes of stack per byte of it): a JVM started with its class
   * path spelt out (a Spark executor, an IDE's run) overflows a 1 MB thread stack there and dies of SIGSEGV with no
   * error report. The thread's stack is sized from the command line with a margin; later calls need no more stack.
   */
  static OrtEnvironment environment() {
    OrtEnvironment e = environment;
    if (e != null) return e;
    synchronized (Model.class) {
      if (environment == null) {
        Object[] out = new Object[1];
        Thread t = new Thread(null, () -> {
          try {
            out[0] = OrtEnvironment.getEnvironment();
          } catch (Throwable x) {
            out[0] = x;
          }
        }, "needle-onnxruntime-init", (64L << 20) + 512L * commandLineBytes());
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
          try {
            t.join();
            break;
          } catch (InterruptedException ex) {
            interrupted = true;
          }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (out[0] instanceof RuntimeException x) throw x;
        if (out[0] instanceof Error x) throw x;
        if (out[0] instanceof Throwable x) throw new IllegalStateException(x);
        environment = (OrtEnvironment) out[0];
      }
      return environment;
    }
  }

  /** @return the length of this process's command line where the system tells it (Linux), else 0 */
  private static long commandLineBytes() {
    try {
      return Files.readAllBytes(Path.of("/proc/self/cmdline")).length;
    } catch (java.io.IOException | RuntimeException ex) {
      return 0;
    }
  }

  private static OrtSession session(OrtEnvironment env, Path file, byte[] bytes, int threads, boolean cuda) throws OrtException {
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (threads > 0) o.setIntraOpNumThreads(threads);
      // ONNX Runtime's intra-op threads spin after each run by default; beside Needle's own threads (image preparation,
      // scoring) and on few cores they take the CPU those need: measured 1.4-2x faster whole runs without it (benchmarks/README)
      if (!Boolean.getBoolean("needle.ortSpin")) o.addConfigEntry("session.intra_op.allow_spinning", "0");
      if (cuda) o.addCUDA(0);
      if (bytes != null) {
        // external data is found relative to the original file, not the working directory
        o.addConfigEntry("session.model_external_initializers_file_folder_path", file.toAbsolutePath().getParent().toString());
        return env.createSession(bytes, o);
      }
      return env.createSession(file.toString(), o);
    }
  }

  /** @return the ONNX Runtime session (for callers that run the model themselves; Needle keeps ownership) */
  public OrtSession session() {
    return session;
  }

  /** @return "cpu" or "cuda": where this model runs */
  public String device() {
    return device;
  }

  /** @return a one-line description of the inputs and outputs, e.g. "image float[-1,1,28,28] -> embedding float[-1,64]" */
  public String signature() {
    return describe(inputs) + " -> " + describe(outputs);
  }

  /** @return the 4-D inputs whose height or width is dynamic (Needle feeds them at the prepared images' size) */
  public List<String> dynamicSizeInputs() {
    List<String> out = new ArrayList<>();
    inputs.forEach((k, t) -> {
      long[] s = t.getShape();
      if (s.length == 4 && (s[1] <= 0 || s[2] <= 0 || s[3] <= 0)) out.add(k);
    });
    return out;
  }

  private static String describe(Map<String, TensorInfo> m) {
    List<String> parts = new ArrayList<>();
    m.forEach((k, t) -> parts.add(k + " " + type(t.type) + Arrays.toString(t.getShape()).replace(" ", "")));
    return String.join(", ", parts);
  }

  static String type(OnnxJavaType t) {
    return t.name().toLowerCase(java.util.Locale.ROOT);
  }

  static String firstLine(String s) {
    if (s == null) return "unknown error";
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).trim();
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      LOG.warn(file + ": closing the session failed: " + e.getMessage());
    }
  }
}
