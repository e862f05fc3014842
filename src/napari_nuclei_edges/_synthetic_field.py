"""A crowded field of nuclei with its instance truth: the stand-in for a user's image.

Reached as :func:`napari_nuclei_edges.data.synthetic_field` (and
``napari_nuclei_edges.synthetic.synthetic_field``). numpy and scipy only.
"""

from __future__ import annotations

import numpy as np

#: The 12-bit range of the field, stored in uint16 as microscope cameras do.
FIELD_MAX = 4095
#: Nucleus radii in pixels (the mean of an ellipse's two), whatever the field's size.
RADII = (7.0, 15.0)
#: Share of nuclei placed against one already there (touching or overlapping).
TOUCHING = 0.5
#: Brightness of the line where two nuclei meet, as a share of theirs.
SEAM = 0.75


def synthetic_field(
    size: int = 512, n_nuclei: int = 120, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a crowded field of nuclei, 12-bit in uint16, with instance labels.

    Nuclei of several sizes (radius 7–15 px) and brightnesses, about half of
    them placed against a neighbour (touching, some overlapping by up to a
    quarter of their radii), on an uneven background (a smooth gradient and
    blotches), blurred as by a microscope and with photon and camera noise.
    Where two nuclei overlap, a pixel belongs to the one it is deeper inside.

    Parameters
    ----------
    size : int
        Height and width in pixels (at least 64).
    n_nuclei : int
        Nuclei to place; fewer are placed when the field is too full (the
        labels say how many there are).
    seed : int
        The same seed gives the same field.

    Returns
    -------
    image : numpy.ndarray of uint16, ``(size, size)``, values 0..4095
    labels : numpy.ndarray of int32, same shape: 0 background, 1..n one id per nucleus

    Examples
    --------
    >>> image, labels = synthetic_field(size=128, n_nuclei=12)
    >>> image.dtype, int(image.max()) <= 4095, labels.dtype, int(labels.max())
    (dtype('uint16'), True, dtype('int32'), 12)
    """
    from scipy.ndimage import gaussian_filter

    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, not {size}.")
    if n_nuclei < 0:
        raise ValueError(f"n_nuclei must be 0 or more, not {n_nuclei}.")
    rng = np.random.default_rng(seed)
    nuclei = _place(size, n_nuclei, rng)
    signal = np.zeros((size, size), np.float32)
    labels = np.zeros((size, size), np.int32)
    depth = np.full((size, size), np.inf, np.float32)  # normalised radius of the owner
    for index, nucleus in enumerate(nuclei, start=1):
        _paint(signal, labels, depth, index, nucleus, rng)
    labels = _sequential(labels)
    signal *= _seams(labels)
    field = _background(size, rng) + gaussian_filter(signal, 1.2)
    photons = rng.poisson(np.clip(field, 0, None) / 4.0) * 4.0  # a gain of 4 counts a photon
    image = photons + rng.normal(0.0, 12.0, field.shape)
    return np.clip(np.rint(image), 0, FIELD_MAX).astype(np.uint16), labels


def _place(size: int, count: int, rng: np.random.Generator) -> list[tuple]:
    """Centres, radii and shapes: free-standing or against a neighbour, never deeper
    inside one another than a quarter of their radii."""
    placed: list[tuple] = []
    cell = 2 * RADII[1]  # a neighbour close enough to clash is in the 3 x 3 cells around
    grid: dict[tuple[int, int], list[int]] = {}
    for _ in range(count * 40):
        if len(placed) == count:
            break
        radius = rng.uniform(*RADII)
        if placed and rng.random() < TOUCHING:
            oy, ox, _, _, _, _, other_radius = placed[rng.integers(len(placed))]
            angle = rng.uniform(0, 2 * np.pi)
            distance = (radius + other_radius) * rng.uniform(0.9, 1.03)
            cy, cx = oy + distance * np.sin(angle), ox + distance * np.cos(angle)
        else:
            cy, cx = rng.uniform(radius, size - radius, 2)
        if min(cy, cx) < radius * 0.5 or max(cy, cx) > size - 1 - radius * 0.5:
            continue
        key = (int(cy // cell), int(cx // cell))
        near = [i for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                for i in grid.get((key[0] + dy, key[1] + dx), ())]  # fmt: skip
        if any(np.hypot(placed[i][0] - cy, placed[i][1] - cx) < 0.88 * (placed[i][6] + radius)
               for i in near):  # fmt: skip
            continue
        ellipticity = rng.uniform(1.0, 1.35)
        brightness = rng.uniform(0.35, 1.0) * 2600.0
        angle = rng.uniform(0, np.pi)
        placed.append((cy, cx, radius * ellipticity, radius / ellipticity, angle, brightness,
                       radius))  # fmt: skip
        grid.setdefault(key, []).append(len(placed) - 1)
    return [nucleus[:6] for nucleus in placed]


def _paint(signal, labels, depth, index: int, nucleus: tuple, rng) -> None:
    """One nucleus, in its bounding box: its light (textured, soft-edged) and its pixels."""
    cy, cx, ry, rx, angle, brightness = nucleus
    reach = int(np.ceil(max(ry, rx))) + 2
    top, left = max(int(cy) - reach, 0), max(int(cx) - reach, 0)
    bottom = min(int(cy) + reach + 1, signal.shape[0])
    right = min(int(cx) + reach + 1, signal.shape[1])
    y, x = np.mgrid[top:bottom, left:right].astype(np.float32)
    cos, sin = np.cos(angle), np.sin(angle)
    u = ((x - cx) * cos + (y - cy) * sin) / rx
    v = (-(x - cx) * sin + (y - cy) * cos) / ry
    r = np.sqrt(u * u + v * v)
    inside = np.clip((1.0 - r) * min(rx, ry) / 1.2 + 0.5, 0.0, 1.0)
    texture = 1.0 + 0.15 * rng.standard_normal(r.shape).astype(np.float32)
    light = brightness * inside * (0.85 + 0.15 * np.clip(1.0 - r, 0, 1)) * texture
    box = (slice(top, bottom), slice(left, right))
    np.maximum(signal[box], light, out=signal[box])  # DNA does not stack in a projection
    owns = (inside >= 0.5) & (r < depth[box])
    labels[box][owns] = index
    depth[box][owns] = r[owns]


def _seams(labels: np.ndarray, dim: float = SEAM) -> np.ndarray:
    """Where two nuclei meet, a dimmer line: chromatin stays in its own nucleus, so a
    contact reads as a seam, as in a DAPI image, not as one blob."""
    factor = np.ones(labels.shape, np.float32)
    for axis in (0, 1):
        ahead, behind = np.swapaxes(labels, 0, axis)[1:], np.swapaxes(labels, 0, axis)[:-1]
        meet = (ahead != behind) & (ahead > 0) & (behind > 0)
        view = np.swapaxes(factor, 0, axis)
        view[1:][meet] = view[:-1][meet] = dim
    return factor


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """Uneven illumination: a gradient across the field and soft blotches, 150–600 counts."""
    from scipy.ndimage import gaussian_filter, zoom

    y, x = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    gradient = np.cos(angle) * x + np.sin(angle) * y
    # drawn coarse and enlarged: as smooth as a Gaussian of size / 8, at any size
    coarse = gaussian_filter(rng.standard_normal((32, 32)), 4.0, mode="wrap")
    blotches = zoom(coarse, size / 32, order=3, grid_mode=True, mode="grid-wrap")
    blotches /= np.abs(blotches).max() + 1e-12
    return (350.0 + 150.0 * gradient + 100.0 * blotches).astype(np.float32)


def _sequential(labels: np.ndarray) -> np.ndarray:
    """Ids 1..n in placement order (a nucleus hidden under others has none)."""
    present = np.unique(labels)
    lookup = np.zeros(int(labels.max()) + 1, np.int32)
    lookup[present] = np.arange(len(present), dtype=np.int32)
    return lookup[labels]
