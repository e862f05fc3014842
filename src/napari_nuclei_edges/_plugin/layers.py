"""Layer-data tuples shared by the sample data, the reader and the launcher (no Qt)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import __version__
from ..data import CLASS_NAMES, finite_values

#: Name suffix of the ground-truth Labels layers of the synthetic sample.
TRUTH_SUFFIX = "_truth"


def class_image_layers(
    stacks: Mapping[str, np.ndarray], metadata: Mapping[str, object]
) -> list[tuple]:
    """One image layer per class, named by class, with the given metadata."""
    layers = []
    for name in stacks:
        stack = stacks[name]
        layers.append(
            (
                stack,
                {
                    "name": name,
                    "colormap": "gray",
                    "contrast_limits": _contrast_limits(stack),
                    "metadata": {
                        **metadata,
                        "class_name": name,
                        "class_index": CLASS_NAMES.index(name) if name in CLASS_NAMES else None,
                        "plugin_version": __version__,
                    },
                },
                "image",
            )
        )
    return layers


def _contrast_limits(stack: np.ndarray) -> tuple[float, float]:
    # a fixed 0..255 for uint8 keeps the classes comparable by eye; other dtypes
    # use their finite range so nothing is blank
    if stack.dtype == np.uint8:
        return (0.0, 255.0)
    finite = finite_values(stack)
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return (low, high if high > low else low + 1.0)
