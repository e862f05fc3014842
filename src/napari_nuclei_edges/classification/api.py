"""The public functions: fit_classifier, cross_validate, predict (torch loaded on call)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ._data import prepare, stratified_folds, stratified_split
from ._range import range_caveat
from .metrics import confusion_matrix, scores
from .options import ClassifierOptions, ClassifierStep, CrossValidation, Predictions


def fit_classifier(images_by_class: Mapping, **options) -> Iterator[ClassifierStep]:
    """Train a stage classifier, yielding one :class:`ClassifierStep` per epoch.

    Parameters
    ----------
    images_by_class : mapping of str to array_like
        One stack ``(N, H, W)`` of single-channel images per class, all of one size;
        each class needs at least 3 images.
    **options
        Any field of :class:`ClassifierOptions`: ``model`` ("features", "cnn",
        "cnn+features"), ``epochs``, ``patience``, ``learning_rate``, ``seed``, ...

    Yields
    ------
    ClassifierStep
        Training and validation loss and accuracy, the validation confusion matrix,
        per-class precision, recall and F1, macro F1, and ``model`` (usable by
        :func:`predict`). With early stopping the last step's model and validation
        scores are the best epoch's.

    Raises
    ------
    ValueError
        With a sentence: fewer than two classes, fewer than 3 images in a class,
        sizes differing between classes, RGB or NaN images, unknown options.
    ClassifierDiverged
        When the loss explodes (a learning rate too large).

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> data = synthetic_nuclei(n_per_class=10)
    >>> steps = list(fit_classifier(data, model="features", epochs=5))
    >>> steps[-1].confusion.shape, 0 <= steps[-1].val_accuracy <= 1
    ((5, 5), True)
    >>> predict(steps[-1].model, data["metaphase"][:2]).labels.shape
    (2,)
    """
    from ._fit import run

    start = time.perf_counter()
    opts = ClassifierOptions(**options)
    data = prepare(images_by_class, opts)
    train, val = stratified_split(data.targets, opts.validation_fraction, opts.seed)
    yield from run(data, opts, train, val, start)


def baseline_accuracy(images_by_class: Mapping, **options) -> float:
    """Validation accuracy of the feature model on the split ``options`` make.

    The same ``seed`` and ``validation_fraction`` give the same split as
    :func:`fit_classifier`, so a CNN's validation accuracy can be read against it.
    """
    keep = {k: options[k] for k in ("seed", "validation_fraction", "features") if k in options}
    *_, last = fit_classifier(images_by_class, model="features", **keep)
    return last.val_accuracy


def augmentation_examples(image, n: int = 8, **options) -> np.ndarray:
    """``n`` augmented copies of one image, as the CNN sees them in training.

    The first copy is the image itself (normalised); the others are drawn with the
    augmentation ``options`` (``augment``, ``rotate``, ``shift``, ``jitter``,
    ``normalisation``).

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> image = synthetic_nuclei(n_per_class=1)["metaphase"][0]
    >>> augmentation_examples(image, 4, shift=2).shape
    (4, 80, 80)
    """
    import torch

    from ._data import check_stack, normalise_images
    from ._models import augment

    opts = ClassifierOptions(**{"model": "cnn", **options})
    one = normalise_images(check_stack("image", image)[:1], opts)
    x = torch.from_numpy(np.repeat(one, n, axis=0))[:, None]
    generator = torch.Generator().manual_seed(opts.seed)
    out = augment(x[1:], opts, generator) if n > 1 else x[1:]
    return torch.cat([x[:1], out]).numpy()[:, 0]


@dataclass(frozen=True)
class Fold:
    """One finished fold of :func:`iter_cross_validation`."""

    fold: int
    folds: int
    accuracy: float
    macro_f1: float
    confusion: np.ndarray
    seconds: float


def iter_cross_validation(images_by_class: Mapping, folds: int = 5, **options) -> Iterator[Fold]:
    """Stratified k-fold cross-validation, one :class:`Fold` as each fold finishes.

    Each fold trains on the other folds (holding out ``validation_fraction`` of
    them for early stopping) and scores the model on its own images, never seen.
    """
    from ._fit import run

    opts = ClassifierOptions(**options)
    data = prepare(images_by_class, opts, min_per_class=max(3, folds))
    fold_of = stratified_folds(data.targets, folds, opts.seed)
    n_classes = len(data.class_names)
    for k in range(folds):
        start = time.perf_counter()
        held = np.flatnonzero(fold_of == k)
        rest = np.flatnonzero(fold_of != k)
        inner_train, inner_val = stratified_split(
            data.targets[rest], opts.validation_fraction, opts.seed
        )
        *_, last = run(data, opts, rest[inner_train], rest[inner_val], start)
        model = last.model
        x, f = model.inputs(
            data.images[held], None if data.features is None else data.features[held]
        )
        import torch

        with torch.no_grad():
            predicted = model.net(x, f).argmax(1).numpy()
        confusion = confusion_matrix(data.targets[held], predicted, n_classes)
        s = scores(confusion)
        yield Fold(k + 1, folds, s["accuracy"], s["macro_f1"], confusion,
                   time.perf_counter() - start)  # fmt: skip


def cross_validate(images_by_class: Mapping, folds: int = 5, **options) -> CrossValidation:
    """Stratified k-fold cross-validation of a classifier.

    Parameters
    ----------
    images_by_class : mapping of str to array_like
        As for :func:`fit_classifier`; each class needs at least ``folds`` images.
    folds : int
        Number of folds.
    **options
        Fields of :class:`ClassifierOptions`.

    Returns
    -------
    CrossValidation
        ``accuracy`` and ``macro_f1`` per fold, ``mean_accuracy``, ``confusion``
        summed over the folds, ``seconds`` per fold.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> cv = cross_validate(synthetic_nuclei(n_per_class=6), folds=3, epochs=3)
    >>> cv.accuracy.shape, int(cv.confusion.sum())
    ((3,), 30)
    """
    if folds < 2:
        raise ValueError(f"Cross-validation needs at least 2 folds, not {folds}.")
    results = list(iter_cross_validation(images_by_class, folds, **options))
    return CrossValidation(
        accuracy=np.array([r.accuracy for r in results]),
        macro_f1=np.array([r.macro_f1 for r in results]),
        confusion=sum(r.confusion for r in results),
        seconds=np.array([r.seconds for r in results]),
        class_names=tuple(str(name) for name in images_by_class),
        model=ClassifierOptions(**options).model,
    )


@dataclass(frozen=True)
class PredictionBlock:
    """The predictions of images ``start:stop`` of a stack (from :func:`iter_predict`)."""

    start: int
    stop: int
    total: int
    probabilities: np.ndarray
    positions: np.ndarray
    caveat: str = ""  # the first block's: images unlike the training ones (:mod:`._range`)


def iter_predict(
    model, images, block_size: int = 1024, batch_size: int | None = None
) -> Iterator[PredictionBlock]:
    """Predict a stack block by block (a lazy dask stack is computed one block at a time).

    Memory stays bounded by two blocks of images whatever the stack's length: while
    one block is classified, the next one of a lazy stack is read in a thread.
    Each block is measured (feature models) and classified at once
    (:func:`~napari_nuclei_edges.classification.measure` and the network work on
    whole stacks).
    """
    from .measurements import measure

    if not (isinstance(block_size, (int, np.integer)) and block_size >= 1):
        raise ValueError(f"block_size must be a whole number of images (1 or more), "
                         f"not {block_size!r}.")  # fmt: skip
    shape = images.shape if hasattr(images, "shape") else np.shape(images)
    if len(shape) == 2:
        images = np.asarray(images)[None]
        shape = images.shape
    _check_crop_size(model, tuple(shape[-2:]))
    total = shape[0]
    starts = range(0, total, block_size)
    with _Reader(images, block_size, lazy=not isinstance(images, np.ndarray)) as reader:
        for begin in starts:
            end = min(begin + block_size, total)
            raw, block, bad = _finite_images(reader.block(begin, prefetch=end < total))
            caveat = range_caveat(model.intensity, raw) if begin == 0 else ""
            features = positions = None
            if model.options.uses_features:
                table = measure(raw)
                features = np.stack([table[n] for n in model.feature_names], 1)
                features = features.astype(np.float32)
                positions = np.stack([table["centroid_y"], table["centroid_x"]], 1)
            probabilities = model.probabilities(block, features, batch_size)
            probabilities[bad] = np.nan  # an image with NaN pixels gets no class
            centre = (np.array(block.shape[-2:]) - 1) / 2
            if positions is None:
                positions = np.tile(centre, (len(block), 1))
            positions = np.where(np.isfinite(positions), positions, centre)
            yield PredictionBlock(begin, end, total, probabilities.astype(np.float32), positions,
                                  caveat)  # fmt: skip


def _finite_images(raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block as read (its NaN/inf pixels zeroed), checked as float32, and which
    images held NaN/inf (they get no class)."""
    from ._data import check_stack

    array = np.asarray(raw)
    bad = np.zeros(len(array), bool)
    if array.dtype.kind == "f" and array.ndim == 3:
        finite = np.isfinite(array)
        if not finite.all():
            bad = ~finite.reshape(len(array), -1).all(axis=1)
            array = np.where(finite, array, 0).astype(array.dtype)
    return array, check_stack("images", array), bad


def _check_crop_size(model, size: tuple[int, int]) -> None:
    """A model learned from crops of one nucleus is never applied to a field as if it
    were one crop (a field of 125 nuclei read as "interphase 100 %")."""
    trained = tuple(int(v) for v in model.image_size)
    if size != trained:
        raise ValueError(
            f"These images are {size[0]} × {size[1]}; the model learned from {trained[0]} × "
            f"{trained[1]} crops of one nucleus each. For an image of many nuclei, "
            "classify_nuclei(model, image) classifies each nucleus in a crop of its own."
        )


class _Reader:
    """Blocks of a stack as numpy arrays; for a lazy stack the next block is read ahead."""

    def __init__(self, images, block_size: int, lazy: bool) -> None:
        self.images, self.block_size, self.lazy = images, block_size, lazy
        self.pool = self.pending = None

    def __enter__(self) -> _Reader:
        if self.lazy:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(1, thread_name_prefix="predict-read")
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, begin: int) -> np.ndarray:
        return np.asarray(self.images[begin : begin + self.block_size])

    def block(self, begin: int, prefetch: bool) -> np.ndarray:
        if self.pool is None:
            return self._read(begin)
        pending, self.pending = self.pending, None
        raw = pending[1].result() if pending and pending[0] == begin else self._read(begin)
        if prefetch:
            following = begin + self.block_size
            self.pending = (following, self.pool.submit(self._read, following))
        return raw


def predict(model, images, block_size: int = 1024, batch_size: int | None = None) -> Predictions:
    """The class and class probabilities of each image of a stack.

    Parameters
    ----------
    model : Classifier
        A ``ClassifierStep.model`` or :func:`load_classifier`'s result.
    images : array_like
        A 2D image or a stack ``(N, H, W)``, numpy or lazy (dask: computed block
        by block, memory bounded by ``block_size`` images).
    block_size : int
        Images per block.
    batch_size : int, optional
        Images per pass of the CNN within a block (default: 128 on the CPU, where
        the feature maps stay in the cache; the whole block on a GPU).

    Returns
    -------
    Predictions
        ``labels`` (class names), ``probabilities`` (N, C), ``positions`` (N, 2):
        the nucleus' centroid for the feature models, else the image centre. An image
        with NaN pixels, or whose probabilities are not finite, has the label ``""``
        and NaN probabilities; ``note`` says how many.
    """
    blocks = list(iter_predict(model, images, block_size, batch_size))
    caveat = blocks[0].caveat if blocks else ""
    if caveat:
        warnings.warn(caveat, UserWarning, stacklevel=2)
    n_classes = len(model.class_names)
    probabilities = (
        np.concatenate([b.probabilities for b in blocks]) if blocks else np.zeros((0, n_classes))
    )
    positions = np.concatenate([b.positions for b in blocks]) if blocks else np.zeros((0, 2))
    return Predictions.of(probabilities, model.class_names, positions, caveat)
