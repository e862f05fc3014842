"""The "Find the focus" dock, opened from the Plugins menu as a user does."""

import numpy as np
import pytest
from qtpy.QtCore import QPointF, Qt

from napari_nuclei_edges._plugin.sample_data import synthetic_focus_sample
from napari_nuclei_edges._qt.focus.widget import FocusWidget
from napari_nuclei_edges.focus import FOCUS_MEASURES, focus_measures


@pytest.fixture
def stack_layer(viewer):
    ((data, meta, _),) = synthetic_focus_sample(slices=21)
    return viewer.add_image(data, **meta)


@pytest.fixture
def widget(open_dock, stack_layer):
    w = open_dock("Find the focus")
    assert isinstance(w, FocusWidget)
    return w


def measure(widget, qtbot):
    """Click Measure and wait for the curves."""
    widget._measure_button.click()
    qtbot.waitUntil(lambda: not widget.busy and bool(widget.state.values), timeout=30_000)


def test_the_plot_shows_every_measure_scaled_to_its_maximum(viewer, widget, qtbot):
    widget.layer_name = "focus_stack"
    measure(widget, qtbot)  # 21 × 320 × 400: measured in a worker
    expected = focus_measures(viewer.layers["focus_stack"].data)
    for name in FOCUS_MEASURES:
        x, y = widget.view.curves[name].getData()
        np.testing.assert_array_equal(x, np.arange(21))
        np.testing.assert_allclose(y, expected[name] / expected[name].max(), rtol=1e-12)
        mx, my = widget.view.markers[name].getData()
        assert mx[0] == np.argmax(expected[name]) and my[0] == pytest.approx(1.0)
    assert widget.state.picked == viewer.layers["focus_stack"].metadata["best_slice"] == 10
    layer = viewer.layers["focus_stack"]
    assert viewer.dims.current_step[viewer.dims.ndim - layer.ndim] == 10  # shown


def click_plot_at(widget, qtbot, slice_index: float):
    """A left click on the plot, over ``slice_index`` on its x axis."""
    plot = widget.view.plot
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(slice_index, 0.5))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene))


def test_a_click_on_the_plot_moves_the_slider(viewer, widget, qtbot):
    widget.layer_name = "focus_stack"
    measure(widget, qtbot)
    layer = viewer.layers["focus_stack"]
    world = viewer.dims.ndim - layer.ndim
    click_plot_at(widget, qtbot, 4.2)  # a real mouse click, nearest slice 4
    assert viewer.dims.current_step[world] == 4
    widget.go_to_slice(17)
    assert viewer.dims.current_step[world] == 17
    assert widget.view.current_line.value() == 17


def test_keep_best_slice(viewer, widget, qtbot):
    widget.layer_name = "focus_stack"
    measure(widget, qtbot)
    widget._pick_combo.setCurrentText("tenengrad")
    widget._keep_button.click()
    kept = viewer.layers["focus_stack_best_focus"]
    data = viewer.layers["focus_stack"].data
    best = int(np.argmax(focus_measures(data, "tenengrad")["tenengrad"]))
    np.testing.assert_array_equal(kept.data, viewer.layers["focus_stack"].data[best])
    meta = kept.metadata["napari_nuclei_edges"]
    assert meta["slice"] == best and meta["measure"] == "tenengrad" and meta["axis"] == 0


def test_a_small_stack_in_the_gui_thread_and_another_axis(viewer, widget, qtbot):
    widget.layer_name = "metaphase"  # 6 × 80 × 80: measured at once
    widget._measure_button.click()
    assert widget.state.values and widget._worker is None
    widget.axis = 2  # 80 slices of 6 × 80
    assert widget.state.values == {}
    widget._measure_button.click()
    data = viewer.layers["metaphase"].data
    expected = focus_measures(data, axis=2)
    np.testing.assert_allclose(widget.state.values["brenner"], expected["brenner"])
    widget._keep_button.click()
    kept = viewer.layers["metaphase_best_focus"]
    np.testing.assert_array_equal(kept.data, data[:, :, widget.state.picked])


def test_disagreement_and_constant_slices_are_said(viewer, widget, qtbot):
    stack = np.full((4, 40, 40), 100.0, np.float32)
    stack[1, 20:] = 300.0  # one strong step down the rows: the largest variance
    stack[3] += 20.0 * (np.indices((40, 40)).sum(0) % 2)  # a fine checkerboard
    stack[0] += np.random.default_rng(0).normal(0, 1, (40, 40))
    stack[2] = 7.0
    viewer.add_image(stack, name="mixed")
    widget.layer_name = "mixed"
    widget._measure_button.click()
    best = widget.state.best
    assert best["brenner"] == best["normalised_variance"] == 1  # rows two apart: flat
    assert best["laplacian_variance"] == best["spectral"] == 3
    text = widget._status_label.text()
    assert "Slice 2 is constant: every measure is 0 there." in text
    assert "The measures disagree: " in text and "pick slice 3" in text and "slice 1" in text


def test_added_noise_shows_which_measures_gain_false_maxima(viewer, widget, qtbot):
    widget.layer_name = "focus_stack"
    widget._noise_spin.setValue(40.0)
    measure(widget, qtbot)
    data = viewer.layers["focus_stack"].data
    expected = focus_measures(data, noise=40.0)
    for name in FOCUS_MEASURES:
        np.testing.assert_allclose(widget.state.values[name], expected[name])
    assert "With noise σ = 40 added, " in widget._status_label.text()
    assert widget.state.robustness() in widget._status_label.text()
    widget._noise_spin.setValue(0.0)  # the noisy curves are gone with their noise
    assert widget.state.values == {}


def test_the_focus_map_of_a_tilted_field(viewer, widget, qtbot):
    from napari_nuclei_edges.focus import expand_map, focus_map, synthetic_focus_stack

    left, _ = synthetic_focus_stack(slices=9, best=2, noise=1.0, seed=1)
    right, _ = synthetic_focus_stack(slices=9, best=6, noise=1.0, seed=2)
    tilted = np.concatenate([left[..., :200], right[..., 200:]], axis=-1)
    viewer.add_image(tilted, name="tilted")
    widget.layer_name = "tilted"
    widget._tile_spin.setValue(80)
    widget._map_button.click()
    qtbot.waitUntil(lambda: "tilted_focus_map" in viewer.layers, timeout=30_000)
    qtbot.waitUntil(lambda: not widget.busy, timeout=30_000)
    made = viewer.layers["tilted_focus_map"]
    expected = expand_map(focus_map(tilted, "brenner", tile=80), (320, 400), 80)
    np.testing.assert_array_equal(made.data, expected)
    assert made.data[0, 0] == 2 and made.data[-1, -1] == 6
    assert made.metadata["napari_nuclei_edges"]["tile"] == 80
    text = widget._status_label.text()
    assert text == (
        "tilted_focus_map: the sharpest slice of each 80-pixel tile by Brenner: slices 2 to 6."
    )


def test_the_tile_size_says_what_it_is(widget):
    from qtpy.QtWidgets import QLabel

    named = [label.text() for label in widget.findChildren(QLabel)
             if label.buddy() is widget._tile_spin]  # fmt: skip
    assert named == ["tiles of"] and widget._tile_spin.text().endswith(" px")


def test_bad_layers_get_a_sentence(viewer, widget):
    viewer.add_image(np.zeros((30, 30)), name="flat image")
    widget.layer_name = "flat image"
    widget._measure_button.click()
    assert "single 2D image" in widget._status_label.text()
    viewer.add_image(np.zeros((30, 30, 3), np.uint8), name="colour", rgb=True)
    widget.layer_name = "colour"
    widget._measure_button.click()
    assert "RGB" in widget._status_label.text()
    nan = np.ones((3, 20, 20), np.float32)
    nan[1, 2, 2] = np.nan
    viewer.add_image(nan, name="with nan")
    widget.layer_name = "with nan"
    widget._measure_button.click()
    assert "1 pixel of the stack (in 1 of 3 slices) is NaN" in widget._status_label.text()


def test_the_layer_deleted_mid_run(viewer, widget, qtbot):
    widget.layer_name = "focus_stack"
    widget._measure_button.click()
    viewer.layers.remove("focus_stack")
    qtbot.waitUntil(lambda: not widget.busy, timeout=30_000)
    assert "focus_stack_best_focus" not in viewer.layers
    assert not widget.state.values
    widget.keep_best_slice()
    widget.go_to_slice(3)  # nothing to move: no error


def test_closed_with_the_x_mid_run(viewer, widget, close_dock, qtbot):
    widget.layer_name = "focus_stack"
    widget._measure_button.click()
    close_dock(widget)
    qtbot.waitUntil(lambda: not widget.busy, timeout=30_000)
    viewer.add_image(np.zeros((3, 10, 10)), name="later")  # the closed dock no longer listens
    viewer.dims.current_step = (2, 0, 0)
    assert "focus_stack_best_focus" not in viewer.layers


def test_the_sample_opens_from_the_file_menu(viewer):
    viewer.open_sample("napari-nuclei-edges", "synthetic_focus_stack")
    assert viewer.layers["focus_stack"].data.shape == (21, 320, 400)
