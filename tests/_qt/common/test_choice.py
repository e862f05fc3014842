"""Docks follow napari's layer list: renames, removals and the selected layer."""

import numpy as np


def _pick_in_dock(combo, name: str) -> None:
    """What a user's click on an entry of the dock's box does (Qt's ``activated``)."""
    index = combo.findText(name)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_sobel_follows_a_rename_and_its_outputs_follow_too(viewer, open_dock, qtbot):
    widget = open_dock("Sobel edges")
    widget.layer_name = "metaphase"
    widget._run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    viewer.layers["metaphase"].name = "mitosis 2"
    assert widget.layer_name == "mitosis 2"
    combo = widget._layer_combo
    assert "mitosis 2" in [combo.itemText(i) for i in range(combo.count())]
    assert "mitosis 2_sobel_gx" in viewer.layers and "metaphase_sobel_gx" not in viewer.layers
    widget._run_button.click()  # updates the renamed outputs, no second set
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    gx = [layer.name for layer in viewer.layers if layer.name.endswith("_sobel_gx")]
    assert gx == ["mitosis 2_sobel_gx"]
    assert "Choose an image layer" not in widget._status_label.text()


def test_the_dock_image_follows_the_selected_layer_until_picked(viewer, open_dock, qtbot):
    widget = open_dock("Sobel edges")
    viewer.layers.selection.active = viewer.layers["anaphase"]
    assert widget.layer_name == "anaphase"
    widget._run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    assert "anaphase_sobel_gx" in viewer.layers and "apoptosis_sobel_gx" not in viewer.layers
    _pick_in_dock(widget._layer_combo, "interphase")  # the user's choice now holds
    viewer.layers.selection.active = viewer.layers["metaphase"]
    assert widget.layer_name == "interphase"
    viewer.layers.remove("interphase")  # gone: the selection is followed again
    assert widget.layer_name == "metaphase"
    viewer.layers.selection.active = viewer.layers["prometaphase"]
    assert widget.layer_name == "prometaphase"


def test_outputs_and_labels_are_never_the_dock_image(viewer, open_dock, qtbot):
    widget = open_dock("Sobel edges")
    viewer.layers.selection.active = viewer.layers["anaphase_truth"]
    viewer.add_image(np.zeros((8, 8)), name="mine")
    viewer.layers.selection.active = viewer.layers["anaphase_truth"]
    assert widget.layer_name == "mine"  # a Labels layer selected: the choice stays


def test_focus_keeps_its_curves_when_the_stack_is_renamed(viewer, open_dock, qtbot):
    widget = open_dock("Find the focus")
    widget.layer_name = "metaphase"
    widget.measure()
    qtbot.waitUntil(lambda: bool(widget.state.values) and not widget.busy, timeout=20_000)
    values = dict(widget.state.values)
    viewer.layers["metaphase"].name = "series 1"
    assert widget.layer_name == "series 1" and widget.state.layer == "series 1"
    assert widget.state.values.keys() == values.keys()
    widget.keep_best_slice()
    assert "series 1_best_focus" in viewer.layers


def test_the_kernel_dock_follows_a_rename_of_its_input_and_its_target(viewer, open_dock):
    widget = open_dock("Learn a kernel")
    widget.input_name = "metaphase"
    widget._target_combo.setCurrentText("layer: anaphase")
    viewer.layers["metaphase"].name = "plates"
    viewer.layers["anaphase"].name = "separating"
    assert widget.input_name == "plates"
    assert widget._target_combo.currentText() == "layer: separating"
    targets = [widget._target_combo.itemText(i) for i in range(widget._target_combo.count())]
    assert "layer: metaphase" not in targets and "layer: plates" in targets


def test_classify_applies_to_the_selected_layer_until_one_is_picked(viewer, open_dock):
    widget = open_dock("Classify the stage")
    viewer.layers.selection.active = viewer.layers["anaphase"]
    assert widget.image_name == "anaphase"
    _pick_in_dock(widget._image_combo, "interphase")
    viewer.layers.selection.active = viewer.layers["metaphase"]
    assert widget.image_name == "interphase"


def test_a_sample_truth_follows_its_image_when_it_is_renamed(viewer, open_dock):
    open_dock("Sobel edges")
    viewer.layers["metaphase"].name = "plates"
    assert "plates_truth" in viewer.layers and "metaphase_truth" not in viewer.layers
    assert viewer.layers["plates_truth"].metadata["ground_truth_of"] == "plates"
    viewer.add_labels(np.zeros((4, 4), np.int32), name="mine_truth")  # the user's own
    viewer.add_image(np.zeros((4, 4)), name="mine")
    viewer.layers["mine"].name = "yours"
    assert "mine_truth" in viewer.layers  # a layer the sample did not make is not renamed
