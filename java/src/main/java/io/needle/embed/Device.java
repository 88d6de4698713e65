package io.needle.embed;

import io.needle.NeedleException;

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
    return io.needle.Ids.id(this);
  }

  /** Parses {@link #id()}. */
  public static Device parse(String s) {
    return io.needle.Ids.parse(Device.class, s, "device", NeedleException.Code.INVALID_ARGUMENT);
  }
}
