"""Thresholds, histograms and statistics on the images microscopes write, not only uint8.

Each automatic method is compared with scikit-image's on the same pixels, and
the number in the box, the histogram's share above it and the mask ``x > t``
must agree.
"""

import numpy as np
import pytest
import skimage.filters

from napari_nuclei_edges.intensity import (
    DISPLAY_BINS,
    THRESHOLD_METHODS,
    auto_threshold,
    class_histograms,
    display_histogram,
    iter_class_histograms,
)
from napari_nuclei_edges.segmentation import segment


def _camera():
    from skimage.data import camera

    return camera()[::2, ::2]  # 256 × 256: the same histogram shape, faster


def _images():
    c = _camera()
    floats = c.astype(np.float32) / 255
    floats[0, :16] = np.nan
    return {
        "uint8": c,
        "12-bit": c.astype(np.uint16) * 16 + 3,
        "full uint16": c.astype(np.uint16) * 257,
        "int16": (c.astype(np.int16) - 128) * 100,
        "float32 + NaN": floats,
    }


IMAGES = _images()


def _finite(image):
    return image[np.isfinite(image)] if image.dtype.kind == "f" else image


@pytest.mark.parametrize("kind", list(IMAGES))
@pytest.mark.parametrize("method", THRESHOLD_METHODS)
def test_each_method_equals_scikit_image_on_every_dtype(kind, method):
    image = IMAGES[kind]
    pixels = _finite(image)
    try:
        expected = float(getattr(skimage.filters, f"threshold_{method}")(pixels))
    except RuntimeError:  # minimum finds no two peaks: ours says so in a sentence
        with pytest.raises(ValueError, match="minimum method found no threshold"):
            auto_threshold(image, method)
        return
    ours = auto_threshold(image, method)
    assert ours == expected
    np.testing.assert_array_equal(segment(pixels, ours), pixels > expected)


@pytest.mark.parametrize("kind", ["uint8", "12-bit", "full uint16", "int16"])
def test_integer_thresholds_never_split_a_bin_and_box_histogram_mask_agree(kind):
    image = IMAGES[kind]
    h = class_histograms({"x": image})
    assert h.unit_bins  # one bin per value, as scikit-image counts integer images
    for method in ("otsu", "yen", "isodata"):
        t = auto_threshold(h, method)
        assert t == int(t)  # a value of the image, never inside a wider bin
        above = h.fraction_above("x", t)
        assert above == np.count_nonzero(segment(image, t)) / image.size
        assert above == class_histograms({"x": image}, threshold=t).statistics["x"].fraction_above


@pytest.mark.parametrize("kind", list(IMAGES))
def test_statistics_are_exact(kind):
    image = IMAGES[kind]
    pixels = _finite(image).astype(np.float64)
    s = class_histograms({"x": image}).statistics["x"]
    assert (s.p01, s.median, s.p99) == tuple(np.percentile(pixels, (1, 50, 99)))
    assert (s.minimum, s.maximum) == (pixels.min(), pixels.max())
    assert s.mean == pytest.approx(pixels.mean(), rel=1e-6)
    assert s.nonfinite == (16 if kind.startswith("float") else 0)


def test_pooled_classes_and_lazy_blocks_are_exact_on_16_bit():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(1)
    stacks = {
        "dim": rng.integers(100, 4000, (6, 40, 40), dtype=np.uint16),
        "bright": rng.integers(2000, 65535, (4, 40, 40), dtype=np.uint16),
    }
    pooled = np.concatenate([s.ravel() for s in stacks.values()])
    h = class_histograms(stacks)
    for method in ("otsu", "yen", "isodata"):
        assert auto_threshold(h, method) == getattr(skimage.filters, f"threshold_{method}")(pooled)
    lazy = {name: da.from_array(s, chunks=(1, 40, 40)) for name, s in stacks.items()}
    steps = iter_class_histograms(lazy, block=2)
    with pytest.raises(StopIteration) as end:
        while True:
            next(steps)
    streamed = end.value.value
    assert streamed.unit_bins
    for name in stacks:
        np.testing.assert_array_equal(streamed.counts[name], h.counts[name])
    assert auto_threshold(streamed, "otsu") == auto_threshold(h, "otsu")


def test_drawing_merges_whole_bins_and_keeps_every_count():
    image = IMAGES["full uint16"]
    h = class_histograms({"x": image})
    edges, counts = display_histogram(h)
    assert edges.size - 1 <= DISPLAY_BINS and counts["x"].sum() == image.size
    width = np.diff(edges)
    assert np.all(width == width[0]) and width[0] == int(width[0])  # whole values per bin
    assert display_histogram(h, 0)[0] is h.edges  # unit bins on request
    edges, counts = display_histogram(class_histograms({"x": IMAGES["float32 + NaN"]}), 100)
    assert edges.size - 1 == 86 and counts["x"].sum() == np.isfinite(IMAGES["float32 + NaN"]).sum()


def test_a_constant_image_is_reported_by_its_value():
    with pytest.raises(ValueError, match=r"constant \(0\.123\)"):
        auto_threshold(np.full((8, 8), 0.123, np.float32).astype(np.float64), "otsu")
    with pytest.raises(ValueError, match=r"constant \(4000\)"):
        auto_threshold(np.full((8, 8), 4000, np.uint16), "otsu")
