"""The segmentation rule on a whole stack: equal, image by image, to the per-image rule."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label as skimage_label
from skimage.segmentation import relabel_sequential

from napari_nuclei_edges.data import CLASS_NAMES, synthetic_nuclei
from napari_nuclei_edges.intensity import auto_threshold
from napari_nuclei_edges.segmentation import (
    per_image_thresholds,
    segment_nuclei,
    smooth,
    threshold_mask,
)
from napari_nuclei_edges.segmentation._stack import (
    centre_object,
    fill_holes,
    label_stack,
    otsu_per_image,
)


def _reference_segment(stack, *, sigma=1.0, min_size=20, fill=True, keep_centre=False):
    """The per-image path the stack functions replace: one image at a time, scikit-image's
    and scipy's own functions (the rule before it was vectorised)."""
    out = np.zeros(stack.shape, np.int32)
    work = smooth(stack, sigma) if sigma > 0 else stack
    for i, plane in enumerate(work):
        mask = threshold_mask(plane, auto_threshold(plane, "otsu")).view(bool)
        if fill:
            mask = ndimage.binary_fill_holes(mask)
        labels = skimage_label(mask, connectivity=2)
        if min_size > 0 and labels.max():
            small = np.bincount(labels.ravel()) < min_size
            small[0] = False
            labels[small[labels]] = 0
        labels = relabel_sequential(labels)[0]
        if keep_centre and labels.any():
            rows, cols = np.nonzero(labels)
            h, w = labels.shape
            keep = labels[h // 2, w // 2]
            if keep == 0:  # nearest labelled pixel, the first in raster order on a tie
                keep = labels[rows, cols][np.argmin((rows - h // 2) ** 2 + (cols - w // 2) ** 2)]
            labels = (labels == keep).astype(np.int32)
        out[i] = labels
    return out


def _stacks(reference_path=None):
    rng = np.random.default_rng(3)
    synthetic = np.concatenate(list(synthetic_nuclei(n_per_class=12).values()))
    stacks = {
        "uint8": synthetic,
        "uint16": synthetic.astype(np.uint16) * 250
        + rng.integers(0, 200, synthetic.shape, np.uint16),
        "int16": synthetic.astype(np.int16) * 40 - 5000,
        "float32": (synthetic / 255).astype(np.float32),
        "float64": synthetic * 1.7 - 3.0,
    }
    if reference_path is not None:
        with np.load(reference_path) as npz:
            stacks["reference"] = np.concatenate([npz[name] for name in CLASS_NAMES])
    return stacks


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_otsu_per_image_is_scikit_images_threshold_of_each_image(dtype, sigma):
    stack = _stacks()[dtype]
    work = smooth(stack, sigma) if sigma else stack
    thresholds = otsu_per_image(work)
    expected = [threshold_otsu(plane) for plane in work]
    np.testing.assert_array_equal(thresholds, expected)
    np.testing.assert_array_equal(thresholds, [auto_threshold(plane) for plane in work])


def test_otsu_per_image_on_the_reference_data(reference_path):
    stack = smooth(_stacks(reference_path)["reference"], 1.0)
    np.testing.assert_array_equal(otsu_per_image(stack), [threshold_otsu(p) for p in stack])


def test_otsu_per_image_values_on_bin_edges_nan_inf_and_narrow_ranges():
    rng = np.random.default_rng(0)
    on_edges = np.linspace(-2.7, 13.1, 257, dtype=np.float32)[rng.integers(0, 257, (60, 20, 20))]
    holes = rng.random((30, 20, 20)).astype(np.float32)
    holes[rng.random(holes.shape) < 0.1] = np.nan
    holes[5, 3, 3] = np.inf
    narrow = (1000 + rng.random((10, 20, 20)) * 0.01).astype(np.float32)  # < 256 distinct edges
    mixed = np.concatenate([narrow, on_edges[:10]])  # float64 bins for some images only
    for stack in (on_edges, holes, narrow, mixed):

        def one(plane):
            try:
                return auto_threshold(plane, "otsu")
            except ValueError:
                return np.nan

        np.testing.assert_array_equal(otsu_per_image(stack), [one(p) for p in stack])
    found = otsu_per_image(narrow)  # once NaN ("Too many bins"): counted in float64 bins
    assert ((found > narrow.min(axis=(1, 2))) & (found < narrow.max(axis=(1, 2)))).all()


def test_images_without_a_threshold_get_nan_or_a_sentence():
    stack = np.zeros((3, 10, 10), np.uint8)
    stack[0, 2:6, 2:6] = 200
    stack[1] = 9  # constant
    stack[2, 5, 5] = 50
    thresholds = per_image_thresholds(stack, if_no_threshold="empty")
    assert np.isnan(thresholds[1]) and np.isfinite(thresholds[[0, 2]]).all()
    with pytest.raises(ValueError, match="Image 1 of the stack: the image is constant"):
        per_image_thresholds(stack)
    labels, used = segment_nuclei(
        stack, sigma=0, min_size=0, if_no_threshold="empty", return_thresholds=True
    )
    assert labels[1].max() == 0 and labels[0].max() == 1 and np.isnan(used[1])
    with pytest.raises(ValueError, match="constant"):
        segment_nuclei(stack)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [{}, {"keep_centre": True}, {"sigma": 0.0}, {"min_size": 0, "fill": False}],
    ids=["default", "centre", "no-smoothing", "raw"],
)
def test_segment_nuclei_equals_the_per_image_rule(dtype, options):
    stack = _stacks()[dtype]
    expected = _reference_segment(stack, **options)
    ours = {("fill_holes" if k == "fill" else k): v for k, v in options.items()}
    np.testing.assert_array_equal(segment_nuclei(stack, **ours), expected)


def test_segment_nuclei_equals_the_per_image_rule_on_the_reference_data(reference_path):
    stack = _stacks(reference_path)["reference"]
    for keep in (False, True):
        expected = _reference_segment(stack, keep_centre=keep)
        np.testing.assert_array_equal(segment_nuclei(stack, keep_centre=keep), expected)


def test_fill_holes_is_binary_fill_holes_of_each_image():
    rng = np.random.default_rng(1)
    mask = ndimage.binary_opening(rng.random((40, 30, 25)) < 0.55, np.ones((1, 2, 2)))
    expected = np.stack([ndimage.binary_fill_holes(m) for m in mask])
    np.testing.assert_array_equal(fill_holes(mask), expected)
    ring = np.zeros((2, 9, 9), bool)
    ring[0, 2:7, 2:7] = True
    ring[0, 3:6, 3:6] = False  # a hole
    ring[1, 0:3, 0:3] = True  # touches the border: nothing to fill
    filled = fill_holes(ring)
    assert filled[0, 4, 4] and filled[1].sum() == 9


def test_nothing_connects_across_images():
    mask = np.zeros((3, 6, 6), bool)
    mask[0, 4:, 2:4] = True  # bottom of image 0 ...
    mask[1, :2, 2:4] = True  # ... above the top of image 1
    mask[1, 4, 4] = True  # diagonal neighbours inside one image do connect
    mask[1, 5, 5] = True
    labels, counts = label_stack(mask)
    assert counts.tolist() == [1, 2, 0]
    assert labels[0].max() == 1 and labels[1, 0, 2] == 1 and labels[1, 5, 5] == 2
    labels, counts = label_stack(mask, min_size=3)
    assert counts.tolist() == [1, 1, 0] and labels[1, 5, 5] == 0


def test_labels_restart_in_raster_order_in_every_image():
    rng = np.random.default_rng(2)
    mask = rng.random((20, 16, 16)) < 0.3
    labels, counts = label_stack(mask, min_size=2)
    for plane, got, count in zip(mask, labels, counts, strict=True):
        expected = skimage_label(plane, connectivity=2)
        small = np.bincount(expected.ravel()) < 2
        small[0] = False
        expected[small[expected]] = 0
        expected = relabel_sequential(expected)[0]
        np.testing.assert_array_equal(got, expected)
        assert count == expected.max()


def test_centre_object_rule_and_ties():
    labels = np.zeros((3, 9, 9), np.int32)
    labels[0, 4, 4] = 3  # under the centre
    labels[0, 0, 0] = 1
    labels[1, 4, 6] = 1  # distance 2, to the right ...
    labels[1, 6, 4] = 2  # ... and below: a tie, the first in raster order wins
    assert centre_object(labels).tolist() == [3, 1, 0]
    kept = segment_nuclei(labels[1:2] * 100, threshold=50, sigma=0, min_size=0, keep_centre=True)
    assert kept[0, 4, 6] == 1 and kept[0, 6, 4] == 0
