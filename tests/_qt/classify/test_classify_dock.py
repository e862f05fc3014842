"""The "Classify the stage" dock, opened from the Plugins menu and driven like a user."""

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_nuclei_edges.classification import ClassifierOptions
from napari_nuclei_edges.data import CLASS_NAMES

DOCK = "Classify the stage"
TINY_CNN = {"model": "cnn", "layers": 2, "channels": 4, "epochs": 3, "batch_size": 8}


def said(dock, where: str = "train") -> str:
    """The sentence under the button of ``where`` (train, cv, apply, files, …)."""
    return dock.results[where].text()


def _train(qtbot, dock, **options):
    dock.set_options(**options)
    worker = dock.start()
    assert worker is not None, said(dock)
    qtbot.waitUntil(lambda: not dock.is_running, timeout=120_000)
    return dock.history


def test_defaults_to_the_class_layers_and_trains_the_feature_model(open_dock, close_dock, qtbot):
    dock = open_dock(DOCK)
    assert dock.class_layers == list(CLASS_NAMES)  # the truths are Labels: not offered
    assert dock.options().model == "features"
    history = _train(qtbot, dock, epochs=5, patience=0)
    assert [s.epoch for s in history] == [1, 2, 3, 4, 5]
    assert dock._curves.series("val_accuracy") == [s.val_accuracy for s in history]
    assert dock._curves.series("train_loss") == [s.loss for s in history]
    assert dock._curves.chance_line.value() == pytest.approx(0.2)
    assert not dock._curves.baseline_line.isVisible()  # the features model is the baseline
    np.testing.assert_array_equal(dock._confusion.matrix, history[-1].confusion)
    assert dock._confusion.item(0, 0).text() == str(history[-1].confusion[0, 0])
    assert "Epoch 5/5" in said(dock)
    assert dock._filters.filters is None and "no filters" in dock._filters.text()
    close_dock(dock)


def test_cnn_shows_baseline_filters_saliency_and_predictions(
    open_dock, close_dock, qtbot, viewer, tmp_path
):
    dock = open_dock(DOCK)
    history = _train(qtbot, dock, **TINY_CNN)
    assert len(history) == 3
    assert dock._curves.baseline_line.isVisible()
    assert dock._curves.baseline_line.value() == pytest.approx(dock.state.baseline)
    assert dock._filters.filters.shape == (4, 3, 3)
    wrong = dock.state.misclassified()
    assert dock._thumbnails.count() == len(wrong)

    dock.image_name = "metaphase"
    assert dock.saliency_method == "gradient × input"
    dock.saliency()  # in a worker: the layer comes when it is done
    qtbot.waitUntil(lambda: "metaphase_saliency" in viewer.layers, timeout=60_000)
    qtbot.waitUntil(lambda: not dock._task.is_running, timeout=60_000)
    saliency = viewer.layers["metaphase_saliency"]
    assert saliency.data.shape == viewer.layers["metaphase"].data.shape
    assert saliency.data.min() >= 0 and saliency.data.max() > 0
    gradient = np.array(saliency.data)
    dock.saliency_method = "Grad-CAM"
    dock.saliency()
    qtbot.waitUntil(lambda: "Grad-CAM" in said(dock, "apply"), timeout=60_000)
    assert viewer.layers["metaphase_saliency"] is saliency  # updated in place
    assert saliency.metadata["napari_nuclei_edges"]["method"] == "Grad-CAM"
    cam = np.asarray(saliency.data)
    np.testing.assert_allclose(cam.reshape(len(cam), -1).max(1), 1.0, rtol=1e-4)
    assert not np.allclose(cam, gradient)

    from napari.utils import progress

    shown_bars = []
    progress._all_instances.events.changed.connect(lambda e: shown_bars.extend(e.added))
    inserted = []  # as napari inserts it (a poll may come after the turn that shows it)
    viewer.layers.events.inserted.connect(lambda e: inserted.append(
        (e.value.name, bool(e.value.visible))))  # fmt: skip
    dock.predict()
    qtbot.waitUntil(lambda: "metaphase_stage" in viewer.layers, timeout=60_000)
    points = viewer.layers["metaphase_stage"]
    assert ("metaphase_stage", False) in inserted  # inserted hidden; drawn a turn later
    qtbot.waitUntil(lambda: points.visible, timeout=5_000)
    assert shown_bars == []  # a short prediction: the dock's own bar, not napari's
    assert len(points.data) == 6
    assert points.data[:, 0].tolist() == list(range(6))  # one point per image, in its slice
    assert set(points.features["stage"]) <= set(CLASS_NAMES)
    assert np.all((points.features["probability"] > 0) & (points.features["probability"] <= 1))
    assert "predicted as metaphase" in said(dock, "apply")

    csv = tmp_path / "predictions.csv"
    dock.files.export_predictions(csv)
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("image,predicted_class,confidence,p_interphase")
    assert len(lines) == 7

    saved = dock.files.save_model(tmp_path / "stage.pt")
    dock.reset()
    assert dock.model is None
    loaded = dock.files.load_model(saved)
    assert loaded.class_names == tuple(CLASS_NAMES)
    assert dock.options().model == "cnn" and dock.options().channels == 4
    history_csv = tmp_path / "history.csv"
    dock.files.export_history(history_csv)  # after the reset: only the header
    assert history_csv.read_text().splitlines() == [
        "epoch,loss,val_loss,accuracy,val_accuracy,macro_f1,elapsed_s"
    ]
    close_dock(dock)


def test_a_foreign_model_file_and_a_single_class_get_sentences(open_dock, close_dock, tmp_path):
    dock = open_dock(DOCK)
    (tmp_path / "x.json").write_text("[1, 2]")
    (tmp_path / "x.pt").write_bytes(b"\0")
    assert dock.files.load_model(tmp_path / "x.pt") is None
    assert "not written by this plugin" in said(dock, "files")
    dock.class_layers = ["metaphase"]
    assert dock.start() is None
    assert "at least two image layers" in said(dock)
    close_dock(dock)


def test_closing_the_dock_mid_run_stops_training(open_dock, close_dock, qtbot):
    dock = open_dock(DOCK)
    dock.set_options(**{**TINY_CNN, "epochs": 500, "patience": 0})
    worker = dock.start()
    qtbot.waitUntil(lambda: len(dock.history) >= 1, timeout=60_000)
    close_dock(dock)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=30_000)
    assert len(dock.history) < 500


def test_removing_a_class_layer_mid_run_stops_with_a_sentence(open_dock, qtbot, viewer):
    dock = open_dock(DOCK)
    dock.set_options(**{**TINY_CNN, "epochs": 500, "patience": 0})
    dock.start()
    qtbot.waitUntil(lambda: len(dock.history) >= 1, timeout=60_000)
    viewer.layers.remove("anaphase")
    qtbot.waitUntil(lambda: not dock.is_running, timeout=30_000)
    assert "anaphase was removed" in said(dock)
    assert dock.model is not None  # nothing lost: the model so far is kept
    assert "anaphase" not in dock.class_layers


def test_clicking_a_misclassified_thumbnail_shows_that_image(open_dock, qtbot, viewer):
    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=1, patience=0)
    dock._on_thumbnail_chosen("apoptosis", 4)
    assert viewer.layers.selection.active.name == "apoptosis"
    assert viewer.dims.current_step[0] == 4
    assert viewer.layers["apoptosis"].visible and not viewer.layers["metaphase"].visible


def test_measure_puts_labels_with_features_and_a_sortable_table(
    open_dock, close_dock, qtbot, viewer, tmp_path
):
    dock = open_dock(DOCK)
    dock.image_name = "interphase"
    dock.measurements.measure()
    qtbot.waitUntil(lambda: "interphase_nuclei" in viewer.layers, timeout=30_000)
    labels = viewer.layers["interphase_nuclei"]
    table = dock.measurements.table
    assert labels.data.shape == viewer.layers["interphase"].data.shape
    assert labels.features["area"].tolist() == table["area"].tolist()
    assert labels.features["index"].tolist() == np.unique(labels.data[labels.data > 0]).tolist()
    view = dock.measurements.view
    assert view.rowCount() == len(table["area"])
    area = [h.text() for h in map(view.horizontalHeaderItem, range(view.columnCount()))].index(
        "area"
    )
    view.sortItems(area)
    shown = [float(view.item(row, area).text()) for row in range(view.rowCount())]
    assert shown == sorted(shown)
    csv = tmp_path / "m.csv"
    dock.measurements.export(csv)
    assert csv.read_text().splitlines()[0].startswith("index,image,label,area")
    close_dock(dock)


def _correlation(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _dihedral(image) -> list[np.ndarray]:
    """The 8 flips and 90° turns of an image."""
    turns = [np.rot90(image, k) for k in range(4)]
    return turns + [np.fliplr(t) for t in turns]


def test_show_augmentation_shows_the_image_on_screen_and_its_copies_beneath_it(open_dock, viewer):
    from napari_nuclei_edges._plugin.grid import tile_layers
    from napari_nuclei_edges._qt.classify.preview import tiles

    tile_layers(viewer)  # the classes side by side, as the launcher shows them
    dock = open_dock(DOCK)
    dock.image_name = "anaphase"
    viewer.dims.set_current_step(0, 4)
    dock.set_options(model="cnn", augment=True, shift=0, rotate=0.0, jitter=0.0)
    dock._augment_button.click()
    out, source = viewer.layers["anaphase_augmented"], viewer.layers["anaphase"]
    assert "each of its 6 images (top left) and 8 augmented copies" in said(dock, "apply")
    assert out.metadata["napari_nuclei_edges"]["image"] == 4
    # on screen, the layer shows its image of the source's image on screen
    k = round(source.world_to_data(viewer.dims.point)[0])
    assert k == 4 and round(out.world_to_data(viewer.dims.point)[0]) == k
    for step in range(len(source.data)):  # at every image, never blank, never another's
        shown = tiles(np.asarray(out.data[step]), (80, 80))
        assert _correlation(shown[0], source.data[step]) > 0.98
        others = [_correlation(shown[0], source.data[j]) for j in range(6) if j != step]
        assert max(others) < 0.9
        for copy in shown[1:]:  # flips and 90° turns of that image: one of the 8, exactly
            assert any(np.array_equal(copy, t) for t in _dihedral(shown[0]))
        assert len({copy.tobytes() for copy in shown}) > 2
    # in the tile beneath its source, exactly as wide and tall as one image
    (y0, x0), (y1, x1) = out.extent.world[0][-2:], out.extent.world[1][-2:]
    (sy0, sx0), (sy1, sx1) = source.extent.world[0][-2:], source.extent.world[1][-2:]
    assert (y1 - y0, x1 - x0) == pytest.approx((sy1 - sy0, sx1 - sx0), abs=1.0)
    assert x0 == pytest.approx(sx0, abs=1.0) and y0 > sy1
    viewer.dims.set_current_step(0, 2)
    dock._augment_button.click()  # again: updated in place, the same images
    assert viewer.layers["anaphase_augmented"] is out and len(out.data) == 6


def test_show_augmentation_turns_the_copies_by_small_angles(open_dock, viewer):
    from napari_nuclei_edges._qt.classify.preview import tiles

    dock = open_dock(DOCK)
    bar = np.zeros((3, 41, 41), np.uint8)
    bar[:, 19:22, 6:-6] = 200
    viewer.add_image(bar, name="bar")
    dock.image_name = "bar"
    viewer.dims.set_current_step(0, 0)
    assert dock._options_panel.controls["rotate"].toolTip() == ClassifierOptions.help("rotate")
    dock.set_options(model="cnn", augment=False, shift=0, jitter=0.0, rotate=20.0)
    out = dock.show_augmentation()
    assert out.name == "bar_augmented" and out.metadata["napari_nuclei_edges"]["rotate"] == 20.0
    angles = []
    for image in tiles(np.asarray(out.data[0]), (41, 41)):
        rows, cols = np.nonzero(image > image.max() / 2)
        cov = np.cov(np.stack([cols - cols.mean(), rows.mean() - rows]))
        angles.append(np.degrees(0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])))
    assert abs(angles[0]) < 0.5  # the image itself
    assert all(abs(a) <= 21.5 for a in angles) and max(abs(a) for a in angles[1:]) > 2


def test_show_augmentation_of_a_long_stack_draws_each_image_as_it_is_shown(
    open_dock, viewer, monkeypatch
):
    from napari_nuclei_edges._qt.classify import preview

    monkeypatch.setattr(preview, "AT_ONCE", 4)  # "long": more than 4 images
    images = np.random.default_rng(1).integers(0, 255, (9, 24, 24)).astype(np.uint8)
    viewer.add_image(images, name="many")
    viewer.add_image(images[3], name="one")  # and a single 2D image
    dock = open_dock(DOCK)
    dock.set_options(model="cnn", augment=True, shift=0, rotate=0.0, jitter=0.0)
    dock.image_name = "many"
    viewer.dims.set_current_step(0, 7)
    out = dock.show_augmentation()
    assert not isinstance(out.data, np.ndarray) and out.data.shape[0] == 9  # lazy
    for step in (7, 0):
        shown = preview.tiles(np.asarray(out.data[step]), (24, 24))
        assert _correlation(shown[0], images[step]) > 0.98
    dock.image_name = "one"
    single = dock.show_augmentation()
    assert single.data.ndim == 2
    assert _correlation(preview.tiles(single.data, (24, 24))[0], images[3]) > 0.98


def test_the_device_choices_are_torchs_and_cpu_trains_and_predicts(
    open_dock, close_dock, qtbot, viewer
):
    from napari_nuclei_edges.gradients import available_devices

    dock = open_dock(DOCK)
    combo = dock._options_panel.controls["device"]
    assert [combo.itemText(i) for i in range(combo.count())] == available_devices()
    assert dock.options().device == "auto"  # a GPU when there is one
    assert combo.toolTip() == ClassifierOptions.help("device")
    _train(qtbot, dock, **{**TINY_CNN, "device": "cpu", "epochs": 2})
    assert dock.options().device == "cpu"
    assert dock.model.device.type == "cpu"
    dock.image_name = "metaphase"
    dock.predict()
    qtbot.waitUntil(lambda: "metaphase_stage" in viewer.layers, timeout=60_000)
    assert len(viewer.layers["metaphase_stage"].data) == 6
    close_dock(dock)
    again = open_dock(DOCK)  # remembered, like the other settings
    assert again.options().device == "cpu" and again.options().model == "cnn"
    close_dock(again)


def test_a_device_this_machine_lacks_is_not_offered_and_gets_a_sentence(open_dock):
    from napari_nuclei_edges.classification import fit_classifier
    from napari_nuclei_edges.gradients import available_devices

    dock = open_dock(DOCK)
    if "cuda" in available_devices():
        pytest.skip("this machine has a CUDA GPU: nothing is missing to refuse")
    dock.set_options(device="cuda")  # e.g. a model saved on a GPU machine, loaded here
    assert dock.options().device == "auto"
    data = {name: np.zeros((3, 16, 16)) + i for i, name in enumerate(CLASS_NAMES[:2])}
    with pytest.raises(ValueError, match="'cuda' is not available here"):
        next(fit_classifier(data, model="cnn", device="cuda"))


def test_steps_arriving_together_are_drawn_once_with_every_epoch(open_dock, qtbot, viewer):
    from napari_nuclei_edges.classification import fit_classifier

    dock = open_dock(DOCK)
    images = {name: viewer.layers[name].data for name in CLASS_NAMES}
    steps = list(fit_classifier(images, model="features", epochs=4, patience=0))
    dock.state.begin(list(images), [len(v) for v in images.values()])
    dock._images = images
    dock._confusion.set_classes(list(images))
    drawn = []
    dock._curves.curves["val_accuracy"].sigPlotChanged.connect(drawn.append)
    for step in steps:  # as fast as a feature model's epochs come
        dock._on_step(step)
    assert drawn == [] and dock._curves.series("val_accuracy") == []  # not yet: one frame later
    qtbot.waitUntil(lambda: len(drawn) >= 1, timeout=5_000)
    qtbot.wait(50)
    assert len(drawn) == 1  # one redraw for the four epochs
    assert dock._curves.series("val_accuracy") == [s.val_accuracy for s in steps]
    np.testing.assert_array_equal(dock._confusion.matrix, steps[-1].confusion)
    assert "Epoch 4/4" in said(dock)


def test_a_run_keeps_the_dock_still_and_the_axes_fixed(open_dock, close_dock, qtbot):
    """Each epoch redraws the curves, not the dock: nothing moves, the axes hold still.

    A dock that grows when training starts (a table filled, a sentence shown) or
    plots that re-range while painting redraw the whole window several times in
    a row; in software OpenGL that froze napari 70–180 ms an epoch.
    """
    dock = open_dock(DOCK)
    from qtpy.QtWidgets import QWidget

    content = dock.findChild(QWidget, "dock_content")
    qtbot.wait(50)
    before = {w.objectName() or type(w).__name__: w.geometry() for w in (
        dock._curves, dock._confusion, dock.results["train"], dock._progress_bar)}  # fmt: skip
    height = content.height()
    history = _train(qtbot, dock, epochs=4, patience=0)
    qtbot.wait(50)
    after = {w.objectName() or type(w).__name__: w.geometry() for w in (
        dock._curves, dock._confusion, dock.results["train"], dock._progress_bar)}  # fmt: skip
    assert after == before and content.height() == height
    assert "Epoch 4/4" in said(dock)
    for plot in (dock._curves.loss_plot, dock._curves.accuracy_plot):
        view = plot.getViewBox()
        assert view.state["autoRange"] == [False, False]
        low, high = view.viewRange()[0]
        assert low <= 1 and 4 <= high < 4.5  # the run's epochs across, from Start on
    low, high = dock._curves.accuracy_plot.getViewBox().viewRange()[1]
    assert low <= 0 and 1 <= high < 1.1
    top = dock._curves.loss_plot.getViewBox().viewRange()[1][1]
    assert max(max(s.loss, s.val_loss) for s in history) < top  # every loss in view
    dock.reset()  # the counts go, the table of stages stays
    assert dock._confusion.matrix is None and dock._confusion.rowCount() == 5
    assert {dock._confusion.item(r, c).text() for r in range(5) for c in range(5)} == {""}
    _train(qtbot, dock, epochs=2, patience=0)
    qtbot.wait(50)
    assert dock._confusion.geometry() == before["ConfusionView"]
    assert dock._confusion.verticalHeaderItem(0).text() == f"{CLASS_NAMES[0]} (true)"
    close_dock(dock)


def test_a_long_prediction_also_shows_napari_s_progress_and_closes_it(
    open_dock, close_dock, qtbot, viewer
):
    from napari.utils import progress

    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=2, patience=0)
    dock._napari_progress_timer.setInterval(0)  # "long" from the first turn on
    bars = []
    progress._all_instances.events.changed.connect(lambda e: bars.extend(e.added))
    big = np.concatenate([viewer.layers[name].data for name in CLASS_NAMES] * 40)
    viewer.add_image(big, name="many")
    dock.image_name = "many"
    dock.predict()
    qtbot.waitUntil(lambda: len(bars) > 0, timeout=60_000)
    assert bars[0].total == len(big) and "many" in bars[0].desc
    qtbot.waitUntil(lambda: "many_stage" in viewer.layers, timeout=120_000)
    qtbot.waitUntil(lambda: viewer.layers["many_stage"].visible, timeout=5_000)
    assert len(viewer.layers["many_stage"].data) == len(big)
    assert bars[0].n == len(big) and bars[0] not in progress._all_instances  # closed
    close_dock(dock)


def test_reset_during_a_run_forgets_it_and_the_dock_can_start_again(open_dock, close_dock, qtbot):
    dock = open_dock(DOCK)
    dock.set_options(**{**TINY_CNN, "epochs": 40, "patience": 0})
    old = dock.start()
    qtbot.waitUntil(lambda: len(dock.history) >= 1, timeout=60_000)
    dock._reset_button.click()
    assert not dock.is_running and dock.history == [] and dock.model is None
    qtbot.waitUntil(lambda: not old.is_running, timeout=60_000)
    qtbot.wait(100)  # whatever the old run still sent has arrived, and was dropped
    assert dock.history == [] and dock.model is None
    assert dock._start_button.isEnabled() and not dock._stop_button.isEnabled()
    assert dock._progress_bar.text() == "" and not dock._curves.chance_line.isVisible()
    assert {dock._confusion.item(r, c).text() for r in range(5) for c in range(5)} == {""}
    history = _train(qtbot, dock, epochs=2, patience=0)  # Start works again
    assert [s.epoch for s in history] == [1, 2]
    close_dock(dock)


def _listed(dock) -> dict[str, bool]:
    """The class list as the user reads it: each name, and whether it is ticked."""
    items = (dock._class_list.item(i) for i in range(dock._class_list.count()))
    return {item.text(): item.checkState() == Qt.CheckState.Checked for item in items}


def test_the_class_list_follows_renamed_and_removed_layers(open_dock, qtbot, viewer):
    dock = open_dock(DOCK)
    dock.image_name = "anaphase"
    viewer.layers["metaphase"].name = "metaphase (day 2)"
    viewer.layers["anaphase"].name = "late"
    listed = _listed(dock)
    assert "metaphase" not in listed and "anaphase" not in listed
    assert listed["metaphase (day 2)"] and listed["late"]  # still ticked, under the new name
    assert list(listed) == [layer.name for layer in viewer.layers if layer.name in listed]
    assert dock.image_name == "late"
    history = _train(qtbot, dock, **{**TINY_CNN, "epochs": 2})  # with the renamed layers
    assert [s.epoch for s in history] == [1, 2]
    assert "metaphase (day 2)" in dock.model.class_names
    dock.predict()
    qtbot.waitUntil(lambda: "late_stage" in viewer.layers, timeout=60_000)

    # renamed after training: the model's classes stay as trained; the run's layers
    # (its misclassified images) and the outputs follow the layer
    viewer.layers["late"].name = "anaphase B"
    assert "late" in dock.model.class_names and "anaphase B" in dock.state.layer_names
    assert "anaphase B_stage" in viewer.layers and "late_stage" not in viewer.layers
    assert _listed(dock)["anaphase B"] and dock.image_name == "anaphase B"
    dock._on_thumbnail_chosen("anaphase B", 1)
    assert viewer.layers.selection.active.name == "anaphase B"
    thumbnails = [dock._thumbnails.item(i) for i in range(dock._thumbnails.count())]
    assert thumbnails  # this run's validation images include wrong ones, and
    for item in thumbnails:  # each one jumps to its layer, under its new name
        dock._thumbnails.itemClicked.emit(item)
        assert viewer.layers.selection.active.name in dock.state.layer_names
        assert "no longer a layer" not in said(dock, "inside")

    before = {where: label.text() for where, label in dock.results.items()}
    viewer.layers.remove("apoptosis")
    assert "apoptosis" not in _listed(dock) and "apoptosis" not in dock.class_layers
    assert {where: label.text() for where, label in dock.results.items()} == before
    assert len(dock.class_layers) == 4
    assert _train(qtbot, dock, epochs=1, patience=0)  # the four left


def test_a_new_model_marks_the_old_predictions_and_closing_the_dock_keeps_the_model(
    open_dock, close_dock, qtbot, viewer
):
    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=2, patience=0)
    dock.image_name = "metaphase"
    dock.predict()
    qtbot.waitUntil(lambda: "metaphase_stage" in viewer.layers, timeout=60_000)
    points = viewer.layers["metaphase_stage"]
    assert not any("old model" in text for text in points.text.values)

    dock.set_options(epochs=40, patience=0)
    dock._start_button.click()  # a new model: the labels say they are the old one's
    assert all(text.startswith("old model: ") for text in points.text.values)
    assert points.opacity < 1
    assert "metaphase_stage: the previous model's, until Predict" in said(dock)
    qtbot.waitUntil(lambda: not dock.is_running, timeout=120_000)
    dock.predict()
    qtbot.waitUntil(lambda: not dock._task_progress.running, timeout=60_000)
    assert viewer.layers["metaphase_stage"] is points  # updated in place
    assert not any("old model" in text for text in points.text.values)
    assert points.opacity == 1

    model, history = dock.model, list(dock.history)
    close_dock(dock)  # the ×: the model stays for the session
    again = open_dock(DOCK)
    assert again is not dock
    assert again.model is model and again.history == history
    assert "The model from before Classify was closed is kept" in said(again)
    assert "Save model…" in said(again)
    assert again._curves.series("val_accuracy") == [s.val_accuracy for s in history]
    np.testing.assert_array_equal(again._confusion.matrix, history[-1].confusion)
    assert again._predict_button.isEnabled() and again.files.save_button.isEnabled()
    again.image_name = "anaphase"
    again.predict()
    qtbot.waitUntil(lambda: "anaphase_stage" in viewer.layers, timeout=60_000)
    again.reset()  # forgotten by the user: the next dock starts empty
    close_dock(again)
    third = open_dock(DOCK)
    assert third.model is None and said(third) == "Tick one image layer per stage, then Start."
    close_dock(third)


def test_saliency_of_a_long_stack_is_drawn_for_each_image_as_it_is_shown(
    open_dock, qtbot, viewer, monkeypatch
):
    from napari_nuclei_edges._qt.classify import actions

    monkeypatch.setattr(actions, "SALIENCY_WHOLE_LAYER", 4)  # "long": more than 4 images
    dock = open_dock(DOCK)
    _train(qtbot, dock, **TINY_CNN)
    many = np.concatenate([viewer.layers[name].data[:2] for name in CLASS_NAMES])
    viewer.add_image(many, name="many")
    dock.image_name = "many"
    viewer.dims.set_current_step(0, 7)
    dock._saliency_button.click()
    qtbot.waitUntil(lambda: "many_saliency" in viewer.layers, timeout=60_000)
    maps = viewer.layers["many_saliency"].data
    assert not isinstance(maps, np.ndarray) and maps.shape == many.shape  # lazy
    assert "for image 7 of many, and each other one as it is shown" in said(dock, "apply")
    expected = dock.model.saliency(many)
    for step in (7, 0, 9):  # never blank beside another image
        shown = np.asarray(maps[step])
        assert shown.max() > 0
        np.testing.assert_allclose(shown, expected[step], rtol=1e-4, atol=1e-6)


def test_a_mask_opened_as_an_image_is_not_ticked_as_a_stage(make_napari_viewer):
    rng = np.random.default_rng(0)
    viewer = make_napari_viewer()
    viewer.add_image(rng.integers(0, 255, (4, 32, 32), dtype=np.uint8), name="early")
    viewer.add_image(rng.integers(0, 255, (4, 32, 32), dtype=np.uint8), name="late")
    mask = np.zeros((4, 32, 32), np.uint8)
    mask[:, 8:20, 8:20] = 255
    viewer.add_image(mask, name="early mask")
    _, widget = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", "Classify the stage")
    assert widget.class_layers == ["early", "late"]


def test_predict_on_a_field_classifies_every_nucleus(viewer, open_dock, qtbot):
    """A user's field of 120 nuclei, never classified as one nucleus."""
    from napari_nuclei_edges.classification import classify_nuclei
    from napari_nuclei_edges.data import synthetic_field

    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=5, patience=0)
    image, _ = synthetic_field()
    viewer.add_image(image, name="field")
    dock.image_name = "field"
    dock._predict_button.click()
    qtbot.waitUntil(lambda: "field_stage" in viewer.layers and dock._task_progress.isHidden(),
                    timeout=60_000)  # fmt: skip
    qtbot.waitUntil(lambda: "each classified" in said(dock, "apply"), timeout=10_000)
    points = viewer.layers["field_stage"]
    expected = classify_nuclei(dock.model, image)
    assert len(points.data) == len(expected["stage"]) >= 100  # one point per nucleus
    np.testing.assert_allclose(points.data[:, -2:], np.column_stack(
        [expected["centroid_y"], expected["centroid_x"]]))  # fmt: skip
    assert list(points.features["stage"]) == list(expected["stage"])
    assert not np.asarray(points.text.values).any()  # no label per point: no smear
    # a 12-bit field, the model trained on 8-bit crops: the dock says its stages are guesses
    assert "× brighter than those the model learned from" in said(dock, "apply")
    assert (f"field_stage: {len(expected['stage'])} nuclei (found by segment_nuclei), each "
            "classified in a 80 × 80 crop") in (
        said(dock, "apply"))  # fmt: skip


def test_predict_on_a_field_reads_the_nuclei_of_a_labels_layer(viewer, open_dock, qtbot):
    """The network's segmentation (or Apply's labels) gives a field's nuclei when there is one."""
    from napari_nuclei_edges.classification import classify_nuclei
    from napari_nuclei_edges.data import synthetic_field

    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=3, patience=0)
    image, truth = synthetic_field(size=256, n_nuclei=30, seed=2)
    viewer.add_image(image, name="field")
    dock.image_name = "field"
    assert dock.apply.nuclei_combo.currentText() == "find them (segment_nuclei)"
    viewer.add_labels(truth, name="field_segmentation")  # as Learn a segmentation makes it
    assert dock.apply.nuclei_layer == "field_segmentation"  # offered, and chosen
    dock._predict_button.click()
    qtbot.waitUntil(lambda: "(from field_segmentation)" in said(dock, "apply"), timeout=60_000)
    points = viewer.layers["field_stage"]
    assert len(points.data) == int(truth.max())  # one point per nucleus of that layer
    expected = classify_nuclei(dock.model, image, truth)
    assert list(points.features["stage"]) == list(expected["stage"])


def test_predict_on_the_same_crops_stored_as_16_bit_says_the_range_differs(viewer, open_dock,
                                                                          qtbot):  # fmt: skip
    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=3, patience=0)
    viewer.add_image(viewer.layers["metaphase"].data.astype(np.uint16) * 257, name="wide")
    dock.image_name = "wide"
    dock.predict()
    qtbot.waitUntil(lambda: said(dock, "apply").startswith("wide_stage:"), timeout=60_000)
    assert "These images (uint16, 1st–99th percentile " in said(
        dock, "apply"
    ) and "are not in the range the model learned from (uint8, " in said(dock, "apply")
    dock.image_name = "metaphase"  # the training range: nothing said
    dock.predict()
    qtbot.waitUntil(lambda: said(dock, "apply").startswith("metaphase_stage:"), timeout=60_000)
    assert "range the model learned from" not in said(dock, "apply")


def test_while_cross_validating_start_and_predict_wait(open_dock, qtbot):
    dock = open_dock(DOCK)
    _train(qtbot, dock, epochs=2, patience=0)
    assert dock._predict_button.isEnabled()
    dock._cv_button.click()
    # from the click on, before the worker's thread has even started
    assert not dock._start_button.isEnabled() and not dock._cv_button.isEnabled()
    assert not dock._predict_button.isEnabled()
    qtbot.waitUntil(lambda: dock._cv_button.isEnabled(), timeout=120_000)
    assert dock._start_button.isEnabled() and dock._predict_button.isEnabled()
