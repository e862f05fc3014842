"""Splitting touching nuclei: a distance-transform watershed sized from the image itself.

numpy, scipy and scikit-image only.
"""

from __future__ import annotations

import numpy as np

#: A clump of touching nuclei is concave: an object whose area is less than this share
#: of its convex hull's is split; a single nucleus (a disc, an ellipse, a metaphase
#: bar) is convex, so it is left whole however elongated.
SOLIDITY = 0.94
#: Objects an image holds before its clumps are split: a field of nuclei touches, a crop
#: of one nucleus and its neighbours does not (split, its anaphase pairs and apoptotic
#: fragments were cut apart: 24 false splits on the sample's 250 crops).
CROWDED = 10
#: Smallest distance between two nucleus centres, as a share of the nuclei's typical
#: radius in the image.
CENTRE_DISTANCE = 0.5
#: Smoothing of the intensities that weigh the distance, as a share of the typical radius
#: (a nucleus' texture smoothed away, the dim seam between two nuclei kept).
SEAM_SIGMA = 0.15
#: Labels relabelled at once (a large field's are relabelled in place, a chunk at a time).
_CHUNK = 1 << 20


def typical_radius(distance: np.ndarray, components: np.ndarray) -> float:
    """The median over objects of their deepest point's distance to the background:
    the radius of a typical nucleus (its half-width for an elongated one).

    Examples
    --------
    >>> from scipy import ndimage
    >>> disc = np.hypot(*np.mgrid[-10:11, -10:11]) <= 6
    >>> int(round(typical_radius(ndimage.distance_transform_edt(disc), disc.astype(int))))
    6
    """
    from scipy import ndimage

    count = int(components.max())
    if count == 0:
        return 0.0
    deepest = ndimage.maximum(distance, components, np.arange(1, count + 1))
    return float(np.median(deepest))


def split_touching(
    mask: np.ndarray,
    min_distance: int | None = None,
    *,
    crowded_only: bool = False,
    labels: np.ndarray | None = None,
    image: np.ndarray | None = None,
    bright: bool = True,
) -> np.ndarray:
    """Labels of ``mask`` (2D) with touching nuclei split apart.

    Only concave objects (solidity under :data:`SOLIDITY`) are split, by a
    watershed of the distance transform from its peaks at least ``min_distance``
    apart: by default half the typical nucleus radius measured in this mask
    (:func:`typical_radius`), so the same rule serves 80 × 80 crops and a
    2048² field. With ``image`` (bright nuclei), the distance is weighed by the
    lightly smoothed intensities: two overlapping nuclei make one
    distance peak, but the dim seam where they meet parts them. With
    ``crowded_only``, an image of fewer than :data:`CROWDED` objects is left as it is;
    ``bright=False`` for dark nuclei on a bright background.

    Each object is worked on in its own box (wide enough that its distance
    transform is the whole image's), so a large field costs its labels and
    the boxes, not several copies of the image. ``labels``: the mask's
    8-connected labels in raster order (``skimage.measure.label``'s), when the
    caller has them; they are split in place and returned.

    Examples
    --------
    >>> from skimage.measure import label
    >>> from napari_nuclei_edges.data import synthetic_field
    >>> image, truth = synthetic_field(size=256, n_nuclei=30)
    >>> int(split_touching(image > 1000).max()) > int(label(image > 1000).max())
    True
    """
    from scipy import ndimage
    from skimage.measure import regionprops

    if labels is None:
        labels, _ = ndimage.label(mask, np.ones((3, 3), bool), output=np.int32)
    count = int(labels.max())
    if count == 0:
        return labels
    if crowded_only and count < CROWDED:
        return labels
    boxes = [_box(box, mask.shape) for box in ndimage.find_objects(labels)]
    if min_distance is None:
        deepest = [_distance(mask, box)[labels[box] == k].max()
                   for k, box in enumerate(boxes, start=1)]  # fmt: skip
        min_distance = round(CENTRE_DISTANCE * float(np.median(deepest)))
    concave = [r.label for r in regionprops(labels) if r.solidity < SOLIDITY]
    if not concave:
        return labels
    split, peaks = {}, 0  # clump -> (box, its pixels there, their new labels)
    for k in concave:  # ascending: the peaks numbered as one watershed would number them
        found = _split_clump(mask, labels, boxes[k - 1], k, max(2, int(min_distance)), peaks,
                             image if bright or image is None else _Negated(image))  # fmt: skip
        if found is not None:
            split[k], peaks = found[:3], peaks + found[3]
    # every other object (convex, or a clump without a peak) keeps one label of its own
    lookup = np.zeros(count + 1, np.int32)
    whole = np.setdiff1d(np.arange(1, count + 1), list(split))
    lookup[whole] = np.arange(peaks + 1, peaks + 1 + len(whole))
    flat = labels.ravel()
    for begin in range(0, flat.size, _CHUNK):  # relabelled in place, a chunk at a time
        flat[begin : begin + _CHUNK] = lookup[flat[begin : begin + _CHUNK]]
    for box, own, values in split.values():
        labels[box][own] = values
    return labels


def _box(box: tuple[slice, slice], shape) -> tuple[slice, slice]:
    """An object's box widened so that its distance transform there is the whole image's:
    from any of its pixels, a row or a column leaves the object (onto background) within
    the box's longer side, unless the box reaches the image's edge there."""
    margin = max(s.stop - s.start for s in box) + 2
    return tuple(slice(max(0, s.start - margin), min(n, s.stop + margin))
                 for s, n in zip(box, shape, strict=True))  # fmt: skip


class _Negated:
    """An image's negative, box by box (dark nuclei weighed as bright ones, no copy)."""

    def __init__(self, image: np.ndarray):
        self.image = image

    def __getitem__(self, box) -> np.ndarray:
        return -self.image[box].astype(np.float32)


def _brightness(image: np.ndarray, radius: float) -> np.ndarray:
    """The box's intensities smoothed by :data:`SEAM_SIGMA` radii, from 0 at their lowest."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(image.astype(np.float32), max(1.0, SEAM_SIGMA * radius))
    return smooth - smooth.min()


def _distance(mask: np.ndarray, box) -> np.ndarray:
    from scipy import ndimage

    return ndimage.distance_transform_edt(mask[box])


def _split_clump(mask, labels, box, k: int, min_distance: int, before: int, image=None):
    """Object ``k`` split by the watershed of its distance transform (weighed by the
    image's intensities when given) from its peaks, numbered after the ``before`` peaks
    of the clumps before it; None without a peak."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    distance = _distance(mask, box)
    own = labels[box] == k
    if image is not None:
        distance = distance * _brightness(image[box], min_distance / CENTRE_DISTANCE)
    # the whole image's distance has background pixels: its minimum, 0, is the threshold
    peaks = peak_local_max(distance, min_distance=min_distance, labels=own.astype(np.int32),
                           exclude_border=False, threshold_abs=0.0)  # fmt: skip
    if not len(peaks):
        return None
    markers = np.zeros(own.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(before + 1, before + 1 + len(peaks))
    values = watershed(-distance, markers, mask=own).astype(np.int32)[own]
    return box, own, values, len(peaks)
