package io.needle;

import java.util.Arrays;
import java.util.Locale;

/** The one rule for enum values on the command line and in files: lower case, parsed back with a message naming the choices. */
public final class Ids {
  private Ids() {}

  /** @return the value's name in lower case ("auto", "cuda", "ok") */
  public static String id(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param what what is being parsed, for the message ("device", "backend", "score status")
   * @throws NeedleException {@code code} naming the value and the choices
   */
  public static <E extends Enum<E>> E parse(Class<E> type, String s, String what, NeedleException.Code code) {
    for (E e : type.getEnumConstants()) if (id(e).equals(s.trim().toLowerCase(Locale.ROOT))) return e;
    throw new NeedleException(code, "unknown " + what + " '" + s + "': use "
        + String.join(", ", Arrays.stream(type.getEnumConstants()).map(Ids::id).toList()));
  }
}
