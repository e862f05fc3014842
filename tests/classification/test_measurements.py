"""measure: region properties per image (centre nucleus) or per object."""

import numpy as np
import pytest

from napari_nuclei_edges.classification import FEATURES, measure
from napari_nuclei_edges.classification.measurements import centre_labels, measure_objects
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


def _partly_nan():
    stack = np.zeros((2, 10, 10))
    stack[0, 3, 3] = np.nan
    return stack


@pytest.mark.parametrize(
    ("images", "words"),
    [
        (np.zeros((10, 20, 3)), "RGB"),
        (_partly_nan(), "NaN pixels"),
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


# --- the vectorised measurements against scikit-image's regionprops_table -----------------

_SKIMAGE = {
    "area": "area",
    "perimeter": "perimeter",
    "major_axis_length": "axis_major_length",
    "minor_axis_length": "axis_minor_length",
    "eccentricity": "eccentricity",
    "solidity": "solidity",
    "orientation": "orientation",
    "intensity_mean": "intensity_mean",
    "intensity_max": "intensity_max",
    "intensity_std": "intensity_std",
}


def _centre_reference(plane):
    """The object under the centre, else the one with the nearest pixel (raster order on a
    tie), one image at a time: the rule as it was written before it was vectorised."""
    h, w = plane.shape
    keep = plane[h // 2, w // 2]
    if keep == 0 and plane.any():
        rows, cols = np.nonzero(plane)
        keep = plane[rows, cols][np.argmin((rows - h // 2) ** 2 + (cols - w // 2) ** 2)]
    return np.where(plane == keep, plane, 0) if keep else np.zeros_like(plane)


def _regionprops_reference(images, labels, objects):
    """The table as the per-image path made it: regionprops_table on each image's labels
    (the centre object chosen by the segmentation's rule)."""
    from skimage.measure import regionprops_table

    rows = []
    for i, (image, plane) in enumerate(zip(images, labels, strict=True)):
        count = len(np.unique(plane[plane > 0]))
        if objects == "centre":
            plane = _centre_reference(plane)
        if not plane.any():
            rows.append({"image": i, "label": 0, "object_count": count})
            continue
        props = regionprops_table(
            plane, image.astype(float), properties=("label", "centroid", *_SKIMAGE.values())
        )
        for k in range(len(props["label"])):
            row = {ours: props[theirs][k] for ours, theirs in _SKIMAGE.items()}
            row.update(
                image=i,
                label=props["label"][k],
                object_count=count,
                centroid_y=props["centroid-0"][k],
                centroid_x=props["centroid-1"][k],
            )
            rows.append(row)
    return rows


def _assert_table_matches(table, images, labels, objects):
    expected = _regionprops_reference(images, labels, objects)
    assert len(table["image"]) == len(expected)
    for key in ("image", "label", "object_count"):
        assert table[key].tolist() == [row[key] for row in expected], key
    for key in (*_SKIMAGE, "centroid_y", "centroid_x"):
        want = np.array([row.get(key, np.nan) for row in expected], float)
        got = table[key]
        if key == "orientation":  # defined modulo pi: +pi/2 and -pi/2 are one direction
            got, want = np.cos(2 * got), np.cos(2 * want)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=key)


def _varied_stacks():
    rng = np.random.default_rng(5)
    synthetic = np.concatenate(list(synthetic_nuclei(n_per_class=8).values()))
    hot = synthetic.copy()
    hot[::3, 10, 70] = 255  # hot pixels
    hot[1::3, 0, 0] = 255
    return {
        "uint8": synthetic,
        "hot pixels": hot,
        "uint16": synthetic.astype(np.uint16) * 250
        + rng.integers(0, 300, synthetic.shape, np.uint16),
        "int16": synthetic.astype(np.int16) * 30 - 4000,
        "float32": (synthetic / 255).astype(np.float32),
    }


@pytest.mark.parametrize("kind", ["uint8", "hot pixels", "uint16", "int16", "float32"])
def test_measurements_equal_regionprops_table(kind):
    stack = _varied_stacks()[kind]
    labels = segment_nuclei(stack)
    _assert_table_matches(measure(stack), stack, labels, "centre")
    _assert_table_matches(measure(stack, labels), stack, labels, "all")
    touching = segment_nuclei(stack, sigma=0, min_size=0, split_touching=True, fill_holes=False)
    _assert_table_matches(measure(stack, touching), stack, touching, "all")


def test_measurements_equal_regionprops_table_on_the_reference_data(reference_path):
    data = load_dataset(reference_path)
    stack = np.concatenate(list(data.values()))
    labels = segment_nuclei(stack)
    _assert_table_matches(measure(stack), stack, labels, "centre")
    _assert_table_matches(measure(stack, labels), stack, labels, "all")


def test_solidity_and_perimeter_of_shapes_with_known_hulls():
    labels = np.zeros((4, 30, 30), np.int32)
    labels[0, 5:15, 5:15] = 1  # a square: its own hull
    labels[1, 5:20, 5:8] = 1  # an L: the hull adds a triangle
    labels[1, 17:20, 8:20] = 1
    labels[2, 10, 3:25] = 1  # a line
    labels[3, 12, 12] = 1  # one pixel
    labels[3, 2:5, 20:23] = 2
    labels[3, 3, 21] = 0  # a ring (a hole that stays)
    images = np.ones(labels.shape)
    table = measure(images, labels)
    _assert_table_matches(table, images, labels, "all")
    assert table["solidity"][0] == 1 and table["solidity"][1] < 0.7
    assert table["perimeter"][0] == pytest.approx(36)


def test_an_image_without_a_threshold_gets_a_row_of_nan_and_the_others_are_measured():
    stack = _varied_stacks()["uint8"][:6].astype(np.float64)
    alone = measure(stack)
    for broken in (np.zeros((80, 80)), np.full((80, 80), 7.0), np.full((80, 80), np.nan)):
        mixed = stack.copy()
        mixed[2] = broken
        table = measure(mixed)
        keep = np.arange(6) != 2
        assert table["object_count"][2] == 0 and table["label"][2] == 0
        for key in FEATURES:
            if key != "object_count":
                assert np.isnan(table[key][2]), key
            np.testing.assert_allclose(table[key][keep], alone[key][keep], err_msg=key)
    empty = np.zeros((3, 40, 40), np.uint8)
    empty[1, 0, 0] = 255  # one hot pixel: smoothed away by the size filter
    table = measure(empty)
    assert table["object_count"].tolist() == [0, 0, 0] and np.isnan(table["area"]).all()


def test_measure_objects_counts_follow_the_labels():
    stack = _varied_stacks()["int16"]
    labels, table = measure_objects(stack)
    per_image = [len(np.unique(plane[plane > 0])) for plane in labels]
    assert np.bincount(table["image"], minlength=len(stack)).tolist() == per_image


def test_scattered_labels_equal_regionprops_table():
    # labels of scattered pixels: objects in pieces, rows missing, neighbours of other labels
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 5, (6, 25, 30)) * (rng.random((6, 25, 30)) < 0.4)
    images = rng.random(labels.shape) * 1000
    _assert_table_matches(measure(images, labels), images, labels, "all")
    _assert_table_matches(measure(images, labels, objects="centre"), images, labels, "centre")


def test_measure_objects_skips_an_image_without_a_threshold():
    stack = _varied_stacks()["uint8"][:3].copy()
    stack[1] = 5  # constant
    labels, table = measure_objects(stack)
    assert labels[1].max() == 0 and 1 not in table["image"].tolist()
    assert {0, 2} <= set(table["image"].tolist())
