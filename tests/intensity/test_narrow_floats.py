"""Float images spanning fewer representable values than bins (once 'Too many bins')."""

import numpy as np
import pytest

from napari_nuclei_edges.intensity import auto_threshold, class_histograms


@pytest.mark.parametrize(
    "image",
    [
        np.array([[0.1, 0.1000001], [0.1, 0.1000002]], np.float32),  # three float32 values
        np.arange(16, dtype=np.float32).reshape(4, 4) * np.float32(1e-44),  # denormals
    ],
)
def test_a_float_image_of_few_values_gets_its_histogram(image):
    h = class_histograms({"a": image})
    assert h.counts["a"].sum() == image.size
    assert (np.diff(h.edges) > 0).all()
    assert image.min() <= auto_threshold(h, "otsu") <= image.max()
