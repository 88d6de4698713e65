package io.needle.spark;

import io.needle.data.Images;
import java.io.Serializable;
import java.util.List;

/**
 * A task's images as they travel to executors (broadcast once per task): pixels, labels and names, so workers never
 * read the dataset themselves. Images left out while reading stay with the driver, which reports them once.
 */
final class TaskImages implements Serializable {
  private static final long serialVersionUID = 1L;
  private final String source;
  private final int height, width, channels;
  private final byte[] pixels;
  private final int[] labels;
  private final String[] classNames, names;

  private TaskImages(Images im) {
    source = im.source();
    height = im.height();
    width = im.width();
    channels = im.channels();
    pixels = im.pixels();
    labels = im.labels();
    classNames = im.classNames().toArray(String[]::new);
    names = im.names().toArray(String[]::new);
  }

  static TaskImages of(Images im) {
    return new TaskImages(im);
  }

  /** @return the task as the pipeline takes it: same pixels and labels, hence the same hash and cache keys as on the driver */
  Images images() {
    return new Images(source, height, width, channels, pixels, labels, List.of(classNames), List.of(names), List.of());
  }
}
