package io.needle.proxy;

import io.needle.NeedleException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The registry of proxies: every {@link Proxy} on the class path, found once with {@link ServiceLoader} (the built-in
 * ones and any a user adds with a {@code META-INF/services/io.needle.proxy.Proxy} line), in discovery order. Two
 * proxies with one id, or two different options with one name, are refused at discovery with both named.
 */
public final class Proxies {
  private static volatile Registry registry;

  private Proxies() {}

  private record Registry(Map<String, Proxy> proxies, Map<String, Option<?>> options) {}

  private static Registry registry() {
    Registry r = registry;
    if (r == null) {
      synchronized (Proxies.class) {
        if (registry == null) registry = discover(Proxies.class.getClassLoader());
        r = registry;
      }
    }
    return r;
  }

  private static Registry discover(ClassLoader loader) {
    Map<String, Proxy> ps = new LinkedHashMap<>();
    Map<String, Option<?>> opts = new LinkedHashMap<>();
    for (Option<?> o : TaskData.OPTIONS) opts.put(o.name(), o);
    for (Proxy p : ServiceLoader.load(Proxy.class, loader)) {
      Proxy old = ps.putIfAbsent(p.id(), p);
      if (old != null && old.getClass() != p.getClass())
        throw new IllegalStateException("proxy id '" + p.id() + "' is declared by both " + old.getClass().getName() + " and " + p.getClass().getName());
      for (Option<?> o : p.options()) {
        Option<?> prev = opts.putIfAbsent(o.name(), o);
        if (prev != null && prev != o)
          throw new IllegalStateException("option '" + o.name() + "' of proxy " + p.id() + " clashes with another option of that name");
      }
    }
    return new Registry(Collections.unmodifiableMap(ps), Collections.unmodifiableMap(opts));
  }

  /** @return every registered proxy, in discovery order */
  public static List<Proxy> all() {
    return List.copyOf(registry().proxies().values());
  }

  /** @return every registered proxy's id */
  public static List<String> ids() {
    return List.copyOf(registry().proxies().keySet());
  }

  /**
   * @return the proxy with this id
   * @throws NeedleException INVALID_ARGUMENT naming the known ids
   */
  public static Proxy get(String id) {
    Proxy p = registry().proxies().get(id.trim().toLowerCase(Locale.ROOT));
    if (p == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown proxy '" + id + "': use " + String.join(", ", ids()) + " or all");
    return p;
  }

  /** @return the proxy with this id, or null */
  public static Proxy find(String id) {
    return registry().proxies().get(id);
  }

  /** @return whether higher is better for a proxy id; true for ids no registered proxy has (a score table from elsewhere) */
  public static boolean higherIsBetter(String id) {
    Proxy p = find(id);
    return p == null || p.higherIsBetter();
  }

  /** Parses proxy ids ("all" stands for every registered proxy), in the order given, without repeats. */
  public static List<Proxy> parse(List<String> ids) {
    LinkedHashSet<Proxy> out = new LinkedHashSet<>();
    for (String id : ids) {
      if (id.trim().equalsIgnoreCase("all")) out.addAll(all());
      else out.add(get(id));
    }
    if (out.isEmpty()) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "no proxy chosen");
    return new ArrayList<>(out);
  }

  /**
   * @return the option of that name declared by the task context or a registered proxy
   * @throws NeedleException INVALID_ARGUMENT naming the known options
   */
  public static Option<?> option(String name) {
    Option<?> o = registry().options().get(name.trim());
    if (o == null) throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "unknown option '" + name + "': known options are " + String.join(", ", registry().options().keySet()));
    return o;
  }

  /** @return every known option: the task context's, then each proxy's */
  public static List<Option<?>> options() {
    return List.copyOf(registry().options().values());
  }
}
