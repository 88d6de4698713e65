package io.needle;

/**
 * The one exception Needle throws, with a machine-readable {@link Code} (in the manner of ONNX Runtime's
 * {@code OrtException}). Messages name the file or expert and the problem.
 */
public class NeedleException extends RuntimeException {
  /** What went wrong, coarse enough for callers to branch on. */
  public enum Code {
    /** A caller passed an argument outside its documented range. */
    INVALID_ARGUMENT,
    /** An input file or array is missing, unreadable, malformed or holds unusable values. */
    BAD_INPUT,
    /** A backend is not usable on this machine (not built, no device, library failed to load). */
    BACKEND_UNAVAILABLE,
    /** A native kernel reported an error. */
    NATIVE_ERROR,
    /** Reading or writing a file failed. */
    IO,
    /**
     * A proxy does not apply to this expert or task (LEEP without upstream logits, one class): the score is
     * {@code undefined}, not failed.
     */
    NOT_APPLICABLE
  }

  private final Code code;

  public NeedleException(Code code, String message) {
    super(message);
    this.code = code;
  }

  public NeedleException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** @return the error code */
  public Code code() {
    return code;
  }
}
