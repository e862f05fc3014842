"""The public functions: fit_segmenter and segment_with (torch loaded on call)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields

import numpy as np

from ._data import check_images, check_shape
from .options import DEFAULT_EPOCHS, SegmenterOptions, SegmenterStep


def fit_segmenter(images, labels, *, validation=None, seconds: float | None = None,
                  epochs: int | None = None, seed: int = 0,
                  **options) -> Iterator[SegmenterStep]:  # fmt: skip
    """Train a small U-Net to segment nuclei, yielding one :class:`SegmenterStep` per epoch.

    The network predicts, for each pixel, background, nucleus interior or nucleus
    boundary; :func:`segment_with` turns that into instances (the interior's
    connected regions grown over the nucleus pixels), so touching nuclei come
    apart. It trains with Adam on random patches of the images (flipped, turned,
    with intensity jitter and noise), each image rescaled by its percentiles.

    Parameters
    ----------
    images : array_like
        One 2D image (H, W) or a stack (N, H, W), numpy or dask, any real dtype.
    labels : array_like
        The images' shape: instance labels (0 background, one id per nucleus; a
        mask's connected regions are its nuclei), or with ``sparse=True`` scribbles
        (1 nucleus, 2 background, 0 not labelled: the loss only where painted).
    validation : (images, labels), float or None
        Images and labels to validate on (labelled as ``labels`` are); or a
        fraction of the labelled tiles (half a patch a side) held out from
        training; None: the options' ``validation_fraction``; 0: none.
    seconds, epochs : optional
        The budget: whichever ends first. Neither: :data:`~.options.DEFAULT_EPOCHS`.
    seed : int
        The network's start, the patches and the augmentation: on the CPU, the
        same seed and epochs give the same model bit for bit.
    **options
        Any field of :class:`SegmenterOptions`: ``depth``, ``channels``, ``loss``,
        ``learning_rate``, ``patch_size``, ``batch_size``, ``sparse``, ``device``, ...

    Yields
    ------
    SegmenterStep
        ``epoch``, ``step``, ``loss``, ``val_loss``, ``val_dice`` (pixels of the
        nuclei), ``val_f1`` (objects matched at IoU > 0.5; NaN for scribbles),
        ``elapsed`` and ``model`` (as trained so far, for :func:`segment_with`).

    Raises
    ------
    ValueError
        With a sentence: labels of another shape, no labelled pixel, one class
        only, RGB or NaN images, images under 8 pixels a side, unknown options.
    SegmenterDiverged
        When the loss explodes (a learning rate too large).

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_field
    >>> image, truth = synthetic_field(size=64, n_nuclei=6)
    >>> steps = list(fit_segmenter(image, truth, epochs=2, depth=2, channels=4,
    ...                            patch_size=32, batch_size=2))
    >>> [s.epoch for s in steps], segment_with(steps[-1].model, image).shape
    ([1, 2], (64, 64))
    """
    from ._fit import Run
    from ._prepare import prepare

    start = time.perf_counter()
    opts = options_of(seed=seed, **options)
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be positive, not {seconds!r}.")
    if epochs is not None and not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a whole number of at least 1, not {epochs!r}.")
    if seconds is None and epochs is None:
        epochs = DEFAULT_EPOCHS
    rng = np.random.default_rng(seed)
    data = prepare(images, labels, validation, opts, rng)
    yield from Run(data, opts, rng, seconds=seconds, epochs=epochs or np.inf, start=start)


def options_of(**options) -> SegmenterOptions:
    """:class:`SegmenterOptions` from keywords, a sentence for an unknown one.

    >>> options_of(depth=2).depth
    2
    >>> options_of(dept=2)
    Traceback (most recent call last):
    ...
    ValueError: dept is not an option of the segmenter; the options are depth, channels, ...
    """
    known = [f.name for f in fields(SegmenterOptions)]
    unknown = [name for name in options if name not in known]
    if unknown:
        verb = "is" if len(unknown) == 1 else "are"
        raise ValueError(f"{', '.join(unknown)} {verb} not an option of the segmenter; the "
                         f"options are {', '.join(known)}.")  # fmt: skip
    return SegmenterOptions(**options)


def segment_with(model, images, *, tile: int | None = None,
                 device: str | None = None) -> np.ndarray:  # fmt: skip
    """Instance labels of nuclei in ``images`` by a trained segmenter.

    Parameters
    ----------
    model : Segmenter
        A step's ``model`` from :func:`fit_segmenter`, or :func:`load_segmenter`'s.
    images : array_like
        One 2D image (H, W) or a stack (N, H, W), numpy or dask (a lazy stack is
        read one image at a time), any real dtype; each image is rescaled by its
        own percentiles, as in training.
    tile : int, optional
        Side of the tiles each image is predicted in (the model's option by
        default): the network's memory is that of a tile, whatever the image's
        size, and the tiles overlap by half the receptive field so that the
        result does not depend on where the cuts fall.
    device : str, optional
        Where torch runs: "auto" (a GPU when there is one), "cpu", "cuda", "mps";
        None: where the model is (the CPU).

    Returns
    -------
    numpy.ndarray of int32
        The images' shape: 0 background, 1..n one id per nucleus in each image.

    Examples
    --------
    >>> from napari_nuclei_edges.segmenter._model import Segmenter
    >>> from napari_nuclei_edges.segmenter._unet import build
    >>> opts = SegmenterOptions(depth=2, channels=4)
    >>> model = Segmenter(build(opts).eval(), opts)
    >>> labels = segment_with(model, np.zeros((2, 20, 30), np.uint16))
    >>> labels.shape, labels.dtype
    ((2, 20, 30), dtype('int32'))
    """
    from ._model import Segmenter

    if not isinstance(model, Segmenter):
        raise TypeError(f"model must be a trained segmenter (a step's model, or "
                        f"load_segmenter's), not {type(model).__name__}.")  # fmt: skip
    if not hasattr(images, "shape"):  # a list: numpy; numpy and dask arrays as they are
        images = np.asarray(images)
    shape = check_shape(images.shape)
    if device:
        model = model.to(device)
    out = np.zeros(shape, np.int32)
    planes = out.reshape(-1, *shape[-2:])
    stack = images if len(shape) == 3 else images[None]
    for i in range(len(planes)):  # a lazy stack's images computed one at a time
        planes[i] = model.label(check_images(stack[i])[0], tile)
    return out
