package io.needle.proxy;

import io.needle.NeedleException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Values of {@link Option}s; an option not set reads as its default. Immutable: {@code with} returns a copy.
 * Values given by name ({@link #with(String, String)}) are resolved against every option a registered proxy or the
 * task context declares, so a typo is an error naming the known options.
 */
public final class Settings {
  private static final Settings DEFAULTS = new Settings(Map.of());
  private final Map<String, Object> values;

  private Settings(Map<String, Object> values) {
    this.values = values;
  }

  /** @return settings where every option has its default */
  public static Settings defaults() {
    return DEFAULTS;
  }

  /** @return the value of an option: as set, else its default */
  public <T> T get(Option<T> o) {
    Object v = values.get(o.name());
    return v == null ? o.defaultValue() : o.type().cast(v);
  }

  /** @return a copy with the option set (validated) */
  public <T> Settings with(Option<T> o, T value) {
    Map<String, Object> m = new LinkedHashMap<>(values);
    m.put(o.name(), o.validate(value));
    return new Settings(Collections.unmodifiableMap(m));
  }

  /**
   * @return a copy with the option named {@code name} set from text
   * @throws NeedleException INVALID_ARGUMENT for an unknown name or a value the option rejects
   */
  public Settings with(String name, String text) {
    Option<?> o = Proxies.option(name);
    return withParsed(o, text);
  }

  private <T> Settings withParsed(Option<T> o, String text) {
    return with(o, o.parse(text));
  }

  /** @return the options set explicitly, by name */
  public Map<String, Object> explicit() {
    return values;
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
