"""What the network is shown: the percentile cut-offs of each image, and augmented patches.

- :func:`cut_offs`: the values a training image's percentiles map to 0 and 1, and the
  share of its pixels clipped below and above them;
- :func:`training_patches`: patches as a training step draws them (turned, flipped,
  intensity jittered, noised), with the class of each pixel.

numpy and the package's own preparation; torch is not needed.
"""

from __future__ import annotations

import numpy as np

from ._data import SAMPLE, check_images

__all__ = ["PATCH_CLASSES", "cut_offs", "training_patches"]

#: The value of each class in :func:`training_patches`' classes.
PATCH_CLASSES = ("not learned from", "background", "interior", "boundary", "nucleus", "seam")


def cut_offs(image, low: float = 1.0, high: float = 99.8) -> dict:
    """The normalisation of one image: its ``low`` and ``high`` percentiles (which become
    0 and 1) and the share of pixels below and above them.

    Examples
    --------
    >>> found = cut_offs(np.arange(1000).reshape(20, 50), 1, 99)
    >>> round(found["low"], 2), round(found["high"], 2), found["below"], found["above"]
    (9.99, 989.01, 0.01, 0.01)
    """
    plane = check_images(image)[0]
    flat = plane.reshape(-1)
    sample = flat[:: max(1, flat.size // SAMPLE)]
    lo, hi = (float(v) for v in np.percentile(sample, (low, high)))
    return {"low": lo, "high": hi, "below": float(np.mean(sample < lo)),
            "above": float(np.mean(sample > hi))}  # fmt: skip


def training_patches(images, labels, n: int = 8, *, seed: int = 0, **options):
    """``n`` patches as the network trains on them, and each pixel's class.

    Parameters
    ----------
    images, labels : array_like
        As :func:`~napari_nuclei_edges.segmenter.fit_segmenter` takes them.
    n : int
        Patches to draw.
    seed : int
        The draws (a run with this seed draws others: it draws a batch per step).
    **options
        :class:`~.options.SegmenterOptions` fields (``patch_size``, ``augment``,
        ``jitter``, ``noise``, ``sparse``...).

    Returns
    -------
    patches : numpy.ndarray
        ``(n, patch_size, patch_size)`` float32, normalised, as the network sees them.
    classes : numpy.ndarray
        ``(n, patch_size, patch_size)`` int8, one value per class (:data:`PATCH_CLASSES`):
        0 not learned from (unlabelled, or held out), 1 background, 2 interior, 3
        boundary, 4 nucleus (a scribble: interior or boundary), 5 seam (boundary where
        two nuclei touch, weighted up).

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_field
    >>> image, truth = synthetic_field(size=128, n_nuclei=10)
    >>> patches, classes = training_patches(image, truth, 4, patch_size=64)
    >>> patches.shape, set(np.unique(classes).tolist()) <= {1, 2, 3, 5}
    ((4, 64, 64), True)
    """
    from dataclasses import replace

    from ._fit import draw_batch
    from ._prepare import prepare
    from .api import options_of

    opts = replace(options_of(seed=seed, **options), batch_size=int(n))
    rng = np.random.default_rng(seed)
    data = prepare(images, labels, 0, opts, rng)
    x, target = draw_batch(data, opts, rng)
    return x.numpy()[:, 0], (target.numpy() + 1).astype(np.int8)
