"""*Learn a segmentation*, opened from the Plugins menu and used as a user does."""

import json

import numpy as np
import pytest

from napari_nuclei_edges.data import synthetic_field

DOCK = "Learn a segmentation"
SMALL = {"depth": 2, "channels": 8}


@pytest.fixture
def field_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    image, truth = synthetic_field(size=192, n_nuclei=20, seed=1)
    viewer.add_image(image, name="field")
    viewer.add_labels(truth, name="field_truth")
    return viewer


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", DOCK)
    return widget


def _train(qtbot, dock, seconds=8, **options):
    dock.set_options(seconds=seconds, **{**SMALL, **options})
    dock.buttons.start_button.click()
    assert dock.is_running, dock.status.text()
    qtbot.waitUntil(lambda: not dock.is_running, timeout=120_000)


def test_it_offers_the_truth_trains_live_and_segments_the_image(field_viewer, qtbot):
    dock = _dock(field_viewer)
    assert dock.image_name == "field" and dock.labels_name == "field_truth"
    assert dock.controls.kind_combo.currentText() == "nuclei"
    assert "field_receptive_field" not in field_viewer.layers  # opening makes no layer
    _train(qtbot, dock)
    epochs = dock.state.epochs
    assert len(epochs) >= 2 and dock.curves.series("loss") == list(dock.state.loss)
    assert dock.status.text().startswith(f"Epoch {epochs[-1]}, ")
    assert "held-out Dice" in dock.status.text()
    square = field_viewer.layers["field_receptive_field"]
    side = square.data[0][:, 0].max() - square.data[0][:, 0].min()
    assert f"{side:.0f} × {side:.0f} px square" in dock.controls.receptive_label.text()
    qtbot.waitUntil(lambda: "field_segmentation" in field_viewer.layers, timeout=30_000)
    made = field_viewer.layers["field_segmentation"]
    assert made.data.shape == (192, 192) and made.data.dtype == np.int32
    assert dock.model is not None and dock.controls.predict_button.isEnabled()
    # the threshold's scores on the same held-out tiles: a line each, and the verdict
    base = dock.state.baseline
    assert base is not None and 0.5 < base.dice <= 1 and 0 < base.f1 <= 1
    assert dock.curves.baseline_lines["f1"].isVisible()
    assert dock.curves.baseline_lines["f1"].value() == pytest.approx(base.f1)
    assert dock.result.text() == dock.state.verdict() != ""
    assert f"(threshold {base.dice:.2f})" in dock.status.text()


def test_predict_another_image_and_save_and_load_the_model(field_viewer, qtbot, tmp_path):
    dock = _dock(field_viewer)
    _train(qtbot, dock, seconds=4)
    other, _ = synthetic_field(size=160, n_nuclei=12, seed=7)
    field_viewer.add_image(other, name="other")
    dock.controls.predict_combo.setCurrentText("other")
    dock.controls.predict_button.click()
    qtbot.waitUntil(lambda: "other_segmentation" in field_viewer.layers, timeout=60_000)
    assert field_viewer.layers["other_segmentation"].data.shape == (160, 160)
    assert dock.result.text().startswith("other_segmentation: ")
    dock.save_model(tmp_path / "nuclei")
    assert dock.result.text() == "Saved the model as nuclei.pt and nuclei.json."
    (tmp_path / "bad.json").write_text(json.dumps({"format": "something else"}))
    (tmp_path / "bad.pt").write_bytes(b"not torch")
    kept = dock.model
    dock.load_model(tmp_path / "bad.pt")
    assert dock.model is kept and "bad" in dock.result.text()  # a sentence; nothing lost
    dock.load_model(tmp_path / "nuclei.pt")
    assert dock.model is not kept and dock.result.text().startswith("Loaded 2 levels × 8 filters")


def test_labels_of_another_size_or_none_get_a_sentence(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint16), name="image")
    dock = _dock(viewer)
    assert dock.labels_name == "" and dock.start() is None
    assert dock.status.text().startswith("Choose its labels: a Labels layer of the image's size")
    viewer.add_labels(np.zeros((32, 32), np.int32), name="small")
    assert dock.labels_name == ""  # not offered: another size
    dock.controls.labels_combo.addItem("small")
    dock.labels_name = "small"
    assert dock.start() is None
    assert dock.status.text() == ("small is 32 × 32, image 64 × 64: the labels must be of "
                                  "the image's size.")  # fmt: skip


def test_scribbles_are_recognised_and_learned_from(field_viewer, qtbot):
    image = field_viewer.layers["field"].data
    truth = field_viewer.layers["field_truth"].data
    strokes = np.zeros_like(truth)
    strokes[::6][truth[::6] > 0] = 1  # a stroke every sixth row, as a brush would leave
    strokes[::6][truth[::6] == 0] = 2
    field_viewer.add_labels(strokes, name="field_scribbles")
    dock = _dock(field_viewer)
    dock.labels_name = "field_scribbles"
    assert dock.controls.kind_combo.currentText() == "scribbles"
    _train(qtbot, dock, seconds=4)
    assert dock.state.epochs and not np.isnan(dock.state.loss[-1])
    assert image.shape == strokes.shape


def test_the_image_removed_mid_run_stops_it_and_keeps_the_model(field_viewer, qtbot):
    dock = _dock(field_viewer)
    dock.set_options(seconds=60, **SMALL)
    dock.start()
    qtbot.waitUntil(lambda: len(dock.state.epochs) >= 1, timeout=60_000)
    field_viewer.layers.remove("field_truth")
    qtbot.waitUntil(lambda: not dock.is_running, timeout=60_000)
    assert dock.status.text().startswith("field_truth was removed: training stopped")
    assert dock.model is not None


def test_closing_the_dock_mid_run_stops_it(field_viewer, qtbot):
    dock = _dock(field_viewer)
    dock.set_options(seconds=60, **SMALL)
    worker = dock.start()
    qtbot.waitUntil(lambda: worker.is_running, timeout=10_000)
    field_viewer.window.remove_dock_widget(dock)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=60_000)
    assert not dock.is_running


def test_the_training_patches_and_the_normalisation_are_shown(field_viewer, qtbot):
    from napari_nuclei_edges.segmenter.preview import cut_offs

    dock = _dock(field_viewer)
    dock.controls.patches_button.click()
    qtbot.waitUntil(lambda: "field_patch_classes" in field_viewer.layers, timeout=30_000)
    patches = field_viewer.layers["field_patches"].data
    classes = field_viewer.layers["field_patch_classes"].data
    assert patches.shape == classes.shape == (8, 128, 128)
    assert {1, 2, 3} <= set(np.unique(classes).tolist())  # background, interior, boundary
    cuts = cut_offs(field_viewer.layers["field"].data)
    said = dock.status.text()
    assert said.startswith("field_patches: 8 patches of 128 × 128 px as the network sees them")
    assert f"so that {cuts['low']:.4g} is 0 and {cuts['high']:.4g} is 1" in said


def test_a_corrupt_setting_is_reset_and_said_once(make_napari_viewer, isolated_settings):
    from napari_nuclei_edges._qt.common.settings import widget_settings

    settings = widget_settings("segmenter")
    settings.setValue("depth", "99999999999")
    settings.setValue("loss", "bogus")
    settings.sync()
    viewer = make_napari_viewer()
    dock = _dock(viewer)
    assert (
        dock.controls.depth_spin.value() == 3
        and dock.controls.loss_combo.currentText() == "ce+dice"
    )
    assert "depth" in dock.status.text() and "loss" in dock.status.text()
