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
  (``skimage.filters.difference_of_gaussians(image, 2, 4, truncate=3)``), over
  the object's mean intensity: chromatin structures of a few pixels, relative to
  the brightness.

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
#: The Gaussian kernels' half-width in sigmas (scipy's default 4 costs a third more, for
#: the same accuracy of the classifier).
TRUNCATE = 3.0
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


def intensity_distribution(values, ids, starts, area, mean, total, integers=False) -> dict:
    """Percentiles, skewness, kurtosis and bright fraction of each region's values.

    ``values``/``ids``: the object pixels grouped by region (``starts``: each
    region's first); ``total(weights)``: the sum of ``weights`` in each region;
    ``integers``: the values are whole numbers (an integer image).
    """
    ordered = _sorted_within_regions(values, ids, integers)
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
    squared = centred * centred
    m2 = total(squared) / area
    with np.errstate(divide="ignore", invalid="ignore"):
        # scipy's (biased) estimators, NaN where scipy finds no spread
        flat = m2 <= (np.finfo(np.float64).eps * mean) ** 2
        m3, m4 = total(squared * centred) / area, total(squared * squared) / area
        out["intensity_skewness"] = np.where(flat, np.nan, m3 / m2**1.5)
        out["intensity_kurtosis"] = np.where(flat, np.nan, m4 / m2**2 - 3)
    out["bright_fraction"] = total(centred > np.sqrt(m2)[ids]) / area
    return out


def _sorted_within_regions(values, ids, integers: bool) -> np.ndarray:
    """``values`` sorted within each region (the regions in order)."""
    low = values.min() if len(values) else 0.0
    span = values.max() - low if len(values) else 0.0
    if integers and span < 1 << 24 and int(ids[-1]) < 1 << 38:
        # one integer key (region, value): a plain sort, several times faster than lexsort
        key = (ids.astype(np.int64) << 24) | (values - low).astype(np.int64)
        key.sort()
        return (key & ((1 << 24) - 1)) + low
    return values[np.lexsort((values, ids))]


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
    dy2, dx2 = dy * dy, dx * dx

    def nu(product, order):  # skimage's normalised central moment of order p + q
        return total(product) / area ** (order / 2 + 1)

    hu = _hu(nu(dy2, 2), nu(dy * dx, 2), nu(dx2, 2), nu(dy2 * dy, 3), nu(dy2 * dx, 3),
             nu(dy * dx2, 3), nu(dx2 * dx, 3))  # fmt: skip
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
    own = np.minimum(scaled, GLCM_LEVELS - 1).astype(np.uint8)
    levels = np.zeros(flat.size, np.uint8)  # one byte a pixel of the box
    levels[where] = own
    label = (ids + 1).astype(flat.dtype)
    m = GLCM_LEVELS
    cell = ids * (m * m) + own * m  # each pixel's row of its region's matrix
    i, j = (v.astype(np.float64) for v in np.divmod(np.arange(m * m), m))
    sums = dict.fromkeys(("contrast", "homogeneity", "energy", "correlation"), np.zeros(count))
    angles = np.zeros(count)
    for dy, dx in GLCM_STEPS:
        neighbour = where + (dy * w + dx)
        pair = flat[neighbour] == label
        counts = np.bincount(cell[pair] + levels[neighbour[pair]], minlength=count * m * m)
        counts = counts.reshape(count, m, m).astype(np.float64)
        p = counts + counts.transpose(0, 2, 1)  # symmetric
        pairs = p.sum(axis=(1, 2))
        has = pairs > 0
        p = (p / np.where(has, pairs, 1)[:, None, None]).reshape(count, m * m)
        # row sums, not matrix products: a row's value must not depend on the other rows
        sums["contrast"] = sums["contrast"] + (p * (i - j) ** 2).sum(axis=1)
        sums["homogeneity"] = sums["homogeneity"] + (p / (1 + (i - j) ** 2)).sum(axis=1)
        sums["energy"] = sums["energy"] + np.sqrt((p**2).sum(axis=1))
        sums["correlation"] = sums["correlation"] + np.where(has, _correlation(p, i, j), 0)
        angles += has
    with np.errstate(divide="ignore", invalid="ignore"):
        return {f"glcm_{key}": total / angles for key, total in sums.items()}


def _correlation(p, i, j):
    """graycoprops' correlation of normalised matrices ``p`` (R, L*L); 1 without variance."""
    di = i - (p * i).sum(axis=1)[:, None]
    dj = j - (p * j).sum(axis=1)[:, None]
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

    Each image is filtered only in the box around its pixels, padded by the larger
    kernel's radius: the boxes of many images side by side in one array of at most
    :data:`_CHUNK` pixels (a crop's nucleus costs its box, not the crop), a box
    larger than that in strips of rows. The values are those of filtering each
    whole image: every pixel within the radius of a measured one is the image's own
    (or, beyond its edge, the edge's, as 'nearest' extends it).
    """
    n, h, w = intensity.shape
    image, within = np.divmod(pixels, h * w)
    rows, cols = np.divmod(within, w)
    radius = int(TRUNCATE * max(sigmas) + 0.5)  # scipy's kernel radius
    order = slice(None)  # measure groups the pixels by image already
    if len(image) > 1 and (image[1:] < image[:-1]).any():
        order = np.argsort(image, kind="stable")
    starts = np.flatnonzero(np.r_[True, image[order][1:] != image[order][:-1]])
    images = image[order][starts]
    top = np.maximum(np.minimum.reduceat(rows[order], starts) - radius, 0)
    left = np.maximum(np.minimum.reduceat(cols[order], starts) - radius, 0)
    height = np.minimum(np.maximum.reduceat(rows[order], starts) + radius + 1, h) - top
    width = np.minimum(np.maximum.reduceat(cols[order], starts) + radius + 1, w) - left
    slot = np.full(n, -1)
    slot[images] = np.arange(len(images))
    box = slot[image]  # each pixel's box
    out = np.empty(len(pixels), np.float32)
    large = height * width > _CHUNK
    for k in np.flatnonzero(large):  # a large image: strips of rows
        chosen = np.flatnonzero(box == k)
        strip = max(1, _CHUNK // int(width[k]))
        for first in range(int(top[k]), int(top[k] + height[k]), strip):
            inside = chosen[(rows[chosen] >= first) & (rows[chosen] < first + strip)]
            if len(inside):
                a, b = max(first - radius, 0), min(first + strip + radius, h)
                band = _band(intensity[images[k], a:b, left[k] : left[k] + width[k]][None], sigmas)
                out[inside] = band[0, rows[inside] - a, cols[inside] - left[k]]
    small = np.flatnonzero(~large)
    small = small[np.argsort(-(height * width)[small], kind="stable")]  # alike sizes together
    group = np.full(len(images), -1)
    for g, members in enumerate(_groups(height[small], width[small])):
        group[small[members]] = g
    pixel_group = group[box].astype(np.int16 if len(images) < 1 << 15 else np.int64)
    by_group = np.argsort(pixel_group, kind="stable")  # a radix sort for 16-bit keys
    bounds = np.searchsorted(pixel_group[by_group], np.arange(group.max() + 2))
    for g in range(group.max() + 1):
        members = np.flatnonzero(group == g)
        chosen = by_group[bounds[g] : bounds[g + 1]]
        at = np.full(len(images), 0)
        at[members] = np.arange(len(members))
        # every box in one array, each at the top left; beyond the image its edge repeated
        ys = np.minimum(top[members, None] + np.arange(height[members].max()), h - 1)
        xs = np.minimum(left[members, None] + np.arange(width[members].max()), w - 1)
        boxes = intensity[images[members, None, None], ys[:, :, None], xs[:, None, :]]
        k = box[chosen]
        out[chosen] = _band(boxes, sigmas)[at[k], rows[chosen] - top[k], cols[chosen] - left[k]]
    return out


def _groups(heights, widths) -> list[np.ndarray]:
    """Consecutive boxes (largest first) whose array (count × tallest × widest) stays within
    :data:`_CHUNK` pixels."""
    groups, begin, tall, wide = [], 0, 0, 0
    for k, (height, width) in enumerate(zip(heights.tolist(), widths.tolist(), strict=True)):
        tall, wide = max(tall, height), max(wide, width)
        if k > begin and (k + 1 - begin) * tall * wide > _CHUNK:
            groups.append(np.arange(begin, k))
            begin, tall, wide = k, height, width
    if len(heights):
        groups.append(np.arange(begin, len(heights)))
    return groups


def _band(stack, sigmas) -> np.ndarray:
    """``G(sigma0) - G(sigma1)`` of each image of a stack, float32, 'nearest' edges."""
    from scipy import ndimage

    part = stack.astype(np.float32)
    band = ndimage.gaussian_filter(part, (0, sigmas[0], sigmas[0]), mode="nearest",
                                   truncate=TRUNCATE)  # fmt: skip
    band -= ndimage.gaussian_filter(part, (0, sigmas[1], sigmas[1]), mode="nearest",
                                    truncate=TRUNCATE)  # fmt: skip
    return band
