package io.needle.proxy;

import io.needle.NeedleException;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * A typed parameter of a proxy (or of the task context, such as the validation split), declared once with its
 * default and its validation. Options live in one flat namespace ({@code k}, {@code linear-c}, {@code logme-tol}...);
 * proxies that share a parameter (knn-loo and knn-split share {@code k}) share the one {@code Option} constant.
 *
 * <pre>{@code
 * Settings s = Settings.defaults().with(Knn.K, 3).with("logme-tol", "1e-4");
 * }</pre>
 *
 * @param name the name on the command line ({@code --set name=value}) and in reports
 * @param type Integer, Long, Double, Boolean or String
 * @param defaultValue the value when none is given
 * @param description one line for {@code --help} and the docs, including the valid range
 * @param check the validation; a value it rejects is an INVALID_ARGUMENT naming the option
 * @param choices for String options, the allowed values (empty: any)
 */
public record Option<T>(String name, Class<T> type, T defaultValue, String description, Predicate<T> check, List<String> choices) {
  public Option {
    Objects.requireNonNull(name);
    Objects.requireNonNull(defaultValue, name);
    choices = List.copyOf(choices);
    if (!check.test(defaultValue)) throw new IllegalArgumentException(name + ": default " + defaultValue + " fails its own check");
  }

  /** An integer option with a range check. */
  public static Option<Integer> integer(String name, int dflt, int min, int max, String description) {
    return new Option<>(name, Integer.class, dflt, description, v -> v >= min && v <= max, List.of());
  }

  /** A real option that must lie in the open-or-closed interval described by {@code check}. */
  public static Option<Double> real(String name, double dflt, Predicate<Double> check, String description) {
    return new Option<>(name, Double.class, dflt, description, v -> !v.isNaN() && check.test(v), List.of());
  }

  /** A seed or other long. */
  public static Option<Long> longValue(String name, long dflt, String description) {
    return new Option<>(name, Long.class, dflt, description, v -> true, List.of());
  }

  /** A choice among fixed strings. */
  public static Option<String> choice(String name, String dflt, List<String> choices, String description) {
    return new Option<>(name, String.class, dflt, description, choices::contains, choices);
  }

  /** A true/false switch. */
  public static Option<Boolean> flag(String name, boolean dflt, String description) {
    return new Option<>(name, Boolean.class, dflt, description, v -> true, List.of());
  }

  /** @return {@code value} if this option accepts it */
  public T validate(T value) {
    if (value == null || !type.isInstance(value) || !check.test(value))
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "option " + name + ": invalid value " + value
          + (choices.isEmpty() ? "" : " (use " + String.join(", ", choices) + ")") + "; " + description);
    return value;
  }

  /** Parses a value given as text (command line, config file) and validates it. */
  public T parse(String text) {
    String s = text.trim();
    Object v;
    try {
      if (type == Integer.class) v = Integer.valueOf(s);
      else if (type == Long.class) v = Long.valueOf(s);
      else if (type == Double.class) v = Double.valueOf(s);
      else if (type == Boolean.class) {
        String b = s.toLowerCase(Locale.ROOT);
        if (!b.equals("true") && !b.equals("false")) throw new NumberFormatException();
        v = Boolean.valueOf(b);
      } else v = s;
    } catch (NumberFormatException e) {
      throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "option " + name + ": '" + text + "' is not a "
          + type.getSimpleName().toLowerCase(Locale.ROOT) + "; " + description);
    }
    return validate(type.cast(v));
  }
}
