"""Every automatic threshold, ours against scikit-image's on the same pixels, per dtype.

``python -m benchmarks.threshold_table`` prints one row per method and one
column per image type: ``=`` where ours equals scikit-image's exactly (and so
do the masks ``x > t``), else both values and how many pixels the masks differ
on. The images are scikit-image's ``camera`` in the types microscopes write.
"""

from __future__ import annotations

import numpy as np


def images() -> dict[str, np.ndarray]:
    """``camera()`` as uint8, 12-bit in uint16, full-range uint16, int16 and float32 with NaN."""
    from skimage.data import camera

    c = camera()
    floats = c.astype(np.float32) / 255
    floats[0, :16] = np.nan  # a few dead pixels: NaN is not a value
    return {
        "uint8": c,
        "12-bit in uint16": c.astype(np.uint16) * 16 + 3,
        "full uint16": c.astype(np.uint16) * 257,
        "int16 (negatives)": (c.astype(np.int16) - 128) * 100,
        "float32 + NaN": floats,
    }


def compare(image: np.ndarray, method: str) -> str:
    """``=`` when ours equals scikit-image's, else both values and the mask difference."""
    import skimage.filters as filters

    from napari_nuclei_edges.intensity import auto_threshold

    pixels = image[np.isfinite(image)] if image.dtype.kind == "f" else image
    try:
        ours = auto_threshold(image, method)
    except ValueError:
        ours = None
    try:
        theirs = float(getattr(filters, f"threshold_{method}")(pixels))
    except RuntimeError:
        theirs = None
    if ours is None or theirs is None:
        return "both: none" if ours is None and theirs is None else f"{ours} vs {theirs}"
    if ours == theirs:
        return f"= {ours:.6g}"
    differ = np.count_nonzero((pixels > ours) != (pixels > theirs))
    return f"{ours:.6g} vs {theirs:.6g} ({differ} px)"


def main() -> None:
    from napari_nuclei_edges.intensity import THRESHOLD_METHODS

    data = images()
    print("auto_threshold vs skimage.filters.threshold_<method> on the same pixels")
    print("('= t': equal, so the masks x > t are identical)\n")
    print(f"{'method':<10}" + "".join(f"{name:>24}" for name in data))
    for method in THRESHOLD_METHODS:
        print(f"{method:<10}" + "".join(f"{compare(im, method):>24}" for im in data.values()))


if __name__ == "__main__":
    main()
