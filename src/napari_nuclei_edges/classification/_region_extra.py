"""The richer region properties: intensity distribution, shape moments, texture.

Computed like :mod:`._region_props`, for every object of a stack at once from
its pixels grouped by region (a few numpy passes, no Python round per object),
each with the definition of the scikit-image or scipy function named below (the
tests compare every column with it, object by object):

* ``intensity_p10``, ``intensity_median``, ``intensity_p90``: ``np.percentile``
  of the object's pixels; ``intensity_skewness``, ``intensity_kurtosis``:
  ``scipy.stats.skew`` and ``kurtosis`` (Fisher's, 0 for a normal distribution);
* ``bright_fraction``: the share of the object's pixels above its mean + 1 std
  (condensed chromatin: a few very bright pixels);
* ``mass_displacement``: the distance between the intensity-weighted centroid
  and the centroid (regionprops' ``centroid_weighted`` and ``centroid``), in
  units of the equivalent radius ``sqrt(area / pi)``;
* ``extent`` (area over its bounding box's) and ``moments_hu_0`` … ``_6``:
  regionprops' ``extent`` and ``moments_hu`` of the object's mask;
* ``glcm_contrast``, ``glcm_homogeneity``, ``glcm_energy``, ``glcm_correlation``:
  ``skimage.feature.graycoprops`` of the grey-level co-occurrence matrix of the
  object's pixel pairs (both in the object; distance 1; angles 0, 45, 90 and
  135°; symmetric, normalised), its intensities quantised to :data:`GLCM_LEVELS`
  levels over the object's own range, averaged over the angles;
* ``granularity``: the standard deviation over the object of the image
  band-passed between Gaussians of sigma 2 and 4 pixels
  (``skimage.filters.difference_of_gaussians``), over the object's mean
  intensity: chromatin structures of a few pixels, relative to the brightness.

numpy and scipy only: no torch, no Qt, no napari.
"""

from __future__ import annotations

import numpy as np

#: Grey levels of the co-occurrence matrix (over each object's own intensity range).
GLCM_LEVELS = 8
#: The four GLCM directions (skimage's angles 0, pi/4, pi/2, 3 pi/4) as (row, column) steps.
GLCM_STEPS = ((0, 1), (1, 1), (1, 0), (1, -1))
#: The band of :func:`granularity`: Gaussian sigmas in pixels (about a chromosome's width).
GRANULARITY_SIGMAS = (2.0, 4.0)
#: Pixels filtered at once for the granularity (a large image is filtered in strips).
_CHUNK = 1 << 20

KEYS = (
    "intensity_p10",
    "intensity_median",
    "intensity_p90",
    "intensity_skewness",
    "intensity_kurtosis",
    "bright_fraction",
    "mass_displacement",
    "extent",
    *(f"moments_hu_{i}" for i in range(7)),
    "glcm_contrast",
    "glcm_homogeneity",
    "glcm_energy",
    "glcm_correlation",
    "granularity",
)


def intensity_distribution(values, ids, starts, area, mean, total) -> dict:
    """Percentiles, skewness, kurtosis and bright fraction of each region's values.

    ``values``/``ids``: the object pixels grouped by region (``starts``: each
    region's first); ``total(weights)``: the sum of ``weights`` in each region.
    """
    ordered = values[np.lexsort((values, ids))]
    n = area.astype(np.int64)
    out = {}
    for name, q in (("intensity_p10", 10), ("intensity_median", 50), ("intensity_p90", 90)):
        virtual = (n - 1) * (np.float64(q) / 100)  # numpy's "linear" method
        below = np.floor(virtual).astype(np.int64)
        gamma = virtual - below
        a, b = ordered[starts + below], ordered[starts + np.minimum(below + 1, n - 1)]
        step = b - a
        # numpy's _lerp: from the nearer end, so a percentile never leaves [a, b]
        out[name] = np.where(gamma >= 0.5, b - step * (1 - gamma), a + step * gamma)
    centred = values - mean[ids]
    m2 = total(centred**2) / area
    with np.errstate(divide="ignore", invalid="ignore"):
        # scipy's (biased) estimators, NaN where scipy finds no spread
        flat = m2 <= (np.finfo(np.float64).eps * mean) ** 2
        out["intensity_skewness"] = np.where(flat, np.nan, total(centred**3) / area / m2**1.5)
        out["intensity_kurtosis"] = np.where(flat, np.nan, total(centred**4) / area / m2**2 - 3)
    out["bright_fraction"] = total(centred > np.sqrt(m2)[ids]) / area
    return out


def shape_moments(ids, rows, cols, values, starts, area, cy, cx, total) -> dict:
    """Mass displacement, extent and the seven Hu moments of each region's mask.

    Pixels are grouped by region in raster order: a region's first and last rows
    are its first and last pixels'.
    """
    weight = total(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        wy, wx = total(rows * values) / weight, total(cols * values) / weight
        out = {"mass_displacement": np.hypot(wy - cy, wx - cx) / np.sqrt(area / np.pi)}
    ends = np.r_[starts[1:], len(ids)] - 1
    height = rows[ends] - rows[starts] + 1
    width = np.maximum.reduceat(cols, starts) - np.minimum.reduceat(cols, starts) + 1
    out["extent"] = area / (height * width)
    dy, dx = rows - cy[ids], cols - cx[ids]

    def nu(p, q):  # skimage's normalised central moment nu[p, q] (p along the rows)
        return total(dy**p * dx**q) / area ** ((p + q) / 2 + 1)

    hu = _hu(nu(2, 0), nu(1, 1), nu(0, 2), nu(3, 0), nu(2, 1), nu(1, 2), nu(0, 3))
    out.update((f"moments_hu_{i}", value) for i, value in enumerate(hu))
    return out


def _hu(n20, n11, n02, n30, n21, n12, n03):
    """skimage.measure.moments_hu's seven invariants, term for term."""
    t0, t1 = n30 + n12, n21 + n03
    q0, q1 = t0 * t0, t1 * t1
    n4 = 4 * n11
    s, d = n20 + n02, n20 - n02
    hu0 = s
    hu1 = d * d + n4 * n11
    hu3 = q0 + q1
    hu5 = d * (q0 - q1) + n4 * t0 * t1
    t0 = t0 * (q0 - 3 * q1)
    t1 = t1 * (3 * q0 - q1)
    q0 = n30 - 3 * n12
    q1 = 3 * n21 - n03
    hu2 = q0 * q0 + q1 * q1
    hu4 = q0 * t0 + q1 * t1
    hu6 = q1 * t0 - q0 * t1
    return hu0, hu1, hu2, hu3, hu4, hu5, hu6


def glcm_properties(box, values, ids, starts, count) -> dict:
    """graycoprops' contrast, homogeneity, energy and correlation of each region.

    ``box``: ``(flat, where, w)`` from :func:`._region_props.padded_box`: the
    padded region ids of the objects' box (raveled), each object pixel's place in
    it, and the padded row length. An angle without a pair in the object (a line
    of pixels) is left out of its mean; an object without any pair gets NaN.
    """
    flat, where, w = box
    low = np.minimum.reduceat(values, starts)
    span = (np.maximum.reduceat(values, starts) - low)[ids]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(span > 0, (values - low[ids]) / span * GLCM_LEVELS, 0)
    levels = np.zeros(flat.size, np.uint8)  # one byte a pixel of the box
    levels[where] = np.minimum(scaled, GLCM_LEVELS - 1)
    label = ids + 1
    m = GLCM_LEVELS
    i, j = (v.astype(np.float64) for v in np.divmod(np.arange(m * m), m))
    sums = dict.fromkeys(("contrast", "homogeneity", "energy", "correlation"), np.zeros(count))
    angles = np.zeros(count)
    for dy, dx in GLCM_STEPS:
        step = dy * w + dx
        pair = flat[where + step] == label
        first = levels[where[pair]].astype(np.int64)
        second = levels[where[pair] + step].astype(np.int64)
        counts = np.bincount(ids[pair] * (m * m) + first * m + second, minlength=count * m * m)
        counts = counts.reshape(count, m, m).astype(np.float64)
        p = counts + counts.transpose(0, 2, 1)  # symmetric
        pairs = p.sum(axis=(1, 2))
        has = pairs > 0
        p = (p / np.where(has, pairs, 1)[:, None, None]).reshape(count, m * m)
        sums["contrast"] = sums["contrast"] + p @ (i - j) ** 2
        sums["homogeneity"] = sums["homogeneity"] + p @ (1 / (1 + (i - j) ** 2))
        sums["energy"] = sums["energy"] + np.sqrt((p**2).sum(axis=1))
        sums["correlation"] = sums["correlation"] + np.where(has, _correlation(p, i, j), 0)
        angles += has
    with np.errstate(divide="ignore", invalid="ignore"):
        return {f"glcm_{key}": total / angles for key, total in sums.items()}


def _correlation(p, i, j):
    """graycoprops' correlation of normalised matrices ``p`` (R, L*L); 1 without variance."""
    di = i - (p @ i)[:, None]
    dj = j - (p @ j)[:, None]
    std_i, std_j = np.sqrt((p * di**2).sum(axis=1)), np.sqrt((p * dj**2).sum(axis=1))
    flat = (std_i < 1e-15) | (std_j < 1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flat, 1.0, (p * di * dj).sum(axis=1) / (std_i * std_j))


def granularity(intensity, pixels, ids, area, mean, total) -> np.ndarray:
    """The std over each region of its image band-passed between the two sigmas, over its mean."""
    band = band_pass_at(intensity, pixels, GRANULARITY_SIGMAS).astype(np.float64)
    centred = band - (total(band) / area)[ids]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(total(centred**2) / area) / mean


def band_pass_at(intensity, pixels, sigmas) -> np.ndarray:
    """``G(sigma0) - G(sigma1)`` of each image (scipy's Gaussian, 'nearest' edges) at ``pixels``.

    Only the box around the pixels, padded by the larger kernel's radius, is
    filtered, a few images or (for a large image) a strip of rows at a time, in
    float32: the values are those of filtering each whole image, the memory a
    chunk's.
    """
    from scipy import ndimage

    n, h, w = intensity.shape
    image, within = np.divmod(pixels, h * w)
    rows, cols = np.divmod(within, w)
    radius = int(4.0 * max(sigmas) + 0.5)  # scipy's kernel radius (truncate 4)
    r0, r1 = max(int(rows.min()) - radius, 0), min(int(rows.max()) + radius + 1, h)
    c0, c1 = max(int(cols.min()) - radius, 0), min(int(cols.max()) + radius + 1, w)
    per_image = (r1 - r0) * (c1 - c0)
    images = max(1, _CHUNK // per_image)  # images filtered together
    strip = max(1, _CHUNK // (c1 - c0)) if per_image > _CHUNK else r1 - r0
    out = np.empty(len(pixels), np.float32)
    for first in range(0, n, images):
        chosen = np.flatnonzero((image >= first) & (image < first + images))
        for top in range(r0, r1, strip):
            inside = chosen[(rows[chosen] >= top) & (rows[chosen] < top + strip)]
            if not len(inside):
                continue
            a, b = max(top - radius, r0), min(top + strip + radius, r1)
            part = intensity[first : first + images, a:b, c0:c1].astype(np.float32)
            band = ndimage.gaussian_filter(part, (0, sigmas[0], sigmas[0]), mode="nearest")
            band -= ndimage.gaussian_filter(part, (0, sigmas[1], sigmas[1]), mode="nearest")
            out[inside] = band[image[inside] - first, rows[inside] - a, cols[inside] - c0]
    return out
