package io.needle.embed;

import io.needle.NeedleException;
import java.util.Locale;

/** Where ONNX Runtime runs the experts: CUDA when usable ({@link #AUTO}), or a named provider. */
public enum Device {
  /** CUDA if this ONNX Runtime build and machine can use it, else CPU (the reason logged once). */
  AUTO,
  /** ONNX Runtime's CPU provider. */
  CPU,
  /** ONNX Runtime's CUDA provider; an error if it cannot start. */
  CUDA;

  /** @return "auto", "cpu" or "cuda" */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@link #id()}. */
  public static Device parse(String s) {
    for (Device d : values()) if (d.id().equals(s.trim().toLowerCase(Locale.ROOT))) return d;
    throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown device '" + s + "': use auto, cpu or cuda");
  }
}
