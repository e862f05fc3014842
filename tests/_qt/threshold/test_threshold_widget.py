import numpy as np
import pytest

from napari_nuclei_edges._qt.threshold_widget import HistogramThresholdWidget
from napari_nuclei_edges.data import CLASS_NAMES
from napari_nuclei_edges.intensity import THRESHOLD_METHODS, auto_threshold


@pytest.fixture
def widget(open_dock):
    w = open_dock("Histograms and threshold")
    assert isinstance(w, HistogramThresholdWidget)
    return w


def _mask(viewer, name):
    return viewer.layers[f"{name}_mask"]


def _wait_preview(qtbot, viewer, expected):
    def done():
        for name, mask in expected.items():
            assert f"{name}_mask" in viewer.layers
            np.testing.assert_array_equal(_mask(viewer, name).data, mask)

    qtbot.waitUntil(done, timeout=3000)


def test_histograms_of_all_image_layers(viewer, widget):
    assert [layer.name for layer in widget.selected_layers] == list(CLASS_NAMES)
    assert list(widget._curves) == list(CLASS_NAMES)
    for name, curve in widget._curves.items():
        x, y = curve.getData()
        counts = np.bincount(viewer.layers[name].data.ravel(), minlength=256)
        low = int(np.min([viewer.layers[n].data.min() for n in CLASS_NAMES]))
        np.testing.assert_array_equal(y, counts[low : low + len(y)])
        assert len(x) == len(y) + 1  # step mode: edges
    assert widget._stats_table.rowCount() == 5
    mean = float(widget._stats_table.item(2, 1).text())
    assert mean == pytest.approx(viewer.layers["metaphase"].data.mean(), rel=1e-3)
    assert "AUC" in widget._separability_label.text()


def test_threshold_property_moves_line_and_updates_previews(viewer, widget, qtbot):
    widget.threshold = 80.0
    assert widget._threshold_line.value() == 80.0
    expected = {n: (viewer.layers[n].data > 80).astype(np.uint8) for n in CLASS_NAMES}
    _wait_preview(qtbot, viewer, expected)
    meta = _mask(viewer, "metaphase").metadata["napari_nuclei_edges"]
    assert meta["threshold"] == 80.0 and meta["rule"] == "x > threshold"
    first = _mask(viewer, "metaphase")
    widget.threshold = 120.0
    expected = {n: (viewer.layers[n].data > 120).astype(np.uint8) for n in CLASS_NAMES}
    _wait_preview(qtbot, viewer, expected)
    assert _mask(viewer, "metaphase") is first  # updated in place, not replaced
    # the truth layers were never touched
    assert all(
        viewer.layers[f"{n}_truth"].metadata.get("napari_nuclei_edges") is None
        for n in CLASS_NAMES
    )


def test_dragging_the_line_sets_the_threshold(viewer, widget, qtbot):
    widget._threshold_line.setValue(100.0)  # what a drag does
    assert widget.threshold == 100.0
    _wait_preview(
        qtbot, viewer, {"anaphase": (viewer.layers["anaphase"].data > 100).astype(np.uint8)}
    )


def test_method_computes_and_applies(viewer, widget, qtbot):
    widget.method = "li"
    pooled = {n: viewer.layers[n].data for n in CLASS_NAMES}
    assert widget.threshold == pytest.approx(auto_threshold(pooled, "li"), abs=0.01)
    assert widget._method_line.isVisible()
    assert widget._method_line.value() == pytest.approx(auto_threshold(pooled, "li"))
    widget.threshold = widget.threshold + 5  # a hand-set value is no method's
    assert widget.method == "manual"


def test_try_all_methods_and_pick_one(viewer, widget, qtbot):
    widget._try_all_button.click()
    table = widget._methods_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == list(THRESHOLD_METHODS)
    pooled = {n: viewer.layers[n].data for n in CLASS_NAMES}
    yen = float(table.item(THRESHOLD_METHODS.index("yen"), 1).text())
    assert yen == pytest.approx(auto_threshold(pooled, "yen"), rel=1e-3)
    widget._on_method_row_clicked(THRESHOLD_METHODS.index("yen"), 0)
    assert widget.method == "yen" and widget.threshold == pytest.approx(yen, rel=1e-3)


def test_polarity_and_band(viewer, widget, qtbot):
    widget.threshold = 60
    widget._polarity_combo.setCurrentText("dark")
    data = viewer.layers["interphase"].data
    _wait_preview(qtbot, viewer, {"interphase": (data <= 60).astype(np.uint8)})
    widget._polarity_combo.setCurrentText("bright")
    widget._band_check.setChecked(True)
    widget._upper_spin.setValue(150)
    _wait_preview(qtbot, viewer, {"interphase": ((data > 60) & (data <= 150)).astype(np.uint8)})


def test_layer_selection_limits_previews(viewer, widget, qtbot):
    widget.select_layers(["metaphase"])
    assert [layer.name for layer in widget.selected_layers] == ["metaphase"]
    assert list(widget._curves) == ["metaphase"]
    widget.threshold = 90
    _wait_preview(
        qtbot, viewer, {"metaphase": (viewer.layers["metaphase"].data > 90).astype(np.uint8)}
    )
    assert "interphase_mask" not in viewer.layers


def test_apply_segments_and_scores_against_truth(viewer, widget, qtbot):
    panel = widget._segmentation_panel
    panel.set_options(rule="per_image", sigma=1.0)
    assert not panel.scores_table.isVisibleTo(widget)  # nothing scored yet
    panel.apply_button.click()
    worker = widget._worker
    # while it runs: Apply cannot start a second run, the dock shows progress and a Stop
    assert not panel.apply_button.isEnabled()
    assert panel.progress.isVisibleTo(widget) and panel.progress.progress_bar.maximum() == 5
    assert widget.apply() is worker
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=5000)
    assert not panel.progress.isVisibleTo(widget)
    assert panel.scores_table.isVisibleTo(widget)
    qtbot.waitUntil(lambda: widget._segmentation_panel.scores_table.rowCount() == 5, timeout=5000)
    for name in CLASS_NAMES:
        labels = viewer.layers[f"{name}_labels"]
        assert labels.data.dtype == np.int32 and labels.data.shape == (6, 80, 80)
        meta = labels.metadata["napari_nuclei_edges"]
        assert meta["rule"] == "per_image" and len(meta["thresholds"]) == 6
    dice = [float(widget._segmentation_panel.scores_table.item(r, 0).text()) for r in range(5)]
    assert min(dice) > 0.8


def test_stop_keeps_the_labels_already_made(viewer, widget, qtbot, monkeypatch):
    import threading

    from napari_nuclei_edges import segmentation

    segment, release = segmentation.segment_nuclei, threading.Event()

    def second_waits(*args, **kwargs):  # the worker is held in the second layer
        if second_waits.calls:
            release.wait(10)
        second_waits.calls += 1
        return segment(*args, **kwargs)

    second_waits.calls = 0
    monkeypatch.setattr(segmentation, "segment_nuclei", second_waits)
    panel = widget._segmentation_panel
    panel.apply_button.click()
    worker = widget._worker
    qtbot.waitUntil(lambda: f"{CLASS_NAMES[0]}_labels" in viewer.layers, timeout=10_000)
    with qtbot.waitSignal(worker.finished, timeout=20000):
        panel.progress.stop_button.click()
        release.set()
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=5000)
    made = [name for name in CLASS_NAMES if f"{name}_labels" in viewer.layers]
    assert len(made) < len(CLASS_NAMES)
    assert "Segmentation stopped" in widget._status_label.text()


def test_never_overwrites_a_user_layer(viewer, widget, qtbot):
    user = viewer.add_labels(np.full((6, 80, 80), 7, np.uint8), name="metaphase_mask")
    widget.threshold = 70
    data = viewer.layers["metaphase"].data

    def plugin_layer_made():
        owned = [
            layer
            for layer in viewer.layers
            if layer.metadata.get("napari_nuclei_edges", {}).get("source") == "metaphase"
        ]
        assert owned and owned[0] is not user
        np.testing.assert_array_equal(owned[0].data, (data > 70).astype(np.uint8))

    qtbot.waitUntil(plugin_layer_made, timeout=3000)
    assert np.all(user.data == 7)


def test_bad_layers_get_a_sentence(viewer, widget, qtbot):
    viewer.add_image(np.zeros((10, 10, 3), np.uint8), name="photo", rgb=True)
    viewer.add_image(np.full((2, 8, 8), 5.0), name="flat")
    assert "photo" in [
        widget._layer_list.item(i).text() for i in range(widget._layer_list.count())
    ]
    widget.select_layers(["photo"])
    assert "RGB" in widget._status_label.text()
    widget.threshold = 10
    qtbot.waitUntil(lambda: not widget._preview_timer.isActive(), timeout=3000)
    assert "photo_mask" not in viewer.layers
    widget.select_layers(["flat"])
    widget.method = "otsu"
    assert "constant" in widget._status_label.text()


def test_float_uint16_and_nan_ranges_follow_the_data(viewer, widget, qtbot):
    image = np.linspace(-2.0, 3.0, 400).reshape(20, 20)
    image[5, 5] = np.nan
    viewer.add_image(image, name="float")
    widget.select_layers(["float"])
    assert widget._threshold_spin.minimum() == pytest.approx(-2.0)
    assert widget._threshold_spin.maximum() == pytest.approx(3.0)
    widget.threshold = 0.5
    _wait_preview(qtbot, viewer, {"float": (np.nan_to_num(image, nan=-9) > 0.5).astype(np.uint8)})
    viewer.add_image(np.array([[0, 40000], [1000, 65535]], np.uint16)[None], name="u16")
    widget.select_layers(["u16"])
    assert widget._threshold_spin.maximum() == 65535


def test_four_d_stack_and_layer_removal(viewer, widget, qtbot):
    stack = np.random.default_rng(0).integers(0, 255, (2, 3, 16, 16), dtype=np.uint8)
    viewer.add_image(stack, name="4d")
    widget.select_layers(["4d"])
    widget.threshold = 128
    _wait_preview(qtbot, viewer, {"4d": (stack > 128).astype(np.uint8)})
    viewer.layers.remove("4d")
    assert "4d" not in [
        widget._layer_list.item(i).text() for i in range(widget._layer_list.count())
    ]
    mask = viewer.layers["4d_mask"].data.copy()
    widget.threshold = 100  # no selected layer left: nothing happens, nothing fails
    qtbot.waitUntil(lambda: not widget._preview_timer.isActive(), timeout=3000)
    assert widget.threshold == 100
    np.testing.assert_array_equal(viewer.layers["4d_mask"].data, mask)  # its source is gone


def test_dask_layer_stays_lazy(viewer, widget, qtbot):
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(
        np.random.default_rng(1).integers(0, 255, (40, 16, 16), dtype=np.uint8), chunks=(1, 16, 16)
    )
    viewer.add_image(lazy, name="lazy")
    widget.select_layers(["lazy"])
    assert "sample of 16 of 40" in widget._status_label.text()
    widget.threshold = 100
    qtbot.waitUntil(lambda: "lazy_mask" in viewer.layers, timeout=3000)
    mask = viewer.layers["lazy_mask"].data
    assert isinstance(mask, da.Array)
    np.testing.assert_array_equal(
        np.asarray(mask[3]), (np.asarray(lazy[3]) > 100).astype(np.uint8)
    )
    # asked for, every image is read, a block at a time, in a worker
    assert not widget._exact_button.isHidden()
    widget._exact_button.click()
    qtbot.waitUntil(lambda: "Exact histograms" in widget._status_label.text(), timeout=10_000)
    from napari_nuclei_edges.intensity import class_histograms

    exact = class_histograms({"lazy": np.asarray(lazy)})
    np.testing.assert_array_equal(widget._histograms.counts["lazy"], exact.counts["lazy"])
    assert widget._histograms.statistics["lazy"].count == 40 * 16 * 16


def test_settings_are_remembered(viewer, open_dock, close_dock):
    first = open_dock("Histograms and threshold")
    first._log_check.setChecked(True)
    first.method = "yen"
    first._segmentation_panel.set_options(min_size=33)
    close_dock(first)
    second = open_dock("Histograms and threshold")
    assert second is not first
    assert second._log_check.isChecked()
    assert second.method == "yen"
    assert second._segmentation_panel.options()["min_size"] == 33


def test_closed_widget_lets_go_of_the_viewer(viewer, widget, qtbot, close_dock):
    close_dock(widget)
    viewer.add_image(np.zeros((4, 4)), name="after")  # no handler of the closed widget runs
    assert widget._layer_list.count() == 5


def test_a_burst_of_thresholds_is_coalesced(viewer, widget, qtbot, monkeypatch):
    widget.threshold = 10  # served at once
    calls = []
    original = widget._update_preview

    def counting():
        calls.append(widget.threshold)
        original()

    monkeypatch.setattr(widget, "_update_preview", counting)
    widget._preview_timer.timeout.disconnect()
    widget._preview_timer.timeout.connect(counting)
    # 20 requests inside one frame: the clock stands still, as on a fast machine, so a
    # loaded CI runner serving each request slowly cannot turn the burst into a queue
    import napari_nuclei_edges._qt.threshold.widget as module

    now = module.time.perf_counter()
    with monkeypatch.context() as frozen:
        frozen.setattr(module.time, "perf_counter", lambda: now)
        for value in range(20, 120, 5):
            widget.threshold = value
    data = viewer.layers["metaphase"].data
    _wait_preview(qtbot, viewer, {"metaphase": (data > 115).astype(np.uint8)})
    assert calls[-1] == 115  # the latest value wins
    assert len(calls) < 10  # stale values were dropped, not queued


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, bool, np.float32])
def test_threshold_mask_is_exactly_greater_than(dtype):
    from napari_nuclei_edges.segmentation import threshold_mask

    x = (np.random.default_rng(0).normal(size=(40, 40)) * 300).astype(dtype)
    for t in (-70000, -3.5, -1, 0, 0.5, 2.999, 100.2, 70000):
        np.testing.assert_array_equal(threshold_mask(x, t, None, "bright"), x > t)
        np.testing.assert_array_equal(
            threshold_mask(x, t, 150.7, "bright"), (x > t) & (x <= 150.7)
        )
        np.testing.assert_array_equal(threshold_mask(x, t, None, "dark"), ~(x > t))


def test_renaming_a_source_renames_its_outputs(viewer, widget, qtbot):
    widget.threshold = 90
    qtbot.waitUntil(lambda: "metaphase_mask" in viewer.layers, timeout=3000)
    mask = viewer.layers["metaphase_mask"]
    viewer.layers["metaphase"].name = "plate"
    assert mask.name == "plate_mask"
    assert mask.metadata["napari_nuclei_edges"]["source"] == "plate"
    widget.threshold = 120
    _wait_preview(qtbot, viewer, {"plate": (viewer.layers["plate"].data > 120).astype(np.uint8)})
    assert viewer.layers["plate_mask"] is mask  # still the same layer, not a new one


def test_opening_computes_the_method_but_makes_no_layer(viewer, widget, qtbot):
    pooled = {n: viewer.layers[n].data for n in CLASS_NAMES}
    assert widget.method == "otsu"  # the default
    assert widget.threshold == pytest.approx(auto_threshold(pooled, "otsu"))
    assert not any(layer.name.endswith("_mask") for layer in viewer.layers)
    widget.select_layers(["metaphase"])  # the method's threshold follows the selection
    assert widget.threshold == pytest.approx(auto_threshold(viewer.layers["metaphase"].data))


def test_plugin_outputs_start_unselected_and_adding_layers_makes_no_preview(viewer, widget):
    from napari_nuclei_edges._qt.common.outputs import output_metadata

    viewer.add_image(
        np.zeros((6, 80, 80), np.float32),
        name="metaphase_sobel_gx",
        metadata=output_metadata("metaphase", "sobel_gx", {}),
    )
    listed = [widget._layer_list.item(i).text() for i in range(widget._layer_list.count())]
    assert "metaphase_sobel_gx" in listed  # offered, for thresholding edges on purpose
    assert "metaphase_sobel_gx" not in [layer.name for layer in widget.selected_layers]
    viewer.add_image(
        np.random.default_rng(0).integers(0, 255, (6, 80, 80), dtype=np.uint8), name="new"
    )
    assert "new" in [layer.name for layer in widget.selected_layers]
    assert not any(layer.name.endswith("_mask") for layer in viewer.layers)


def test_the_plot_follows_napari_theme(viewer, widget, close_dock):
    from napari.utils.theme import get_theme

    def background():
        return widget._plot.backgroundBrush().color().name()

    assert background() == get_theme(viewer.theme).background.as_hex()
    viewer.theme = "light" if viewer.theme != "light" else "dark"
    assert background() == get_theme(viewer.theme).background.as_hex()
    axis = widget._plot.getPlotItem().getAxis("bottom")
    assert axis.textPen().color().name() == get_theme(viewer.theme).text.as_hex()
    close_dock(widget)  # a closed dock no longer follows
    viewer.theme = "dark" if viewer.theme == "light" else "light"
    assert background() != get_theme(viewer.theme).background.as_hex()


def test_controls_show_the_state_when_the_dock_opens(viewer, widget):
    # restored values equal to the defaults emit no event: the controls must show them
    assert widget._preview_check.isChecked() == widget.state.preview
    assert widget._method_combo.currentText() == widget.state.method == "otsu"
    assert widget._threshold_spin.value() == pytest.approx(widget.state.threshold)
    assert widget._threshold_line.label.toPlainText() == f"t={widget.state.threshold:.1f}"
    widget.threshold = 90
    assert widget._threshold_line.label.toPlainText() == "t=90.0"
