"""The training dock, opened from the Plugins menu, draws each run's lesson; no file breaks it."""

import numpy as np
import pytest

from napari_nuclei_edges._qt.training import actions
from napari_nuclei_edges._qt.training.kernel_view import (
    _diverging_lookup,
    cell_text,
    contrasting_text,
)
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
from napari_nuclei_edges.training import kernel_error
from napari_nuclei_edges.training.kernel_io import save_kernel

GX = SOBEL_X.numpy()[None, None]
PAIR = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]


@pytest.fixture
def widget(open_dock, qtbot):
    w = open_dock("Learn a kernel")
    w.input_name = "metaphase"
    yield w
    worker = w._worker
    if worker is not None:
        worker.quit()
        if worker.is_paused:
            worker.resume()
        qtbot.waitUntil(lambda: not worker.is_running, timeout=10_000)


def run_to_end(widget, qtbot, timeout=60_000):
    worker = widget.start()
    assert worker is not None, widget._status_label.text()
    qtbot.waitUntil(widget._start_button.isEnabled, timeout=timeout)
    return worker


def apply_state(widget):
    button = widget._apply_button
    return button.isEnabled(), button.toolTip()


def test_the_notebook_settings_draw_their_explosion_and_the_stable_rate(widget, qtbot):
    assert apply_state(widget) == (False, actions.NO_KERNEL)  # nothing to apply yet
    widget.set_options(optimiser="sgd", learning_rate=0.01, normalisation="none")
    run_to_end(widget, qtbot)
    final = widget.history[-1]
    assert final.status == "diverged" and final.stable_rate < 0.01
    shown = widget._loss_view.data()
    steps = [s for h in widget.history for s in h.trace_steps]
    np.testing.assert_array_equal(shown["steps"], steps)  # every step up to the explosion
    assert shown["steps"][-1] == final.step and shown["loss"][-1] > 1e9 * shown["loss"][0]
    view = widget._loss_view
    assert view.stop_line.isVisible() and view.stop_line.value() == final.step
    assert view.legend()[-1] == "diverged"
    assert f"rate 0.01 &gt; largest stable ≈\u00a0{final.stable_rate:.2g}" in view.note.text()
    assert "MSE (raw values)" in view.plot.getPlotItem().getAxis("left").labelText
    bar = widget._progress_bar
    assert bar.value() == bar.maximum() and bar.text() == f"diverged at step {final.step}"
    assert "largest stable rate here is about" in widget._status_label.text()
    assert np.isfinite(widget.kernel).all()  # the last finite kernel
    enabled, tip = apply_state(widget)
    assert not enabled and tip.startswith("The run diverged")
    assert widget.apply_kernel() is None and "metaphase_learned" not in widget._viewer.layers


def test_a_run_far_from_the_optimum_says_why_in_one_line(widget, qtbot):
    widget.set_options(optimiser="sgd", learning_rate=1e-6, normalisation="none", steps=300)
    run_to_end(widget, qtbot)
    final = widget.history[-1]
    assert final.status in ("finished", "plateau") and final.error["cosine"] < 0.99
    first, lesson = widget._status_label.text().split("\n")
    assert first.startswith(("Finished 300 steps", "Stopped at step"))
    assert lesson.startswith("Far from the optimum") and "below the largest stable rate" in lesson
    assert widget._progress_bar.value() == widget._progress_bar.maximum()
    assert widget._apply_button.isEnabled()  # a poor kernel is still a kernel to look at


def test_a_target_layer_of_the_valid_size_is_taken_as_a_valid_cross_correlation(
    viewer, widget, qtbot
):
    data = viewer.layers["metaphase"].data.astype(np.float32)
    viewer.add_image(sobel(data, padding="valid").gx, name="gx_valid")
    widget.target = "layer: gx_valid"
    _, targets, _, note = widget._training_data()
    assert targets.shape[-2:] == (78, 78)
    assert note == (
        "gx_valid is 78 × 78: taken as the valid cross-correlation of metaphase (80 × 80), "
        "without padding."
    )
    widget.set_options(optimiser="lbfgs")
    run_to_end(widget, qtbot)
    assert widget.history[-1].targets == "valid" and widget.history[-1].status == "converged"
    assert kernel_error(widget.kernel, GX)["max_abs"] < 1e-3
    viewer.add_image(np.zeros((len(data), 79, 79)), name="odd")
    widget.target = "layer: odd"
    assert widget.start() is None
    assert "the same size (80 × 80) or of the valid size (78 × 78" in widget._status_label.text()


def test_the_gradient_pair_with_the_dock_defaults_learns_the_magnitude(viewer, widget, qtbot):
    from napari_nuclei_edges.gradients.display import display_settings

    widget.target = "Sobel magnitude"
    widget.set_options(model="gradient_pair")
    widget._held_out_check.setChecked(True)
    assert widget._options_panel._optimiser_combo.currentText() == "auto (lbfgs)"
    assert widget.options().optimiser == "lbfgs"
    run_to_end(widget, qtbot, timeout=120_000)
    final = widget.history[-1]
    assert final.status == "converged" and final.magnitude_error <= 0.01
    assert final.test_loss is not None
    assert f"converged at step {final.step}" == widget._progress_bar.text()
    layer = widget.apply_kernel()
    expected = display_settings("magnitude", layer.data, theme=viewer.theme)
    assert layer.colormap.name == colormap_name(expected)  # the Sobel magnitude's look
    assert tuple(layer.contrast_limits) == pytest.approx(expected["contrast_limits"])


def colormap_name(settings: dict) -> str:
    cmap = settings["colormap"]
    return cmap["name"] if isinstance(cmap, dict) else cmap


def test_the_learned_gx_looks_like_the_sobel_gx_layer(viewer, widget, qtbot):
    from napari_nuclei_edges.gradients.display import display_settings

    widget.set_options(optimiser="lbfgs")
    run_to_end(widget, qtbot)
    layer = widget.apply_kernel()
    expected = display_settings("gx", layer.data, theme=viewer.theme)
    assert layer.colormap.name == colormap_name(expected)
    lo, hi = layer.contrast_limits
    assert (lo, hi) == pytest.approx(expected["contrast_limits"]) and lo == -hi


def test_apply_is_disabled_for_a_cnn_with_the_reason(widget, qtbot):
    widget.target = "Sobel magnitude"
    widget.set_options(model="cnn", layers=2, channels=2, steps=5)
    run_to_end(widget, qtbot, timeout=120_000)
    enabled, tip = apply_state(widget)
    assert not enabled and "single-layer models" in tip


def test_the_empty_plot_reads_in_whole_steps_and_powers_of_ten(widget):
    item = widget._loss_view.plot.getPlotItem()
    bottom, left = item.getAxis("bottom"), item.getAxis("left")
    for low, high in ((0, 1), (0, 10), (0.0, 3.0), (0, 1_000_000)):
        values = [v for _, level in bottom.tickValues(low, high, 400) for v in level]
        assert values and all(float(v).is_integer() for v in values)
    ticks = left.tickValues(-3, 1, 200)
    strings = left.tickStrings(ticks[0][1], 1, ticks[0][0])
    assert strings == ["10⁻³", "10⁻²", "10⁻¹", "1", "10"]
    crowded = left.tickValues(-300, 20, 200)[0][1]
    assert len(crowded) <= 200 // 32
    narrow = left.tickStrings(left.tickValues(3, 3.4, 200)[0][1], 1, 1)
    assert narrow == ["1000", "2000"] or all("10³" in s or s.isdigit() for s in narrow)
    assert not widget._loss_view.legend()  # nothing drawn, nothing listed
    assert not widget._loss_view.note.isVisible()


@pytest.mark.parametrize(
    ("low", "high"), [(1.2, 1.6), (1.1, 1.9), (2.2, 4.4), (100, 100.23), (1e-3, 10), (0.5, 20)]
)
def test_the_loss_axis_labels_three_ticks_at_least_whatever_the_range(widget, low, high):
    # a plateau between 1.2 and 1.6 once had no tick at all: no power of ten, no 2 or 5
    import math

    axis = widget._loss_view.plot.getPlotItem().getAxis("left")
    (spacing, values), *_ = axis.tickValues(math.log10(low), math.log10(high), 150)
    strings = axis.tickStrings(values, 1, spacing)
    assert len(values) >= 3 and len(set(strings)) == len(strings) and all(strings)
    assert all(math.log10(low) <= v <= math.log10(high) for v in values)


def test_kernel_numbers_contrast_with_their_cells():
    lookup = _diverging_lookup()
    assert contrasting_text(*lookup[0]) == "white"  # dark magenta: -2.00 of Sobel
    assert contrasting_text(*lookup[255]) == "white"  # dark green: 2.00
    assert contrasting_text(*lookup[128]) == "black"  # near white: 0.00
    assert cell_text(54921.0) == "5e+04" and cell_text(-1.0) == "-1.00"


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("empty", lambda p: p.write_bytes(b""), "it is empty"),
        ("string", lambda p: np.save(p, np.array([["a"] * 3] * 3)), "not numbers"),
        ("nan", lambda p: np.save(p, np.full((3, 3), np.nan)), "NaN or inf"),
        ("complex", lambda p: np.save(p, np.ones((3, 3), complex)), "complex"),
        ("huge", lambda p: np.save(p, np.ones((2001, 2001), np.float32)), "up to 15 × 15"),
        ("list", lambda p: (np.save(p, GX), p.with_suffix(".json").write_text("[1]")),
         "JSON object"),
        ("bdict", lambda p: (np.save(p, GX), p.with_suffix(".json").write_text('{"bias": {}}')),
         "bias"),
        ("five", lambda p: (np.save(p, GX), p.with_suffix(".json").write_text(
            '{"bias": [1, 2, 3, 4, 5]}')), "holds 5 values for 1 output channel"),
        ("twoin", lambda p: np.save(p, np.ones((1, 2, 3, 3))), "2 input channels"),
    ],
)  # fmt: skip
def test_load_kernel_button_refuses_every_malformed_file_with_a_sentence(
    widget, tmp_path, monkeypatch, name, make, words
):
    from qtpy.QtWidgets import QFileDialog

    save_kernel(tmp_path / "good", GX)
    widget.load_kernel(tmp_path / "good.npy")
    path = tmp_path / f"{name}.npy"
    make(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    widget._load_button.click()  # as a user: the button, the dialog, the file
    text = widget._status_label.text()
    assert text.startswith(f"Cannot load {name}.npy:") and words in text
    assert np.array_equal(widget.kernel, GX)  # what was shown stays, still usable
    assert widget._apply_button.isEnabled()


def test_saving_where_it_cannot_write_says_so(widget, tmp_path, monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    save_kernel(tmp_path / "good", PAIR)
    widget.load_kernel(tmp_path / "good.npy")
    target = tmp_path / "missing" / "k.npy"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    widget._save_button.click()
    assert widget._status_label.text().startswith("Cannot save k.npy:")
    assert not target.parent.exists()
