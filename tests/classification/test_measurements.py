"""measure: region properties per image (centre nucleus) or per object."""

import numpy as np
import pytest

from napari_nuclei_edges.classification import FEATURES, measure
from napari_nuclei_edges.classification.measurements import centre_labels
from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
from napari_nuclei_edges.segmentation import segment_nuclei


def _disc(shape, centre, radius, value=100.0):
    rows, cols = np.indices(shape)
    return np.where((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2, value, 0.0)


def test_one_row_per_image_for_the_centre_nucleus():
    image = _disc((41, 41), (20, 20), 8) + _disc((41, 41), (5, 5), 4)
    stack = np.stack([image, image.T[::-1]])
    table = measure(stack, segmentation={"sigma": 0})  # no smoothing: the exact disc
    assert set(table) == {"image", "label", *FEATURES}
    assert table["image"].tolist() == [0, 1]
    assert table["object_count"].tolist() == [2, 2]
    disc_area = np.count_nonzero(_disc((41, 41), (20, 20), 8))
    np.testing.assert_allclose(table["area"], disc_area)
    np.testing.assert_allclose(table["intensity_mean"], 100)
    np.testing.assert_allclose(table["intensity_integrated"], 100 * disc_area)
    np.testing.assert_allclose(table["distance_to_centre"], 0, atol=1e-9)
    np.testing.assert_allclose(table["eccentricity"], 0, atol=0.1)
    assert (table["solidity"] > 0.9).all()  # a pixel disc against its convex hull


def test_follows_the_segmentation_rule_of_the_centre_nucleus():
    stack = synthetic_nuclei(n_per_class=4)["anaphase"]
    table = measure(stack)
    kept = segment_nuclei(stack, rule="per_image", keep_centre=True)
    np.testing.assert_array_equal(table["area"], kept.reshape(len(stack), -1).sum(1))


def test_centre_labels_keeps_the_nearest_object_when_none_is_under_the_centre():
    labels = np.zeros((1, 9, 9), int)
    labels[0, 0, 0] = 1
    labels[0, 6, 5] = 2  # nearer to (4, 4)
    assert np.unique(centre_labels(labels)).tolist() == [0, 2]


def test_per_object_with_labels_and_position_in_each_image():
    labels = np.zeros((2, 20, 30), np.int32)
    labels[0, 2:6, 3:8] = 1
    labels[0, 10:15, 20:25] = 2
    labels[1, 0:3, 0:3] = 1
    images = np.ones(labels.shape) * 7
    table = measure(images, labels)
    assert table["image"].tolist() == [0, 0, 1]
    assert table["label"].tolist() == [1, 2, 1]
    assert table["area"].tolist() == [20, 25, 9]
    assert table["object_count"].tolist() == [2, 2, 1]
    np.testing.assert_allclose(table["centroid_x"], [5, 22, 1])
    np.testing.assert_allclose(table["centroid_y"], [3.5, 12, 1])


def test_an_image_without_a_nucleus_gets_nan_not_an_error():
    stack = np.zeros((2, 30, 30))
    stack[0] = _disc((30, 30), (15, 15), 6)
    stack[1, 0, 0] = 1  # one bright pixel: dropped by the size filter
    table = measure(stack)
    assert table["area"][0] > 0
    assert np.isnan(table["area"][1])
    assert table["object_count"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("images", "words"),
    [
        (np.zeros((10, 20, 3)), "RGB"),
        (np.full((2, 10, 10), np.nan), "NaN"),
        (np.zeros((2, 2, 10, 10)), "2D image or a stack"),
    ],
)
def test_bad_input_gets_a_sentence(images, words):
    with pytest.raises(ValueError, match=words):
        measure(images)


def test_labels_of_another_shape_get_a_sentence():
    with pytest.raises(ValueError, match="differs from the images"):
        measure(np.zeros((2, 10, 10)), np.zeros((2, 10, 11), int))


def test_reference_data_every_image_has_a_nucleus(reference_path):
    data = load_dataset(reference_path)
    table = measure(np.concatenate(list(data.values())))
    assert len(table["area"]) == 250
    assert not np.isnan(table["area"]).any()
    assert (table["distance_to_centre"] < 20).mean() > 0.9


def test_the_package_imports_neither_torch_nor_qt():
    import subprocess
    import sys

    code = (
        "import sys, napari_nuclei_edges.classification, "
        "napari_nuclei_edges.classification.options; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & {"torch", "qtpy", "PyQt6", "napari", "pyqtgraph"}


def test_measure_objects_labels_are_unique_across_the_stack():
    from napari_nuclei_edges.classification.measurements import measure_objects

    stack = synthetic_nuclei(n_per_class=3)["prometaphase"]
    labels, table = measure_objects(stack)
    assert labels.shape == stack.shape and labels.dtype == np.int32
    assert len(np.unique(table["index"])) == len(table["index"])
    for row in range(len(table["index"])):
        image, index = table["image"][row], table["index"][row]
        assert np.count_nonzero(labels[image] == index) == table["area"][row]
