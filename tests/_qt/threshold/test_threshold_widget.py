import numpy as np
import pytest

from napari_nuclei_edges._qt.threshold_widget import HistogramThresholdWidget
from napari_nuclei_edges.data import CLASS_NAMES
from napari_nuclei_edges.intensity import DISPLAY_BINS, THRESHOLD_METHODS, auto_threshold


@pytest.fixture
def opened(open_dock):
    """The dock as it opens from the Plugins menu."""
    w = open_dock("Histograms and threshold")
    assert isinstance(w, HistogramThresholdWidget)
    return w


@pytest.fixture
def widget(opened):
    """The dock with its live preview switched on, as a user does first."""
    opened._preview_check.click()
    assert opened.state.preview
    return opened


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
    low = int(np.min([viewer.layers[n].data.min() for n in CLASS_NAMES]))
    high = int(np.max([viewer.layers[n].data.max() for n in CLASS_NAMES]))
    width = -(-(high - low + 1) // DISPLAY_BINS)  # whole values per drawn bin: a shape, not a comb
    for name, curve in widget._curves.items():
        x, y = curve.getData()
        data = viewer.layers[name].data
        assert len(x) == len(y) + 1 and len(y) <= DISPLAY_BINS  # step mode: edges
        assert np.diff(x)[0] == width and x[0] == low - 0.5
        assert y.sum() == data.size
        assert y[0] == np.count_nonzero(data < low + width)
    assert widget._stats_table.rowCount() == 5
    mean = float(widget._stats_table.item(2, 0).text().split(" ± ")[0])
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
    _try_all(widget, qtbot)
    table = widget._methods_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == list(THRESHOLD_METHODS)
    pooled = {n: viewer.layers[n].data for n in CLASS_NAMES}
    yen = float(table.item(THRESHOLD_METHODS.index("yen"), 1).text())
    assert yen == pytest.approx(auto_threshold(pooled, "yen"), rel=1e-3)
    _click_cell(qtbot, table, THRESHOLD_METHODS.index("yen"), 0)
    assert widget.method == "yen" and widget.threshold == pytest.approx(yen, rel=1e-3)


def _try_all(widget, qtbot):
    """Click *Try all methods*: it works in a worker, the button waits for it."""
    widget._try_all_button.click()
    assert not widget._try_all_button.isEnabled()
    qtbot.waitUntil(widget._try_all_button.isEnabled, timeout=60_000)


def _click_cell(qtbot, table, row, column):
    from qtpy.QtCore import Qt

    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_polarity_and_band(viewer, widget, qtbot):
    widget.threshold = 60
    widget._polarity_combo.setCurrentText("dark")
    data = viewer.layers["interphase"].data
    _wait_preview(qtbot, viewer, {"interphase": (data <= 60).astype(np.uint8)})
    widget._polarity_combo.setCurrentText("bright")
    widget._band_check.setChecked(True)
    widget._upper_spin.setValue(150)
    _wait_preview(qtbot, viewer, {"interphase": ((data > 60) & (data <= 150)).astype(np.uint8)})


def test_layer_selection_limits_previews(viewer, opened, qtbot):
    widget = opened
    widget.select_layers(["metaphase"])
    widget._preview_check.click()
    assert [layer.name for layer in widget.selected_layers] == ["metaphase"]
    assert list(widget._curves) == ["metaphase"]
    widget.threshold = 90
    _wait_preview(
        qtbot, viewer, {"metaphase": (viewer.layers["metaphase"].data > 90).astype(np.uint8)}
    )
    assert "interphase_mask" not in viewer.layers


def test_apply_segments_and_scores_against_truth(viewer, widget, qtbot):
    panel = widget._segmentation_panel
    panel.set_options(sigma=1.0)
    panel.rule_combo.setCurrentText("per image")
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
        assert meta["rule"] == "per image" and len(meta["thresholds"]) == 6
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
    # the % above is exact from the pixels (floats have no unit bins), NaN not counted
    finite = image[np.isfinite(image)]
    assert f"float <b>{100 * np.mean(finite > 0.5):.1f}%</b>" in widget._above_label.text()
    viewer.add_image(np.array([[0, 40000], [1000, 65535]], np.uint16)[None], name="u16")
    widget.select_layers(["u16"])
    assert widget._threshold_spin.maximum() == 65535.5  # the top value's bin edge


@pytest.mark.parametrize("kind", ["12-bit", "full uint16", "int16"])
def test_sixteen_bit_layers_threshold_exactly_like_scikit_image(viewer, widget, qtbot, kind):
    import skimage.filters
    from skimage.data import camera

    c = camera()[::4, ::4]
    image = {"12-bit": c.astype(np.uint16) * 16 + 3, "full uint16": c.astype(np.uint16) * 257,
             "int16": (c.astype(np.int16) - 128) * 100}[kind]  # fmt: skip
    viewer.add_image(image, name="scope")
    widget.select_layers(["scope"])
    # the range moved far from the last threshold: the method still rules, exactly
    assert widget.method == "otsu"
    assert widget.threshold == float(skimage.filters.threshold_otsu(image))
    widget.method = "yen"
    expected = float(skimage.filters.threshold_yen(image))
    assert widget.threshold == expected  # the box, the line and the mask: one number
    assert widget._threshold_line.value() == expected
    _wait_preview(qtbot, viewer, {"scope": (image > expected).astype(np.uint8)})
    share = f"scope <b>{100 * np.mean(image > expected):.1f}%</b>"
    assert share in widget._above_label.text()
    _, y = widget._curves["scope"].getData()
    assert len(y) <= DISPLAY_BINS and y.sum() == image.size  # drawn coarser, counted exactly


def test_a_hand_set_threshold_is_the_one_apply_uses(viewer, widget, qtbot):
    from napari_nuclei_edges.segmentation import segment_nuclei

    panel = widget._segmentation_panel
    assert widget.method == "otsu" and panel.rule_combo.currentText() == "per image"
    assert "otsu on each image on its own" in panel.plan_label.text()
    widget._threshold_line.setValue(120.0)  # a drag
    assert widget.method == "manual"
    assert panel.rule_combo.currentText() == "as set"
    per_image = panel.rule_combo.model().item(1)
    assert per_image.text() == "per image" and not per_image.isEnabled()
    assert panel.plan_label.text() == (
        "Apply uses t = 120 (as set) on every image, after smoothing σ = 1."
    )
    worker = widget.apply()
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=5000)
    data = viewer.layers["metaphase"].data
    labels = viewer.layers["metaphase_labels"]
    meta = labels.metadata["napari_nuclei_edges"]
    assert meta["rule"] == "as set" and meta["thresholds"] == [120.0] * 6
    expected = segment_nuclei(data, threshold=120, sigma=1.0)  # the defaults, as the dock
    np.testing.assert_array_equal(labels.data, expected)
    assert "metaphase_labels: t = 120 on every image (as set)." in panel.used_label.text()
    assert panel.used_label.isVisibleTo(widget)


def test_the_preview_switch_agrees_with_the_canvas(viewer, opened, open_dock, close_dock, qtbot):
    assert not opened._preview_check.isChecked()
    assert not any(layer.name.endswith("_mask") for layer in viewer.layers)
    opened._preview_check.click()  # ticking it shows previews at once, nothing to move
    qtbot.waitUntil(lambda: "metaphase_mask" in viewer.layers, timeout=3000)
    close_dock(opened)
    again = open_dock("Histograms and threshold")
    assert again._preview_check.isChecked()  # the masks are there: the switch says so


def _fits(table):
    """Every row and column of ``table`` is on screen: no scroll bar, nothing cut."""
    columns = sum(table.columnWidth(c) for c in range(table.columnCount()))
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    return (table.viewport().width() >= columns and table.viewport().height() >= rows
            and not table.horizontalScrollBar().isVisible()
            and not table.verticalScrollBar().isVisible())  # fmt: skip


def test_every_number_is_visible_at_the_docks_natural_width(viewer, widget, qtbot):
    from qtpy.QtWidgets import QFormLayout, QLabel

    dock = widget.parentWidget()
    dock.resize(widget.sizeHint().width(), dock.height())
    widget._statistics_section.expand(animate=False)
    panel = widget._segmentation_panel
    panel.options_section.expand(animate=False)
    _try_all(widget, qtbot)
    worker = widget.apply()
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(lambda: panel.scores_table.rowCount() == 5, timeout=5000)
    qtbot.wait(50)
    assert widget._stats_table.columnCount() == 3 and _fits(widget._stats_table)
    assert widget._methods_table.rowCount() == len(THRESHOLD_METHODS)
    assert _fits(widget._methods_table)
    assert panel.scores_table.columnCount() == 8 and _fits(panel.scores_table)
    assert panel.summary_label.text().startswith("Mean Dice")
    form = panel.findChild(QFormLayout)
    for row in range(form.rowCount()):
        for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole):
            item = form.itemAt(row, role)
            field = item.widget() if item is not None else None
            if field is not None and field.isVisibleTo(widget):
                assert field.width() >= field.sizeHint().width(), field  # never clipped
    assert all(label.width() >= label.minimumSizeHint().width()
               for label in widget.findChildren(QLabel) if label.isVisibleTo(widget))  # fmt: skip


def test_without_ground_truth_the_scores_say_why(viewer, widget, qtbot):
    panel = widget._segmentation_panel
    panel.truth_choice = "(none)"
    worker = widget.apply()
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(lambda: panel.summary_label.text() != "", timeout=5000)
    assert panel.summary_label.text().startswith("No ground truth chosen")
    assert not panel.scores_table.isVisibleTo(widget)


def test_try_all_shows_dice_per_class_and_a_gallery(viewer, widget, qtbot):
    from qtpy.QtWidgets import QLabel

    from napari_nuclei_edges.segmentation.scores import pixel_scores

    _try_all(widget, qtbot)
    table = widget._methods_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["method", "t", "inter.", "prome.", "metap.", "anaph.", "apopt.", "Dice"]
    otsu = float(table.item(0, 1).text())
    data, truth = viewer.layers["metaphase"].data, viewer.layers["metaphase_truth"].data
    share, dice = table.item(0, 4).text().split("\n")
    assert share == f"{100 * np.mean(data > otsu):.0f}%"
    assert float(dice) == pytest.approx(pixel_scores(data > otsu, truth)["dice"], abs=0.005)
    thumbnails = [label for label in widget._methods_panel.findChildren(QLabel)
                  if label.pixmap() is not None and not label.pixmap().isNull()]  # fmt: skip
    assert len(thumbnails) == 5 * sum(  # methods that found a threshold × classes
        table.item(r, 1).text() != "none" for r in range(table.rowCount())
    )
    assert "otsu on metaphase: t = " in " ".join(label.toolTip() for label in thumbnails)


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
    widget.threshold = 100  # no selected layer left: nothing happens, nothing fails
    qtbot.waitUntil(lambda: not widget._preview_timer.isActive(), timeout=3000)
    assert widget.threshold == 100
    # the preview of a deleted image goes with it, and the dock says so
    qtbot.waitUntil(lambda: "4d_mask" not in viewer.layers, timeout=3000)
    assert widget._status_label.text() == "4d was deleted: 4d_mask went with it."


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
    expected = (np.asarray(lazy[3]) > 100).astype(np.uint8)
    qtbot.waitUntil(
        lambda: np.array_equal(np.asarray(viewer.layers["lazy_mask"].data[3]), expected),
        timeout=3000,
    )
    assert isinstance(viewer.layers["lazy_mask"].data, da.Array)
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


def test_opening_computes_the_method_but_makes_no_layer(viewer, opened, qtbot):
    widget = opened
    assert not widget._preview_check.isChecked()  # off, and it says what it would make
    assert "<layer>_mask" in widget._preview_check.text()
    pooled = {n: viewer.layers[n].data for n in CLASS_NAMES}
    assert widget.method == "otsu"  # the default
    assert widget.threshold == pytest.approx(auto_threshold(pooled, "otsu"))
    assert not any(layer.name.endswith("_mask") for layer in viewer.layers)
    widget.select_layers(["metaphase"])  # the method's threshold follows the selection
    assert widget.threshold == pytest.approx(auto_threshold(viewer.layers["metaphase"].data))


def test_plugin_outputs_start_unselected_and_adding_layers_makes_no_preview(viewer, opened):
    widget = opened  # the preview off: adding a layer makes none
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
