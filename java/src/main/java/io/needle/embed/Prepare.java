package io.needle.embed;

import io.needle.NeedleException;
import io.needle.data.Images;
import io.needle.zoo.Preprocess;

/**
 * Turns a dataset's 8-bit images into one expert's float input: colour conversion, bilinear resize
 * (half-pixel centres, no antialiasing), centre crop, scaling to [0,1], per-channel normalisation, in NCHW or
 * NHWC. Geometry (conversion, resize, crop) is applied once per dataset and geometry by {@link #resized};
 * {@link #write} then only normalises, a table lookup per pixel.
 */
final class Prepare {
  final int height, width, channels;
  final boolean nhwc;
  private final Images images;
  private final Preprocess pre;
  private final int srcH, srcW, srcC;
  private final int rh, rw;  // after resize
  private final int top, left;  // crop offset in the resized image
  private final float[][] lut;  // per output channel: byte -> normalised float
  private final boolean plain;
  private final int[] y0, y1, x0, x1;
  private final float[] fy, fx;

  /** Output geometry: size and channels after preprocessing, or the reason it cannot be made. */
  Prepare(Images images, Preprocess pre, boolean nhwc) {
    this.images = images;
    this.pre = pre;
    this.nhwc = nhwc;
    srcH = images.height();
    srcW = images.width();
    srcC = images.channels();
    channels = pre.channels() == null ? srcC : pre.channels().equals("gray") ? 1 : 3;
    int[] r = pre.resize();
    if (r == null) {
      rh = srcH;
      rw = srcW;
    } else if (r.length == 2) {
      rh = r[0];
      rw = r[1];
    } else if (srcH <= srcW) {
      rh = r[0];
      rw = Math.max(1, (int) Math.round((double) srcW * r[0] / srcH));
    } else {
      rw = r[0];
      rh = Math.max(1, (int) Math.round((double) srcH * r[0] / srcW));
    }
    int[] c = pre.crop();
    if (c == null) {
      height = rh;
      width = rw;
    } else {
      if (c[0] > rh || c[1] > rw)
        throw new NeedleException(NeedleException.Code.BAD_INPUT, "crop " + c[0] + "x" + c[1] + " is larger than the image after resize (" + rh + "x" + rw + ")");
      height = c[0];
      width = c[1];
    }
    top = (rh - height) / 2;
    left = (rw - width) / 2;
    if (pre.mean().length != 1 && pre.mean().length != channels || pre.std().length != 1 && pre.std().length != channels)
      throw new NeedleException(NeedleException.Code.BAD_INPUT, "mean/std have " + pre.mean().length + "/" + pre.std().length
          + " values for " + channels + " channels");
    lut = new float[channels][256];
    for (int ch = 0; ch < channels; ch++)
      for (int v = 0; v < 256; v++) lut[ch][v] = (v / 255f - pre.mean(ch)) / pre.std(ch);
    plain = channels == srcC && rh == srcH && rw == srcW && height == srcH && width == srcW;
    // bilinear sampling positions, once per geometry: output pixel centre -> source coordinate, clamped
    y0 = new int[height];
    y1 = new int[height];
    fy = new float[height];
    x0 = new int[width];
    x1 = new int[width];
    fx = new float[width];
    sample(height, top, (float) srcH / rh, srcH, y0, y1, fy);
    sample(width, left, (float) srcW / rw, srcW, x0, x1, fx);
  }

  private static void sample(int n, int offset, float scale, int src, int[] i0, int[] i1, float[] w) {
    for (int i = 0; i < n; i++) {
      float f = Math.max(0f, Math.min(src - 1f, (i + offset + 0.5f) * scale - 0.5f));
      i0[i] = (int) f;
      i1[i] = Math.min(src - 1, i0[i] + 1);
      w[i] = f - i0[i];
    }
  }

  /** @return floats per example */
  int size() {
    return height * width * channels;
  }

  /** Writes example {@code index} into {@code out[base .. base + size())}; only when {@link #plain}. */
  void write(int index, float[] out, int base) {
    byte[] px = images.pixels();
    int src = index * srcH * srcW * srcC;
    int hw = height * width;
    if (plain) {
      if (channels == 1) {
        float[] t = lut[0];
        for (int i = 0; i < hw; i++) out[base + i] = t[px[src + i] & 0xFF];
      } else if (nhwc) {
        for (int i = 0; i < hw * channels; i++) out[base + i] = lut[i % channels][px[src + i] & 0xFF];
      } else {
        for (int ch = 0; ch < channels; ch++) {
          float[] t = lut[ch];
          int o = base + ch * hw;
          for (int p = 0, q = src + ch; p < hw; p++, q += channels) out[o + p] = t[px[q] & 0xFF];
        }
      }
      return;
    }
    throw new IllegalStateException("resize, crop or colour conversion: prepare from resized() instead");
  }

  /** @return whether images go straight to the normalisation (no colour conversion, resize or crop) */
  boolean plain() {
    return plain;
  }

  /** @return what {@link #resized} depends on: equal keys give equal images */
  String geometry() {
    return srcH + "x" + srcW + "x" + srcC + "->" + rh + "x" + rw + "->" + height + "x" + width + "x" + channels + "@" + top + "," + left;
  }

  /**
   * The dataset converted, resized and cropped to this geometry, as 8-bit images (bilinear values rounded, as
   * PIL does on 8-bit images). Computed once and shared by every expert with the same geometry, so each
   * expert's own preparation is only the per-channel normalisation.
   */
  Images resized() {
    int n = images.size(), out = height * width * channels;
    byte[] px = images.pixels(), dst = new byte[n * out];
    java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
      int src = i * srcH * srcW * srcC, base = i * out;
      for (int y = 0; y < height; y++) {
        int r0 = y0[y] * srcW, r1 = y1[y] * srcW;
        float wy = fy[y];
        for (int x = 0; x < width; x++) {
          int c0 = x0[x], c1 = x1[x];
          float wx = fx[x];
          for (int ch = 0; ch < channels; ch++) {
            float a, b, c, d;
            if (srcC == channels) {  // no colour conversion: read the bytes directly
              a = px[src + (r0 + c0) * srcC + ch] & 0xFF;
              b = px[src + (r0 + c1) * srcC + ch] & 0xFF;
              c = px[src + (r1 + c0) * srcC + ch] & 0xFF;
              d = px[src + (r1 + c1) * srcC + ch] & 0xFF;
            } else {
              a = pixel(px, src, r0 + c0, ch);
              b = pixel(px, src, r0 + c1, ch);
              c = pixel(px, src, r1 + c0, ch);
              d = pixel(px, src, r1 + c1, ch);
            }
            float upper = a + (b - a) * wx, lower = c + (d - c) * wx;
            dst[base + (y * width + x) * channels + ch] = (byte) Math.round(upper + (lower - upper) * wy);
          }
        }
      }
    });
    return new Images(images.source(), height, width, channels, dst, images.labels(), images.classNames(), images.names(), images.problems());
  }

  /** Source pixel {@code at} (row-major index) in the output colour mode, 0..255. */
  private float pixel(byte[] px, int src, int at0, int ch) {
    int at = src + at0 * srcC;
    if (srcC == channels) return px[at + ch] & 0xFF;
    if (srcC == 1) return px[at] & 0xFF;  // gray -> rgb: replicate
    // rgb -> gray: ITU-R BT.601 luma, as PIL's convert("L")
    return 0.299f * (px[at] & 0xFF) + 0.587f * (px[at + 1] & 0xFF) + 0.114f * (px[at + 2] & 0xFF);
  }
}
