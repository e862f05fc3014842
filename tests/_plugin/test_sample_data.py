"""The plugin's samples, opened through napari's File > Open Sample."""

import numpy as np


def test_the_field_sample_opens_as_a_user_would_open_it(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-nuclei-edges", "synthetic_field")
    field, truth = viewer.layers["field"], viewer.layers["field_truth"]
    assert field.data.dtype == np.uint16 and field.data.shape == (512, 512)
    assert tuple(field.contrast_limits) == (0, 4095)  # the 12-bit range, not the data's
    assert type(truth).__name__ == "Labels" and not truth.visible
    assert int(truth.data.max()) == 120 and len(np.unique(truth.data)) == 121
