"""scikit-image's region properties for every object of a stack at once.

``skimage.measure.regionprops_table`` computes each property of each region in
Python (a crop, a convex hull with qhull, moments with ``einsum``): about 0.5 ms
per nucleus, more than a CNN needs to classify it. Here each property is one
pass of numpy over the object pixels of the whole stack, grouped by region with
``np.bincount``, with scikit-image's definitions (the tests compare every column
with ``regionprops_table``):

* ``area``, ``centroid``: pixel count and mean coordinates;
* ``axis_major_length``, ``axis_minor_length``, ``eccentricity``, ``orientation``:
  from the inertia tensor of the central second moments, skimage's formulas;
* ``perimeter``: ``skimage.measure.perimeter(neighborhood=4)``: border pixels
  (an object pixel with a 4-neighbour outside the object) weighted by the
  configuration of their border neighbours, skimage's code table;
* ``solidity``: area over ``area_convex``, the number of pixel centres inside or
  on the convex hull of the pixels' edge midpoints (skimage's
  ``convex_hull_image``), from each region's hull found by a monotone chain run
  for all regions together, counted row by row in integer arithmetic;
* ``intensity_mean``, ``intensity_max``, ``intensity_std`` over the object's pixels;
* the richer ones of :mod:`._region_extra`: intensity distribution, shape
  moments, texture.

numpy (and scipy's Gaussian filter): no torch, no Qt, no napari.
"""

from __future__ import annotations

import numpy as np

from . import _region_extra as extra

# skimage.measure.perimeter's weights of the 3 × 3 border configurations (code ->
# length): straight runs 1, diagonal steps sqrt(2), corners (1 + sqrt(2)) / 2
_PERIMETER_WEIGHTS = np.zeros(50)
_PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_PERIMETER_WEIGHTS[[21, 33]] = np.sqrt(2)
_PERIMETER_WEIGHTS[[13, 23]] = (1 + np.sqrt(2)) / 2


_KEYS = (
    "area",
    "perimeter",
    "axis_major_length",
    "axis_minor_length",
    "eccentricity",
    "solidity",
    "orientation",
    "intensity_mean",
    "intensity_max",
    "intensity_std",
    "centroid_y",
    "centroid_x",
    *extra.KEYS,
)


def region_properties(regions: np.ndarray, intensity: np.ndarray, count: int) -> dict:
    """The properties of regions ``1..count`` of a ``(N, H, W)`` stack of region ids.

    Each region lies within one image; ids are unique across the stack, every id
    in ``1..count`` present. Coordinates (``centroid_y``/``centroid_x``) are within
    the region's image. Returns a dict of float64 arrays of length ``count``.
    """
    if count == 0:
        return {key: np.zeros(0) for key in _KEYS}
    h, w = regions.shape[-2:]
    flat = regions.ravel()
    pixels = np.flatnonzero(flat)
    ids = flat[pixels].astype(np.int64) - 1
    if ids.size > 1 and (ids[1:] < ids[:-1]).any():
        order = np.argsort(ids, kind="stable")  # raster order kept within each region
        pixels, ids = pixels[order], ids[order]
    within = pixels % (h * w)
    rows, cols = within // w, within % w

    def total(weights=None):
        return np.bincount(ids, weights, minlength=count).astype(np.float64)

    area = total()
    cy, cx = total(rows) / area, total(cols) / area
    dy, dx = rows - cy[ids], cols - cx[ids]
    # skimage's inertia tensor [[a, b], [b, c]] of the central moments
    a, c = total(dx * dx) / area, total(dy * dy) / area
    b = -total(dy * dx) / area
    half, root = (a + c) / 2, np.sqrt(((a - c) / 2) ** 2 + b**2)
    l1, l2 = np.maximum(half + root, 0), np.maximum(half - root, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eccentricity = np.where(l1 == 0, 0.0, np.sqrt(1 - l2 / l1))
    orientation = np.where(
        a - c == 0, np.where(b < 0, np.pi / 4, -np.pi / 4), 0.5 * np.arctan2(-2 * b, c - a)
    )

    values = intensity.ravel()[pixels].astype(np.float64)
    mean = total(values) / area
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    box, integers = padded_box(regions, pixels, ids), intensity.dtype.kind in "uib"
    return {
        "area": area,
        "perimeter": _perimeters(box, ids, count),
        "axis_major_length": 4 * np.sqrt(l1),
        "axis_minor_length": 4 * np.sqrt(l2),
        "eccentricity": eccentricity,
        "solidity": area / _convex_areas(ids, rows, cols, count),
        "orientation": orientation,
        "intensity_mean": mean,
        "intensity_max": np.maximum.reduceat(values, starts),
        "intensity_std": np.sqrt(total((values - mean[ids]) ** 2) / area),
        "centroid_y": cy,
        "centroid_x": cx,
        **extra.intensity_distribution(values, ids, starts, area, mean, total, integers),
        **extra.shape_moments(ids, rows, cols, values, starts, area, cy, cx, total),
        **extra.glcm_properties(box, values, ids, starts, count),
        "granularity": extra.granularity(intensity, pixels, ids, area, mean, total),
    }


def padded_box(regions, pixels, ids):
    """The region ids of the box around the objects, padded by one, raveled.

    Only that box (of every image): a large image's one nucleus costs that
    nucleus' box, not a copy of the image. Returns ``(flat, where, w)``: the
    padded ids (int32), each object pixel's place in ``flat`` and the padded row
    length (a step of one row).
    """
    n, h, w = regions.shape
    image, within = np.divmod(pixels, h * w)
    rows, cols = np.divmod(within, w)
    r0, c0 = int(rows.min()), int(cols.min())
    h, w = int(rows.max()) - r0 + 1, int(cols.max()) - c0 + 1
    padded = np.zeros((n, h + 2, w + 2), np.int32)
    padded[:, 1:-1, 1:-1] = regions[:, r0 : r0 + h, c0 : c0 + w]
    where = image * ((h + 2) * (w + 2)) + (rows - r0 + 1) * (w + 2) + cols - c0 + 1
    return padded.ravel(), where, w + 2


def _perimeters(box, ids, count) -> np.ndarray:
    """skimage's ``perimeter(region, 4)`` of every region (each region on its own)."""
    flat, where, w = box
    label = (ids + 1).astype(np.int32)
    side = (-w, w, -1, 1)
    corner = (-(w + 1), -(w - 1), w - 1, w + 1)
    inside = np.ones(len(where), bool)
    for step in side:
        inside &= flat[where + step] == label
    border = np.zeros(flat.size, bool)
    border[where[~inside]] = True
    where, label = where[~inside], label[~inside]
    code = np.ones(len(where), np.int64)
    for steps, weight in ((side, 2), (corner, 10)):
        for step in steps:
            code += weight * (border[where + step] & (flat[where + step] == label))
    return np.bincount(label - 1, _PERIMETER_WEIGHTS[code], minlength=count)


def _convex_areas(ids, rows, cols, count) -> np.ndarray:
    """Pixel centres inside or on each region's convex hull (skimage's ``area_convex``).

    In doubled coordinates every pixel ``(r, c)`` contributes its edge midpoints
    ``(2r ± 1, 2c)`` and ``(2r, 2c ± 1)``; the hull's left side is the lower convex
    envelope (x as a function of y) of each row's leftmost midpoints, its right
    side the upper envelope of the rightmost ones. Pixel centres ``(2r, 2c)``
    between the two envelopes are counted exactly, with integers.
    """
    # each region's rows (pixels are grouped by region, in raster order inside it)
    key = ids * (rows.max() + 1) + rows
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    last = np.r_[first[1:] - 1, len(key) - 1]
    region, row = ids[first], rows[first]
    left, right = cols[first], cols[last]
    ys = np.stack([2 * row - 1, 2 * row, 2 * row + 1], 1).ravel()
    owner = np.repeat(region, 3)
    lx = np.stack([2 * left, 2 * left - 1, 2 * left], 1).ravel()
    rx = np.stack([2 * right, 2 * right + 1, 2 * right], 1).ravel()
    # consecutive rows share the level between them: keep its outermost point
    shared = (owner[1:] == owner[:-1]) & (ys[1:] == ys[:-1])
    lx[:-1][shared] = np.minimum(lx[:-1][shared], lx[1:][shared])
    rx[:-1][shared] = np.maximum(rx[:-1][shared], rx[1:][shared])
    keep = np.r_[True, ~shared]
    ys, owner, lx, rx = ys[keep], owner[keep], lx[keep], rx[keep]

    low = _envelopes(*_candidates(owner, ys, lx), count)  # x of the left side, a fraction
    high = _envelopes(*_candidates(owner, ys, -rx), count)  # minus x of the right side
    # pixel centres (2r, 2c) of every row r of each region's extent
    top = row[np.r_[True, region[1:] != region[:-1]]]
    bottom = row[np.r_[region[1:] != region[:-1], True]]
    spans = bottom - top + 1
    query_owner = np.repeat(np.arange(count), spans)
    query_y = 2 * (np.repeat(top, spans) + _ranges(spans))
    num, den = low(query_owner, query_y)
    first_col = -((-num) // (2 * den))  # ceil(x / 2)
    num, den = high(query_owner, query_y)
    last_col = (-num) // (2 * den)  # floor(x / 2) of the right side
    inside = np.maximum(last_col - first_col + 1, 0)
    return np.bincount(query_owner, inside, minlength=count).astype(np.float64)


def _candidates(owner, ys, xs):
    """The points that can be vertices of the lower envelope: each region's ends and
    the points below one of their neighbours (a point at or above both lies on or
    above the chord between them: never a vertex). Half the points of a pixel
    staircase go, and the envelope's loop with them."""
    inner = np.ones(len(xs), bool)
    inner[1:-1] = (owner[:-2] == owner[1:-1]) & (owner[1:-1] == owner[2:])
    inner[[0, -1]] = False
    above = np.zeros(len(xs), bool)
    above[1:-1] = (xs[1:-1] >= xs[:-2]) & (xs[1:-1] >= xs[2:])
    keep = ~(inner & above)
    return owner[keep], ys[keep], xs[keep]


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n - 1 for each n of ``lengths``, concatenated."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(lengths.sum()) - starts


def _envelopes(owner, ys, xs, count):
    """The lower convex envelope of each region's points ``(y, x)`` (y increasing).

    Andrew's monotone chain, one step for every region at once: point ``k`` of
    each region pops the last hull vertex while it makes no left turn. Returns a
    function giving the envelope at integer levels as an exact fraction
    ``(numerator, denominator)``.
    """
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    lengths = np.diff(np.r_[starts, len(owner)])
    depth = int(lengths.max())
    everyone = np.arange(count)
    hull_y = np.zeros((count, depth + 1), np.int64)
    hull_x = np.zeros((count, depth + 1), np.int64)
    top = np.zeros(count, np.int64)
    for k in range(depth):
        active = lengths > k
        point = np.where(active, starts + k, 0)
        py, px = ys[point], xs[point]
        while True:
            candidate = active & (top >= 2)
            if not candidate.any():
                break
            at = np.maximum(top, 2)
            oy, ox = hull_y[everyone, at - 2], hull_x[everyone, at - 2]
            ay, ax = hull_y[everyone, at - 1], hull_x[everyone, at - 1]
            turn = (ay - oy) * (px - ox) - (ax - ox) * (py - oy)
            pop = candidate & (turn <= 0)
            if not pop.any():
                break
            top -= pop
        slot = np.where(active, top, depth)  # inactive regions write to a spare column
        hull_y[everyone, slot] = py
        hull_x[everyone, slot] = px
        top += active
    # the vertices in one sorted run, keyed by (region, y)
    span = int(ys.max() - ys.min()) + 2
    base = int(ys.min())
    used = np.arange(depth + 1)[None, :] < top[:, None]
    vy, vx = hull_y[used], hull_x[used]
    vowner = np.repeat(everyone, top)
    keys = vowner * span + (vy - base)
    ends = np.cumsum(top) - 1  # each region's last vertex

    def at(query_owner, query_y):
        j = np.searchsorted(keys, query_owner * span + (query_y - base), side="right") - 1
        j = np.minimum(j, ends[query_owner] - 1)  # a segment j -> j + 1 of the region
        y0, x0, y1, x1 = vy[j], vx[j], vy[j + 1], vx[j + 1]
        return x0 * (y1 - y0) + (x1 - x0) * (query_y - y0), y1 - y0

    return at
