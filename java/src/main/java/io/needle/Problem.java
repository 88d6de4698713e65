package io.needle;

/**
 * Something of the input that was left out of a run, and why: a model file, a manifest entry, an image. The
 * run goes on without it and lists it in its summary.
 *
 * @param subject the file or expert, as the user would find it
 * @param message what is wrong
 */
public record Problem(String subject, String message) {
  @Override
  public String toString() {
    return subject + ": " + message;
  }
}
