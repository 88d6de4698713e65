package io.needle.spark;

import io.needle.NeedleException;
import io.needle.embed.Device;
import io.needle.engine.Backends;
import io.needle.proxy.Proxies;
import io.needle.proxy.Proxy;
import io.needle.proxy.Settings;
import io.needle.select.Selector;
import io.needle.select.Strategies;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every executor needs to score its experts as the driver's configuration says: inference and scoring settings as
 * text (proxies by id, options by name), rebuilt on the executor with the same parsers the CLI uses.
 */
final class JobSpec implements Serializable {
  private static final long serialVersionUID = 1L;
  final String device, backend;
  final int threads, imageBatch;
  final List<String> proxies;
  final LinkedHashMap<String, String> settings;
  /** The task's embedding cache folder (executors' paths), or null for none. */
  final String cacheDir;
  /** The zoo folder whose selectors (EPN, KL) executors read, or null when the zoo has none. */
  final String zooDir;

  private JobSpec(Selector.Config c, Path cacheDir, Path zooDir) {
    device = c.device().id();
    backend = c.backend().id();
    threads = c.threads();
    imageBatch = c.imageBatch();
    proxies = new ArrayList<>(c.proxies().stream().map(Proxy::id).toList());
    settings = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : c.settings().explicit().entrySet()) settings.put(e.getKey(), String.valueOf(e.getValue()));
    this.cacheDir = cacheDir == null ? null : cacheDir.toAbsolutePath().toString();
    this.zooDir = zooDir == null ? null : zooDir.toAbsolutePath().toString();
  }

  /**
   * @throws NeedleException INVALID_ARGUMENT if a setting does not survive its text form (executors would score with another value)
   */
  static JobSpec of(Selector.Config c, Path cacheDir, Path zooDir) {
    JobSpec j = new JobSpec(c, cacheDir, zooDir);
    Map<String, Object> back = j.settings().explicit();
    for (Map.Entry<String, Object> e : c.settings().explicit().entrySet())
      if (!e.getValue().equals(back.get(e.getKey())))
        throw new NeedleException(NeedleException.Code.INVALID_ARGUMENT, "option " + e.getKey() + "=" + e.getValue() + " cannot be sent to executors as text");
    return j;
  }

  Settings settings() {
    Settings s = Settings.defaults();
    for (Map.Entry<String, String> e : settings.entrySet()) s = s.with(e.getKey(), e.getValue());
    return s;
  }

  /**
   * The configuration an executor scores with. Strategy and budget are the driver's business (it picks once over every
   * row); {@link Selector#score} does not read them, so a fixed placeholder fills them here.
   *
   * @param taskCpus the cores Spark gave the task: what {@code --threads 0} means on an executor
   */
  Selector.Config config(int taskCpus) {
    return new Selector.Config(Device.parse(device), threads > 0 ? threads : Math.max(1, taskCpus), imageBatch, Backends.Kind.parse(backend),
        Proxies.parse(proxies), settings(), Strategies.get("task-aware"), 1);
  }
}
