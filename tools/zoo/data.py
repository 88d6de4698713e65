"""Offline, seeded image data for the mini zoo and mini-VTAB: all 28x28 8-bit grayscale.

Real data: Debian's dataset-fashion-mnist (IDX), scikit-learn's bundled `digits` and `load_sample_images`.
Procedural data in the spirit of dSprites/CLEVR (shapes, counts) and of VTAB's specialised tasks (cells,
terrain, retina-like fundus images), rendered with numpy from a seeded generator. Upstream sets and
downstream tasks never share an image: Fashion-MNIST upstream uses the *train* split and the task the
*test* split; procedural sets use disjoint seeds (and hashes are checked by build_zoo.py).
"""
import gzip
import math
import os

import numpy as np

FM = "/usr/share/datasets/fashion-mnist"
S = 28          # image side
SS = 2          # supersampling for procedural rendering

FASHION = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
SHAPES = ["square", "triangle", "cross", "ellipse", "ring", "heart"]          # upstream shapes
TEXTURES = ["h-stripes", "v-stripes", "d-stripes", "checker", "dots", "blobs"]


def read_idx(path):
    """An IDX file of unsigned bytes (gzip'd or not) as a numpy array."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def fashion(split):
    p = os.path.join(FM, "train" if split == "train" else "t10k")
    return read_idx(f"{p}-images-idx3-ubyte.gz"), read_idx(f"{p}-labels-idx1-ubyte.gz").astype(np.int64)


# ------------------------------------------------------------------ rendering helpers
def _grid(n):
    """Pixel-centre coordinates in [-1, 1], supersampled: [S*SS, S*SS] each."""
    t = (np.arange(S * SS) + 0.5) / (S * SS) * 2 - 1
    y, x = np.meshgrid(t, t, indexing="ij")
    return x, y


_X, _Y = _grid(S)


def _down(a):
    """[..., S*SS, S*SS] float -> [..., S, S] by box filtering."""
    sh = a.shape[:-2]
    return a.reshape(*sh, S, SS, S, SS).mean(axis=(-1, -3))


def shape_mask(kind, cx, cy, scale, angle):
    """Supersampled coverage of one shape centred at (cx, cy) in [-1,1] coordinates."""
    c, s = math.cos(angle), math.sin(angle)
    u = ((_X - cx) * c + (_Y - cy) * s) / scale
    v = (-(_X - cx) * s + (_Y - cy) * c) / scale
    if kind == "square":
        m = (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    elif kind == "triangle":
        m = (v >= -0.6) & (v <= 1.0) & (np.abs(u) <= (1.0 - v) * 0.62)
    elif kind == "cross":
        m = ((np.abs(u) <= 0.3) & (np.abs(v) <= 1)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1))
    elif kind == "ellipse":
        m = u ** 2 + (v / 0.55) ** 2 <= 1
    elif kind == "ring":
        r = np.sqrt(u ** 2 + v ** 2)
        m = (r <= 1) & (r >= 0.6)
    elif kind == "heart":
        a, b = u * 1.2, -v * 1.2 + 0.25
        m = (a ** 2 + b ** 2 - 1) ** 3 - a ** 2 * b ** 3 <= 0
    elif kind == "ell":          # an L, no rotational symmetry (orientation task)
        m = ((u >= -0.8) & (u <= -0.3) & (np.abs(v) <= 0.9)) | ((v >= 0.4) & (v <= 0.9) & (u >= -0.8) & (u <= 0.8))
    elif kind == "arrow":        # no rotational symmetry either
        m = ((np.abs(v) <= 0.2) & (u >= -0.9) & (u <= 0.3)) | ((u >= 0.3) & (u <= 0.95) & (np.abs(v) <= (0.95 - u) * 1.1))
    else:
        raise ValueError(kind)
    return m.astype(np.float32)


def to_u8(a):
    return np.clip(np.round(a * 255), 0, 255).astype(np.uint8)


def blur(a, sigma):
    """Separable Gaussian blur of [..., H, W] (reflect padding)."""
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = [(0, 0)] * (a.ndim - 2)
    b = np.pad(a, pad + [(r, r), (0, 0)], mode="reflect")
    b = sum(k[i] * b[..., i:i + a.shape[-2], :] for i in range(2 * r + 1))
    b = np.pad(b, pad + [(0, 0), (r, r)], mode="reflect")
    return sum(k[i] * b[..., :, i:i + a.shape[-1]] for i in range(2 * r + 1))


def smooth_noise(rng, n, sigma):
    z = blur(rng.standard_normal((n, S, S)), sigma)
    z -= z.mean(axis=(1, 2), keepdims=True)
    return z / (z.std(axis=(1, 2), keepdims=True) + 1e-8)


# ------------------------------------------------------------------ upstream procedural sets
def shapes(n, rng):
    """dSprites-like: one of SHAPES, random scale, rotation, position, brightness; label = shape."""
    y = rng.integers(0, len(SHAPES), n)
    out = np.empty((n, S, S), np.uint8)
    for i in range(n):
        sc = rng.uniform(0.25, 0.55)
        cx, cy = rng.uniform(-1 + sc, 1 - sc, 2)
        m = _down(shape_mask(SHAPES[y[i]], cx, cy, sc, rng.uniform(0, 2 * math.pi)))
        out[i] = to_u8(m * rng.uniform(0.6, 1.0) + rng.uniform(0, 0.08, (S, S)))
    return out, y


def textures(n, rng):
    """Periodic and stochastic textures; label = family (TEXTURES), frequency/phase/contrast random."""
    y = rng.integers(0, len(TEXTURES), n)
    out = np.empty((n, S, S), np.uint8)
    g = np.arange(S)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    for i in range(n):
        f = rng.uniform(0.25, 0.9)
        ph = rng.uniform(0, 2 * math.pi)
        k = TEXTURES[y[i]]
        if k == "h-stripes":
            a = np.sin(f * yy + ph)
        elif k == "v-stripes":
            a = np.sin(f * xx + ph)
        elif k == "d-stripes":
            a = np.sin(f * 0.7071 * (xx + (1 if rng.random() < 0.5 else -1) * yy) + ph)
        elif k == "checker":
            a = np.sign(np.sin(f * xx + ph)) * np.sign(np.sin(f * yy + ph * 0.5))
        elif k == "dots":
            a = (np.sin(f * xx + ph) > 0.6) * (np.sin(f * yy + ph) > 0.6) * 2.0 - 1.0
        else:
            a = np.tanh(2 * smooth_noise(rng, 1, rng.uniform(1.0, 2.5))[0])
        c = rng.uniform(0.3, 0.5)
        out[i] = to_u8(0.5 + c * a + rng.normal(0, 0.04, (S, S)))
    return out, y


# ------------------------------------------------------------------ downstream tasks
def digits():
    """scikit-learn's bundled 8x8 digits (0..16), upscaled to 20x20 and centred in 28x28 like MNIST."""
    from PIL import Image
    from sklearn.datasets import load_digits
    d = load_digits()
    out = np.zeros((len(d.images), S, S), np.uint8)
    for i, im in enumerate(d.images):
        small = Image.fromarray(np.uint8(im / 16 * 255))
        out[i, 4:24, 4:24] = np.asarray(small.resize((20, 20), Image.BILINEAR))
    return out, d.target.astype(np.int64)


def photo_patches(n_train, n_test, rng):
    """Patches of scikit-learn's two bundled photos (china, flower), grayscale; class = which photo and
    which of its 4 quadrants (8 classes). Training patches come from the left 60% of each quadrant, test
    patches from the right 40%, so no pixel is shared. 56x56 crops downscaled to 28x28."""
    from PIL import Image
    from sklearn.datasets import load_sample_images
    ims = [np.asarray(Image.fromarray(im).convert("L"), dtype=np.float32) for im in load_sample_images().images]
    regions = []
    for im in ims:
        h, w = im.shape
        for qy in range(2):
            for qx in range(2):
                regions.append((im, qy * h // 2, (qy + 1) * h // 2, qx * w // 2, (qx + 1) * w // 2))

    def take(n, part):
        y = np.arange(n) % len(regions)
        rng.shuffle(y)
        out = np.empty((n, S, S), np.uint8)
        for i, c in enumerate(y):
            im, y0, y1, x0, x1 = regions[c]
            cut = x0 + int(0.6 * (x1 - x0))
            lo, hi = (x0, cut - 56) if part == "train" else (cut, x1 - 56)
            px = rng.integers(lo, hi + 1)
            py = rng.integers(y0, y1 - 56 + 1)
            crop = Image.fromarray(np.uint8(im[py:py + 56, px:px + 56]))
            out[i] = np.asarray(crop.resize((S, S), Image.BILINEAR))
        return out, y.astype(np.int64)

    return take(n_train, "train"), take(n_test, "test")


def cells(n, rng, count=(3, 8), sigma=0.7, background=0.15, noise=0.03):
    """Microscopy-like fields of blurry cells; class = morphology: small round, large round, elongated,
    budding (two lobes). 3-7 cells per image (`count`, high exclusive), noisy background. The keyword
    arguments change the imaging conditions; their defaults are mini-VTAB's (same random stream)."""
    y = rng.integers(0, 4, n)
    out = np.empty((n, S, S), np.uint8)
    for i in range(n):
        acc = np.zeros((S * SS, S * SS), np.float32)
        for _ in range(rng.integers(*count)):
            cx, cy = rng.uniform(-0.8, 0.8, 2)
            ang = rng.uniform(0, math.pi)
            if y[i] == 0:
                m = (_X - cx) ** 2 + (_Y - cy) ** 2 <= rng.uniform(0.08, 0.12) ** 2
            elif y[i] == 1:
                m = (_X - cx) ** 2 + (_Y - cy) ** 2 <= rng.uniform(0.17, 0.23) ** 2
            elif y[i] == 2:
                # a rod: long along `ang`, 0.14 wide
                m = shape_mask("ellipse", cx, cy, rng.uniform(0.22, 0.28), ang) * \
                    (np.abs((_X - cx) * math.sin(ang) - (_Y - cy) * math.cos(ang)) <= 0.07)
            else:
                r = rng.uniform(0.1, 0.14)
                dx, dy = math.cos(ang) * r * 1.3, math.sin(ang) * r * 1.3
                m = (((_X - cx) ** 2 + (_Y - cy) ** 2 <= r ** 2) | ((_X - cx - dx) ** 2 + (_Y - cy - dy) ** 2 <= (0.7 * r) ** 2))
            acc = np.maximum(acc, np.asarray(m, np.float32) * rng.uniform(0.5, 0.9))
        a = blur(_down(acc), sigma) + background + 0.06 * smooth_noise(rng, 1, 1.5)[0] + rng.normal(0, noise, (S, S))
        out[i] = to_u8(a)
    return out, y


def terrain(n, rng):
    """Remote-sensing-like land cover: water, forest, fields, urban, dunes."""
    y = rng.integers(0, 5, n)
    out = np.empty((n, S, S), np.uint8)
    g = np.arange(S)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    for i in range(n):
        k = y[i]
        if k == 0:      # water: dark, smooth, faint ripples
            a = 0.2 + 0.04 * smooth_noise(rng, 1, 3)[0] + 0.03 * np.sin(rng.uniform(0.8, 1.5) * (xx * math.cos(rng.uniform(0, 3)) + yy))
        elif k == 1:    # forest: dense fine-grained blobs
            a = 0.35 + 0.15 * np.tanh(smooth_noise(rng, 1, 0.8)[0])
        elif k == 2:    # fields: 2-4 rectangular plots of stripes at different orientations
            a = np.zeros((S, S))
            cut = rng.integers(8, 20)
            for part, sl in enumerate([np.s_[:cut, :], np.s_[cut:, :]]):
                th = rng.uniform(0, math.pi)
                a[sl] = (0.45 + 0.15 * part) + 0.15 * np.sign(np.sin(rng.uniform(0.9, 1.6) * (xx * math.cos(th) + yy * math.sin(th))))[sl]
        elif k == 3:    # urban: bright rectangles on a grid of roads
            a = np.full((S, S), 0.35)
            step = rng.integers(6, 10)
            for by in range(0, S, step):
                for bx in range(0, S, step):
                    h, w = rng.integers(2, step - 1, 2)
                    a[by + 1:by + 1 + h, bx + 1:bx + 1 + w] = rng.uniform(0.6, 0.95)
        else:           # dunes: warped sinusoids
            warp = 2.5 * smooth_noise(rng, 1, 4)[0]
            a = 0.6 + 0.15 * np.sin(rng.uniform(0.5, 0.9) * (xx + warp + 0.3 * yy))
        out[i] = to_u8(a + rng.normal(0, 0.03, (S, S)))
    return out, y


def retina(n, rng):
    """Fundus-like discs with vessels; grade = number of bright lesions: 0, 1-2, 3-5, 6-9, 10-14."""
    bins = [(0, 0), (1, 2), (3, 5), (6, 9), (10, 14)]
    y = rng.integers(0, 5, n)
    out = np.empty((n, S, S), np.uint8)
    for i in range(n):
        r = np.sqrt(_X ** 2 + _Y ** 2)
        a = np.where(r <= 0.95, 0.45 - 0.15 * r, 0.0)
        for _ in range(3):      # vessels: thin sinusoidal curves from the optic disc
            th = rng.uniform(0, 2 * math.pi)
            d = np.abs((_X - 0.4) * math.sin(th) - (_Y) * math.cos(th) + 0.08 * np.sin(6 * (_X + _Y) + rng.uniform(0, 6)))
            a = np.where((d < 0.03) & (r <= 0.95), 0.2, a)
        a = np.where((_X - 0.4) ** 2 + _Y ** 2 < 0.02, 0.8, a)     # optic disc
        lo, hi = bins[y[i]]
        for _ in range(rng.integers(lo, hi + 1)):
            rr, th = 0.8 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            cx, cy = rr * math.cos(th), rr * math.sin(th)
            a = np.where((_X - cx) ** 2 + (_Y - cy) ** 2 <= 0.05 ** 2, 0.95, a)
        out[i] = to_u8(_down(a) + rng.normal(0, 0.03, (S, S)))
    return out, y


def sprites_task(n, rng, factor):
    """dSprites-like structured tasks. factor 'loc': 6 bins of the x position; 'orient': 8 bins of the
    rotation of an asymmetric shape (L or arrow)."""
    y = np.empty(n, np.int64)
    out = np.empty((n, S, S), np.uint8)
    for i in range(n):
        sc = rng.uniform(0.25, 0.4)
        cx, cy = rng.uniform(-1 + sc, 1 - sc, 2)
        if factor == "loc":
            kind = ["square", "ellipse", "heart"][rng.integers(0, 3)]
            ang = rng.uniform(0, 2 * math.pi)
            y[i] = min(5, int((cx + 1 - sc) / (2 - 2 * sc) * 6))
        else:
            kind = ["ell", "arrow"][rng.integers(0, 2)]
            y[i] = rng.integers(0, 8)
            ang = (y[i] + rng.uniform(0.1, 0.9)) * 2 * math.pi / 8
        m = _down(shape_mask(kind, cx, cy, sc, ang))
        out[i] = to_u8(m * rng.uniform(0.6, 1.0) + rng.uniform(0, 0.08, (S, S)))
    return out, y


def clevr_count(n, rng):
    """CLEVR-like counting: 1-8 small objects (mixed shapes and brightness, mostly not overlapping)."""
    y = rng.integers(0, 8, n)
    out = np.empty((n, S, S), np.uint8)
    kinds = ["square", "ellipse", "triangle", "ring"]
    for i in range(n):
        acc = np.zeros((S * SS, S * SS), np.float32)
        placed = []
        while len(placed) < y[i] + 1:
            c = rng.uniform(-0.8, 0.8, 2)
            if all(np.hypot(*(c - p)) > 0.32 for p in placed) or len(placed) > 40:
                placed.append(c)
        for c in placed:
            m = shape_mask(kinds[rng.integers(0, 4)], c[0], c[1], rng.uniform(0.1, 0.15), rng.uniform(0, 6.3))
            acc = np.maximum(acc, m * rng.uniform(0.5, 1.0))
        out[i] = to_u8(_down(acc) * 0.9 + 0.1 + rng.normal(0, 0.03, (S, S)))
    return out, y
