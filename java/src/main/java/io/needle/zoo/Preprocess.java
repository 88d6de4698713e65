package io.needle.zoo;

import io.needle.NeedleException;
import java.util.Arrays;
import java.util.Locale;

/**
 * How an expert wants its images: optional colour conversion, resize and centre crop, then pixels scaled to
 * [0,1] and normalised per channel, in the model's layout. With no manifest the defaults apply: no
 * conversion, no resize (the images must already have the model's size and channels), mean 0, std 1.
 *
 * @param channels "gray" or "rgb" to convert images to that mode first, or null to require the model's mode
 * @param resize null; {s} to scale the shorter side to s; or {h, w} (bilinear)
 * @param crop null, or {h, w} centre crop after the resize
 * @param mean per-channel mean subtracted after scaling to [0,1] (one value, or one per channel)
 * @param std per-channel divisor after the mean
 * @param layout "NCHW", "NHWC", or null to infer it from the model's input shape
 */
public record Preprocess(String channels, int[] resize, int[] crop, float[] mean, float[] std, String layout) {
  /** The defaults of a plain ONNX file. */
  public static final Preprocess DEFAULT = new Preprocess(null, null, null, new float[] {0f}, new float[] {1f}, null);

  public Preprocess {
    if (channels != null && !channels.equals("gray") && !channels.equals("rgb"))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, "channels must be \"gray\" or \"rgb\", not \"" + channels + "\"");
    if (resize != null && (resize.length < 1 || resize.length > 2 || Arrays.stream(resize).anyMatch(v -> v < 1)))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, "resize must be a positive size or [height, width], not " + Arrays.toString(resize));
    if (crop != null && (crop.length < 1 || crop.length > 2 || Arrays.stream(crop).anyMatch(v -> v < 1)))
      throw new NeedleException(NeedleException.Code.BAD_INPUT, "crop must be a positive size or [height, width], not " + Arrays.toString(crop));
    if (crop != null && crop.length == 1) crop = new int[] {crop[0], crop[0]};
    if (mean == null || mean.length == 0) mean = new float[] {0f};
    if (std == null || std.length == 0) std = new float[] {1f};
    for (float s : std)
      if (!(s > 0) || !Float.isFinite(s)) throw new NeedleException(NeedleException.Code.BAD_INPUT, "std values must be positive, got " + Arrays.toString(std));
    if (layout != null) {
      layout = layout.toUpperCase(Locale.ROOT);
      if (!layout.equals("NCHW") && !layout.equals("NHWC"))
        throw new NeedleException(NeedleException.Code.BAD_INPUT, "layout must be NCHW or NHWC, not " + layout);
    }
  }

  /** @return the mean of channel c (a single value applies to all channels) */
  public float mean(int c) {
    return mean.length == 1 ? mean[0] : mean[c];
  }

  /** @return the std of channel c */
  public float std(int c) {
    return std.length == 1 ? std[0] : std[c];
  }

  /** @return a stable text form of every setting, part of the embedding cache key */
  public String canonical() {
    return "channels=" + channels + ";resize=" + Arrays.toString(resize) + ";crop=" + Arrays.toString(crop)
        + ";mean=" + Arrays.toString(mean) + ";std=" + Arrays.toString(std) + ";layout=" + layout;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Preprocess p && canonical().equals(p.canonical());
  }

  @Override
  public int hashCode() {
    return canonical().hashCode();
  }

  @Override
  public String toString() {
    return canonical();
  }
}
