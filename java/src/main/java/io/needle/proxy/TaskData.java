package io.needle.proxy;

import io.needle.NeedleException;
import io.needle.data.Labels;
import io.needle.engine.Backend;
import java.util.List;

/**
 * What every proxy gets of the task: its labels, the backend to compute on, the settings, the validation split (made
 * once, on first use) and task-level signals ([001]'s selectors run on the task's images), if any.
 */
public final class TaskData {
  /** Validation share of the stratified split used by proxies that need one (VTAB-1k's 800/200). */
  public static final Option<Double> VAL_FRACTION = Option.real("val-fraction", 0.2, v -> v > 0 && v < 1,
      "validation share of the stratified train/validation split, in (0, 1)");
  /** Seed of the split and of every randomised proxy. */
  public static final Option<Long> SEED = Option.longValue("seed", 0, "seed of the split and of randomised proxies");

  /** The options of the task context itself (not of one proxy). */
  public static final List<Option<?>> OPTIONS = List.of(VAL_FRACTION, SEED);

  private final Backend backend;
  private final Labels labels;
  private final Settings settings;
  private final TaskSignals signals;
  private final LinearProbe.Workspace workspace = new LinearProbe.Workspace();
  private Split split;

  /**
   * @param signals task-level model outputs, or null when there are none (no images, or no selectors in the zoo)
   */
  public TaskData(Backend backend, Labels labels, Settings settings, TaskSignals signals) {
    this.backend = backend;
    this.labels = labels;
    this.settings = settings;
    this.signals = signals;
  }

  /** @return where heavy kernels run */
  public Backend backend() {
    return backend;
  }

  /** @return the task's labels */
  public Labels labels() {
    return labels;
  }

  /** @return class index 0..C-1 per example; do not modify */
  public int[] y() {
    return labels.classes0();
  }

  /** @return C */
  public int classes() {
    return labels.classes();
  }

  /** @return N */
  public int size() {
    return labels.size();
  }

  /** @return the settings of this run */
  public Settings settings() {
    return settings;
  }

  /** @return the linear probe's arrays, reused from batch to batch of this run */
  public LinearProbe.Workspace linearWorkspace() {
    return workspace;
  }

  /** @return task-level signals, or null */
  public TaskSignals signals() {
    return signals;
  }

  /**
   * @return the stratified, seeded train/validation split (made on first use)
   * @throws NeedleException BAD_INPUT when the examples are too few to split
   */
  public synchronized Split split() {
    if (split == null) {
      Split s = Split.stratified(labels, settings.get(VAL_FRACTION), settings.get(SEED));
      if (s.val().length == 0 || s.train().length == 0)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, "labels: " + labels.size() + " examples are too few for a train/validation split");
      split = s;
    }
    return split;
  }
}
