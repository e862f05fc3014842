"""Load model… with a tampered file leaves the dock as it was; Predict never labels NaN images."""

import json

import numpy as np

DOCK = "Classify the stage"


def _trained(open_dock, qtbot):
    dock = open_dock(DOCK)
    dock.set_options(epochs=3, patience=0)
    dock.start()
    qtbot.waitUntil(lambda: not dock.is_running, timeout=120_000)
    return dock


def test_a_failed_load_leaves_the_dock_as_it_was(open_dock, close_dock, qtbot, tmp_path):
    dock = _trained(open_dock, qtbot)
    saved = dock.files.save_model(tmp_path / "stage.pt")
    info = json.loads((tmp_path / "stage.json").read_text())
    info["class_names"] = [1, 2, 3, 4, 5]  # a shared model's .json, edited
    (tmp_path / "stage.json").write_text(json.dumps(info))
    model, history, options = dock.model, list(dock.history), dock.options()
    dock.set_options(epochs=7)
    assert dock.files.load_model(saved) is None
    status = dock.results["files"].text()
    assert "stage.json: class_names must be a list of names" in status
    assert status.endswith("The dock keeps its model and options.")
    assert dock.model is model and dock.history == history
    assert dock.options().epochs == 7 and dock.options().model == options.model
    close_dock(dock)


def test_predict_leaves_nan_images_without_a_class_and_says_so(
    open_dock, close_dock, qtbot, viewer
):
    dock = _trained(open_dock, qtbot)
    images = np.asarray(viewer.layers["metaphase"].data, np.float32).copy()
    images[2] = np.nan
    viewer.add_image(images, name="with nan")
    dock.image_name = "with nan"
    dock.predict()
    qtbot.waitUntil(lambda: "with nan_stage" in viewer.layers, timeout=60_000)
    stages = viewer.layers["with nan_stage"].features["stage"].tolist()
    assert stages[2] == "" and all(stages[:2] + stages[3:])
    assert "1 image has no finite class probabilities" in dock.results["apply"].text()
    close_dock(dock)
