"""The intensity range a classifier learned from, and the sentence when images leave it.

A model trained on 8-bit images and applied to the same images stored as 16-bit
(× 257) measures other intensities and gives other classes, silently: the model
records its training images' dtype and 1st–99th percentiles, and :func:`range_caveat`
says when the images it is applied to differ.

numpy only; no Qt, no napari.
"""

from __future__ import annotations

import numpy as np

#: Values sampled for the percentiles (a strided sample: the same on every run).
SAMPLE = 1 << 20
#: How far the images' 99th percentile may be from the training one's (either way).
FACTOR = 2.0


def intensity_range(images, dtype=None) -> dict:
    """The dtype and the 1st and 99th percentiles of ``images`` (finite values).

    Examples
    --------
    >>> import numpy as np
    >>> intensity_range(np.arange(101, dtype=np.uint8))
    {'dtype': 'uint8', 'low': 1.0, 'high': 99.0}
    """
    array = np.asarray(images)
    flat = array.reshape(-1)
    flat = flat[:: max(1, flat.size // SAMPLE)]
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    low, high = np.percentile(flat, (1, 99)) if flat.size else (0.0, 0.0)
    name = np.dtype(dtype).name if dtype is not None else array.dtype.name
    return {"dtype": name, "low": float(low), "high": float(high)}


def range_caveat(trained: dict | None, images, dtype=None) -> str:
    """A sentence when ``images`` are of another dtype than the training images, or their
    99th percentile is more than :data:`FACTOR` times above or below it ('' otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> trained = intensity_range(np.arange(256, dtype=np.uint8))
    >>> range_caveat(trained, np.arange(256, dtype=np.uint8))
    ''
    >>> range_caveat(trained, np.arange(256, dtype=np.uint16) * 257)[:44]
    'These images (uint16, 1st–99th percentile 65'
    """
    if not trained:
        return ""
    found = intensity_range(images, dtype)
    high, learned = found["high"], trained["high"]
    ratio = (high / learned) if learned > 0 else (1.0 if high <= 0 else np.inf)
    if found["dtype"] == trained["dtype"] and 1 / FACTOR <= ratio <= FACTOR:
        return ""
    return (
        f"These images ({found['dtype']}, 1st–99th percentile {_number(found['low'])}–"
        f"{_number(high)}) are not in the range the model learned from ({trained['dtype']}, "
        f"{_number(trained['low'])}–{_number(learned)}): its classes may be wrong; scale them "
        "like the training images, or train on images like these."
    )


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.3g}"
