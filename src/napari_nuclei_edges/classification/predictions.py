"""The result of :func:`~napari_nuclei_edges.classification.predict`: a class and its
probabilities per image.

numpy and the standard library only (no torch, no Qt).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Predictions:
    """The result of :func:`predict`: one class and its probabilities per image."""

    labels: np.ndarray  # (N,) class names
    probabilities: np.ndarray  # (N, C) float32
    class_names: tuple[str, ...]
    positions: np.ndarray  # (N, 2) row, column of each image's nucleus (the centre without one)
    caveat: str = ""  # images unlike those the model learned from ('' when alike)

    @classmethod
    def of(cls, probabilities, class_names, positions, caveat: str = "") -> Predictions:
        """Each image labelled with its most probable class; an image whose probabilities
        are not finite gets no label (``""``), never the first class.

        >>> p = Predictions.of(np.array([[0.2, 0.8], [np.nan, np.nan]]), ("a", "b"),
        ...                    np.zeros((2, 2)))
        >>> p.labels.tolist(), p.unlabelled
        (['b', ''], 1)
        >>> p.note  # doctest: +ELLIPSIS
        '1 image has no finite class probabilities (...): it is not labelled.'
        """
        probabilities = np.asarray(probabilities)
        names = np.asarray([*class_names, ""], dtype=object)
        known = np.isfinite(probabilities).all(axis=1)
        index = np.where(known, np.nan_to_num(probabilities, nan=-1.0).argmax(axis=1), -1)
        return cls(names[index], probabilities, tuple(class_names), np.asarray(positions),
                   caveat)  # fmt: skip

    @property
    def unlabelled(self) -> int:
        """Images without a label (their probabilities are not finite)."""
        return int(np.sum(~np.isfinite(self.probabilities).all(axis=1)))

    @property
    def note(self) -> str:
        """The sentences that say how many images got no label, and the :attr:`caveat`
        ('' when all did and the images are like the training ones)."""
        n = self.unlabelled
        said = [self.caveat] if self.caveat else []
        if n:
            images, has, it = (("image", "has", "it is") if n == 1
                               else ("images", "have", "they are"))  # fmt: skip
            said.insert(0, f"{n} {images} {has} no finite class probabilities (NaN pixels or "
                           f"values the model overflows on): {it} not labelled.")  # fmt: skip
        return " ".join(said)

    @property
    def indices(self) -> np.ndarray:
        """Each image's class index; -1 for an image without a label."""
        known = np.isfinite(self.probabilities).all(axis=1)
        return np.where(known, np.nan_to_num(self.probabilities, nan=-1.0).argmax(axis=1), -1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of each image's class; NaN for an image without a label."""
        with np.errstate(invalid="ignore"):
            return np.max(self.probabilities, axis=1)
