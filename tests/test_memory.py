"""Memory on one large image: measure, segment_nuclei and class_histograms stay within 8×.

tracemalloc traces numpy's allocations (and scipy's arrays), so the peak is what the
call adds to the image it was given.
"""

import tracemalloc

import numpy as np
import pytest

from napari_nuclei_edges.classification import measure
from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.intensity import class_histograms
from napari_nuclei_edges.segmentation import segment_nuclei

#: The most a call may hold at once, in images' worth (the int32 labels alone are 4).
MOST = 8


@pytest.fixture(scope="module")
def field():
    """A 4000 × 4000 uint8 field: 2,500 synthetic nuclei crops side by side."""
    k = 50
    crops = np.concatenate(list(synthetic_nuclei(n_per_class=k * k // 5, seed=4).values()))
    return np.ascontiguousarray(crops.reshape(k, k, 80, 80).transpose(0, 2, 1, 3)
                                .reshape(k * 80, k * 80))  # fmt: skip


def _peak(function, *args, **kwargs) -> tuple[float, object]:
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


@pytest.mark.parametrize(
    ("function", "most"),
    [(measure, MOST), (segment_nuclei, MOST),
     (lambda image: class_histograms({"field": image}), 1)],  # counts need no copy at all
    ids=["measure", "segment_nuclei", "class_histograms"],
)  # fmt: skip
def test_one_large_uint8_image_peaks_within_eight_times_its_size(field, function, most):
    peak, result = _peak(function, field)  # once 26 ×, 26 × and 8 ×
    assert peak <= most * field.nbytes, f"{peak / field.nbytes:.1f} × the image"
    assert result is not None


def test_the_bounded_steps_give_the_same_results(field):
    """Counted and labelled in chunks, the results are the whole-array ones."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    from napari_nuclei_edges.segmentation._stack import label_stack, otsu_per_image

    counts = class_histograms({"field": field}).counts["field"]
    assert counts.tolist() == np.bincount(field.ravel(), minlength=256)[: counts.size].tolist()
    smoothed = field.astype(np.float32)
    assert otsu_per_image(smoothed[None])[0] == threshold_otsu(smoothed)
    mask = field > 100
    labels, count = label_stack(mask[None])
    np.testing.assert_array_equal(labels[0], label(mask, connectivity=2))
    assert count[0] == labels.max()
