"""What the threshold dock says and does as layers come and go: counts, one image, deletions."""

import numpy as np
import pytest

from napari_nuclei_edges.data import CLASS_NAMES


@pytest.fixture
def dock(open_dock):
    return open_dock("Histograms and threshold")


def _apply(widget, qtbot):
    panel = widget._segmentation_panel
    assert widget.apply() is not None
    assert not panel.apply_button.isEnabled()  # until the run has ended (a fast one too)
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)
    return panel


def test_one_layer_is_counted_as_one(viewer, dock, qtbot):
    dock.select_layers(["metaphase"])
    panel = _apply(dock, qtbot)
    summary = panel.summary_label.text()
    assert summary.startswith("Mean Dice") and " over 1 layer · " in summary
    assert "layers" not in summary
    dock.select_layers(["metaphase", "anaphase"])
    assert " over 2 layers · " in _apply(dock, qtbot).summary_label.text()


def test_on_one_image_the_plan_and_the_result_agree(viewer, dock, qtbot):
    image = viewer.layers["metaphase"].data[0]
    viewer.add_image(image, name="field")
    dock.select_layers(["field"])
    panel = dock._segmentation_panel
    assert dock.method == "otsu" and panel.rule_combo.currentText() == "per image"
    plan = panel.plan_label.text()
    assert plan == "Apply uses otsu on the one image, after smoothing σ = 1."
    _apply(dock, qtbot)
    used = panel.used_label.text()
    t = viewer.layers["field_labels"].metadata["napari_nuclei_edges"]["thresholds"][0]
    assert used == f"Used — field_labels: otsu on its image, t = {t:.6g}."
    for text in (plan, used):
        assert "pooled" not in text and "per image" not in text
    dock.select_layers(["metaphase"])  # a stack again: per image, as before
    assert "otsu on each image on its own (per image)" in panel.plan_label.text()


def test_a_deleted_image_takes_its_previews_and_labels_along(viewer, dock, qtbot):
    dock._preview_check.click()
    qtbot.waitUntil(lambda: "metaphase_mask" in viewer.layers, timeout=3000)
    _apply(dock, qtbot)
    labels = viewer.layers["anaphase_labels"]
    labels.paint((0, 40, 40), 1)  # the user corrects a nucleus: it is their work now
    viewer.layers.remove("metaphase")
    qtbot.waitUntil(lambda: "metaphase_labels" not in viewer.layers, timeout=3000)
    assert "metaphase_mask" not in viewer.layers
    assert dock._status_label.text() == (
        "metaphase was deleted: metaphase_mask and metaphase_labels went with it."
    )
    viewer.layers.remove("anaphase")
    qtbot.waitUntil(lambda: "anaphase_mask" not in viewer.layers, timeout=3000)
    assert viewer.layers["anaphase_labels"] is labels  # painted on: kept, named
    assert "anaphase_labels stays: you painted on it" in dock._status_label.text()
    # the user's own layers are never touched: the truths stay, the others' outputs stay
    assert all(f"{name}_truth" in viewer.layers for name in CLASS_NAMES)
    assert "interphase_mask" in viewer.layers and "interphase_labels" in viewer.layers


def test_a_layer_added_later_is_not_counted_unless_it_is_another_class(viewer, dock, qtbot):
    before = {name: [a.copy() for a in curve.getData()] for name, curve in dock._curves.items()}
    calls = []
    original = dock._recompute
    dock._recompute = lambda *a: (calls.append(1), original(*a))
    viewer.add_image(np.zeros((512, 512), np.uint16), name="stray")
    listed = [dock._layer_list.item(i).text() for i in range(dock._layer_list.count())]
    assert "stray" in listed  # offered, unticked
    assert "stray" not in dock.state.layers and calls == []  # nothing recounted
    assert list(dock._curves) == list(CLASS_NAMES)
    for name, curve in dock._curves.items():
        for was, now in zip(before[name], curve.getData(), strict=True):
            np.testing.assert_array_equal(was, now)
    more = viewer.layers["metaphase"].data[::-1].copy()
    viewer.add_image(more, name="telophase")  # same dtype and image shape: another class
    assert "telophase" in dock.state.layers and "telophase" in dock._curves
