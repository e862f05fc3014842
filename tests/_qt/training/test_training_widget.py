import numpy as np
import pytest
from qtpy.QtCore import QThreadPool

from napari_nuclei_edges._qt.training_widget import KernelTrainingWidget
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y
from napari_nuclei_edges.training import kernel_error
from napari_nuclei_edges.training.kernel_io import load_kernel

GX = SOBEL_X.numpy()[None, None]


@pytest.fixture
def widget(open_dock, qtbot):
    w = open_dock("Learn a kernel")
    assert isinstance(w, KernelTrainingWidget)
    w.input_name = "metaphase"
    yield w
    worker = w._worker  # a Python attribute: readable even once Qt has deleted the widget
    if worker is not None:
        worker.quit()
        if worker.is_paused:
            worker.resume()
        qtbot.waitUntil(lambda: not worker.is_running, timeout=10_000)


def run_to_end(widget, qtbot, timeout=60_000):
    """Start, and wait until the dock says the run is over (Start enabled again)."""
    worker = widget.start()
    assert worker is not None, widget._status_label.text()
    assert not widget._start_button.isEnabled()
    qtbot.waitUntil(widget._start_button.isEnabled, timeout=timeout)
    return worker


def slow_run(widget, qtbot):
    """A run that will not end by itself: tiny SGD steps, many of them."""
    widget.set_options(optimiser="sgd", learning_rate=1e-7, steps=1_000_000)
    worker = widget.start()
    qtbot.waitUntil(lambda: len(widget.history) >= 3, timeout=20_000)
    return worker


def test_defaults_learn_sobel_gx_and_the_plot_shows_the_history(widget, qtbot):
    assert widget.target == "Sobel Gx" and widget.options().optimiser == "adam"
    run_to_end(widget, qtbot)
    history = widget.history
    assert history[0].step == 0 and history[-1].status == "converged"
    assert kernel_error(widget.kernel, GX)["max_abs"] < 1e-3
    shown = widget._loss_view.data()
    steps = [s for h in history for s in h.trace_steps]
    losses = [v for h in history for v in h.trace_losses]
    np.testing.assert_array_equal(shown["steps"], steps)
    np.testing.assert_allclose(shown["loss"], np.maximum(losses, 1e-300))
    np.testing.assert_array_equal(shown["val_steps"], [h.step for h in history])
    np.testing.assert_allclose(shown["val_loss"], [h.val_loss for h in history])
    assert widget._kernel_view.learned is history[-1].weight
    assert "max |Δ|" in widget._kernel_view.errors.text()
    bar = widget._progress_bar
    assert bar.value() == bar.maximum() == history[-1].step  # 100 %: it ended well
    assert bar.text() == f"converged at step {history[-1].step}"
    assert "it/s" in widget._rate_label.text()
    assert widget._status_label.text().startswith(f"Converged at step {history[-1].step}")
    assert widget._loss_view.legend() == ["training", "validation"]  # what is drawn
    assert "optimum 0: an exact fit exists" in widget._loss_view.note.text()  # said, not drawn
    assert widget._start_button.isEnabled() and not widget._stop_button.isEnabled()


def test_gx_and_gy_with_lbfgs_shows_two_rows_of_kernels(widget, qtbot):
    widget.target = "Sobel Gx + Gy"
    widget.set_options(optimiser="lbfgs")
    run_to_end(widget, qtbot)
    reference = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]
    assert kernel_error(widget.kernel, reference)["max_abs"] < 1e-3
    panels = widget._kernel_view.panels()
    assert [title for title, _ in panels] == ["learned", "true (Sobel)"]
    assert np.array_equal(panels[1][1], reference) and panels[0][1].shape == (2, 1, 3, 3)


def test_stop_pause_resume_and_reset(widget, qtbot):
    worker = slow_run(widget, qtbot)
    assert widget.is_running and not widget._start_button.isEnabled()
    widget.pause()
    # the worker pauses at its next step, then tells the dock
    qtbot.waitUntil(lambda: widget._pause_button.text() == "Resume", timeout=5_000)
    assert worker.is_paused
    assert widget._status_label.text().startswith("Paused at step")
    seen = len(widget.history)
    qtbot.wait(200)
    assert len(widget.history) <= seen + 1  # at most the step in flight
    widget.resume()
    qtbot.waitUntil(lambda: len(widget.history) > seen + 2, timeout=10_000)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        widget.stop()
    assert not widget.is_running
    assert widget.history[-1].status == "running"
    assert widget._status_label.text().startswith("Stopped at step")
    widget.reset()
    assert widget.history == [] and widget.kernel is None
    assert len(widget._loss_view.data()["steps"]) == 0


def test_closing_the_dock_mid_run_stops_the_worker(viewer, open_dock, qtbot, close_dock):
    widget = open_dock("Learn a kernel")
    widget.input_name = "anaphase"
    worker = slow_run(widget, qtbot)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        close_dock(widget)  # the dock's ×
    assert not worker.is_running
    steps = len(widget.history)
    viewer.layers.remove("anaphase")  # a closed dock no longer reacts: no warning, no message
    qtbot.wait(50)
    assert len(widget.history) == steps
    assert "anaphase was removed" not in widget._status_label.text()
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=5_000)


def test_closing_the_viewer_mid_run_stops_the_worker(make_napari_viewer, qtbot):
    from napari_nuclei_edges.data import synthetic_nuclei

    viewer = make_napari_viewer()
    viewer.add_image(synthetic_nuclei(n_per_class=4)["interphase"], name="interphase")
    _, widget = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", "Learn a kernel")
    worker = slow_run(widget, qtbot)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        viewer.close()
    assert not worker.is_running


def test_removing_the_input_layer_stops_with_a_message(viewer, widget, qtbot):
    worker = slow_run(widget, qtbot)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        viewer.layers.remove("metaphase")
    assert "metaphase was removed: training stopped." in widget._status_label.text()


def test_divergence_is_stopped_with_its_reason(widget, qtbot):
    widget.set_options(optimiser="sgd", learning_rate=0.01, normalisation="none")
    run_to_end(widget, qtbot)
    text = widget._status_label.text()
    assert "Training diverged at step" in text and "'standardise'" in text
    assert widget.history and widget.history[0].step == 0


def test_apply_save_load_and_csv(viewer, widget, qtbot, tmp_path):
    run_to_end(widget, qtbot)
    layer = widget.apply_kernel()
    assert layer.name == "metaphase_learned"
    source = viewer.layers["metaphase"].data.astype(np.float64)
    from scipy import ndimage

    expected = np.stack([ndimage.sobel(image, axis=-1, mode="mirror") for image in source])
    np.testing.assert_allclose(layer.data, expected, atol=0.05 * np.abs(expected).max() / 100)
    meta = layer.metadata["napari_nuclei_edges"]
    assert np.allclose(meta["kernel"], widget.kernel) and meta["options"]["optimiser"] == "adam"
    count = len(viewer.layers)
    assert widget.apply_kernel().name == layer.name  # updated in place, no new layer
    assert len(viewer.layers) == count

    widget.save_kernel(tmp_path / "gx.npy")
    weight, bias, info = load_kernel(tmp_path / "gx.npy")
    assert np.array_equal(weight, widget.kernel) and bias is None
    assert info["input"] == "metaphase" and info["error"] == widget.history[-1].error
    widget.save_kernel(tmp_path / "gx.txt")
    assert np.allclose(np.loadtxt(tmp_path / "gx.txt"), widget.kernel[0, 0], atol=1e-5)
    widget.export_loss_csv(tmp_path / "loss.csv")
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss,val_loss,elapsed_s" and len(rows) == widget.history[-1].step + 2

    widget.reset()
    widget.load_kernel(tmp_path / "gx.npy")
    assert np.array_equal(widget.kernel, weight)
    assert "Loaded a 3 × 3 kernel" in widget._status_label.text()
    assert widget._apply_button.isEnabled()


def test_another_layer_as_target_learns_that_filter(viewer, widget, qtbot):
    from scipy import ndimage

    kernel = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])  # a Laplacian
    data = viewer.layers["metaphase"].data.astype(np.float32)
    viewer.add_image(np.stack([ndimage.correlate(i, kernel) for i in data]), name="laplace")
    widget.input_name = "metaphase"
    widget.target = "layer: laplace"
    widget.set_options(optimiser="lbfgs")
    run_to_end(widget, qtbot)
    assert kernel_error(widget.kernel, kernel[None, None])["max_abs"] < 1e-3


@pytest.mark.parametrize(
    ("data", "kwargs", "words"),
    [
        (np.zeros((4, 20, 20, 3), np.uint8), {"rgb": True}, "RGB image"),
        (np.zeros((2, 3, 20, 20)), {}, "training needs a stack of 2D images"),
        (np.zeros((4, 2, 2)), {}, "smaller than the 3 × 3 kernel"),
        (np.ones((4, 20, 20)), {}, "constant"),
    ],
)
def test_bad_layers_get_a_sentence(viewer, widget, qtbot, data, kwargs, words):
    viewer.add_image(data, name="bad", **kwargs)
    widget.input_name = "bad"
    widget.start()  # refused at once, or stopped by the worker's first step
    qtbot.waitUntil(lambda: words in widget._status_label.text(), timeout=10_000)
    qtbot.waitUntil(lambda: not widget.is_running, timeout=10_000)
    assert widget._start_button.isEnabled()


def test_settings_are_remembered(viewer, qtbot, widget, open_dock, close_dock):
    widget.set_options(optimiser="rmsprop", kernel_size=5, batch_size=8, learning_rate=0.002)
    widget.target = "Sobel Gy"
    widget._save_settings()
    close_dock(widget)
    again = open_dock("Learn a kernel")
    options = again.options()
    assert (options.optimiser, options.kernel_size, options.batch_size) == ("rmsprop", 5, 8)
    assert options.learning_rate == pytest.approx(0.002)
    assert again.target == "Sobel Gy"


def test_the_gradient_pair_learns_magnitude_and_direction_tested_on_other_classes(
    viewer, widget, qtbot
):
    widget.target = "Sobel magnitude + direction"
    widget.set_options(model="gradient_pair", optimiser="lbfgs", steps=300)
    widget._held_out_check.setChecked(True)
    run_to_end(widget, qtbot, timeout=120_000)
    final = widget.history[-1]
    assert final.magnitude_error < 1e-4 and final.test_loss < 1e-6
    shown = widget._loss_view.data()
    measured = [h for h in widget.history if h.test_loss is not None]
    assert measured[0].step == 0 and measured[-1] is final  # first, every few steps, last
    np.testing.assert_array_equal(shown["test_steps"], [h.step for h in measured])
    np.testing.assert_allclose(shown["test_loss"], [h.test_loss for h in measured])
    text = widget._kernel_view.errors.text()
    assert "Sobel pair rotated by" in text and "held-out loss" in text
    layer = widget.apply_kernel()
    from napari_nuclei_edges.gradients import sobel

    expected = sobel(viewer.layers["metaphase"].data.astype(np.float32)).magnitude
    np.testing.assert_allclose(layer.data, expected, atol=1e-2 * expected.max())


def test_the_small_cnn_shows_its_first_layer_as_a_gallery(widget, qtbot):
    widget.target = "Sobel magnitude"
    widget.set_options(model="cnn", layers=2, channels=4, steps=40, learning_rate=0.01)
    run_to_end(widget, qtbot, timeout=120_000)
    history = widget.history
    assert history[-1].loss < history[0].loss
    panels = widget._kernel_view.panels()
    assert [title for title, _ in panels] == ["learned"] and panels[0][1].shape == (4, 1, 3, 3)
    assert widget.apply_kernel() is None
    assert "single-layer models" in widget._status_label.text()


def test_a_large_dask_layer_is_sampled_not_loaded(viewer, widget, qtbot, monkeypatch):
    da = pytest.importorskip("dask.array")
    from napari_nuclei_edges._qt.training import actions as training_actions
    from napari_nuclei_edges.data import synthetic_nuclei

    monkeypatch.setattr(training_actions, "MAX_IMAGES", 8)
    images = np.concatenate(list(synthetic_nuclei(n_per_class=8).values()))  # 40 images
    read = set()

    def record(block, block_info=None):
        read.add(block_info[None]["chunk-location"][0])
        return block

    lazy = da.from_array(images, chunks=(1, 80, 80)).map_blocks(record, dtype=images.dtype)
    viewer.add_image(lazy, name="screen")
    read.clear()  # napari draws the current slice: that is not the training's doing
    widget.input_name = "screen"
    widget.set_options(optimiser="lbfgs")
    run_to_end(widget, qtbot)
    assert kernel_error(widget.kernel, GX)["max_abs"] < 1e-3
    assert len(read - {0}) <= 8  # the 8 evenly spaced images, not the 40
    inputs, _, _, note = training_actions.training_data(
        viewer, "screen", "Sobel Gx", {"Sobel Gx": "gx"}
    )
    assert inputs.shape == (8, 80, 80) and "screen has 40 images: training on 8" in note


def test_a_dock_from_the_plugins_menu_tests_on_the_other_layers_not_its_input(viewer, qtbot):
    from napari_nuclei_edges.data import CLASS_NAMES

    # as a user opens it: napari hands the dock a proxy viewer, whose layers are proxies
    _, widget = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", "Learn a kernel")
    widget.input_name = "apoptosis"
    widget._held_out_check.setChecked(True)
    others = [name for name in CLASS_NAMES if name != "apoptosis"]
    inputs, _, tests, note = widget._training_data()
    assert note == f"Testing on {', '.join(others)}."
    np.testing.assert_array_equal(inputs, viewer.layers["apoptosis"].data)
    np.testing.assert_array_equal(tests, np.concatenate([viewer.layers[n].data for n in others]))
    worker = widget.start()
    assert widget._status_label.text() == note
    qtbot.waitUntil(lambda: bool(widget.history), timeout=10_000)
    widget.stop()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=10_000)
    assert widget.history[0].test_loss is not None


def test_the_plots_follow_the_theme_until_the_dock_is_closed(viewer, widget, qtbot, close_dock):
    from napari_nuclei_edges._qt.common.plots import theme_colors

    def background():
        return widget._loss_view.plot.backgroundBrush().color().name()

    viewer.theme = "dark"
    dark = theme_colors(viewer)
    assert background() == dark["background"]
    viewer.theme = "light"
    light = theme_colors(viewer)
    assert light["background"] != dark["background"]
    assert background() == light["background"]
    assert widget._kernel_view._text_color.name() == light["text"]
    close_dock(widget)
    viewer.theme = "dark"  # no longer followed: the closed dock's plot is left alone
    assert background() == light["background"]


def test_a_loaded_gradient_pair_applies_its_magnitude(viewer, widget, tmp_path):
    from napari_nuclei_edges.gradients import sobel
    from napari_nuclei_edges.training import TrainingOptions
    from napari_nuclei_edges.training.kernel_io import save_kernel

    pair = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]
    options = TrainingOptions(model="gradient_pair").__dict__
    save_kernel(tmp_path / "pair", pair, metadata={"options": options, "input": "metaphase"})
    widget.load_kernel(tmp_path / "pair.npy")
    assert (
        widget._status_label.text()
    ) == "Loaded a 3 × 3 kernel from pair.npy, learned on metaphase."
    layer = widget.apply_kernel()
    expected = sobel(viewer.layers["metaphase"].data.astype(np.float32)).magnitude
    np.testing.assert_allclose(layer.data, expected, atol=1e-3)
    from napari_nuclei_edges.gradients.display import display_settings

    cmap = display_settings("magnitude", layer.data, theme=viewer.theme)["colormap"]
    assert layer.colormap.name == (cmap["name"] if isinstance(cmap, dict) else cmap)


def test_the_actions_take_values_and_say_what_is_missing(viewer, tmp_path):
    from napari_nuclei_edges._qt.training import actions

    assert actions.apply_kernel(viewer, "metaphase", None) == (None, actions.NO_KERNEL)
    assert actions.apply_kernel(viewer, "gone", GX) == (None, "Choose an input image layer first.")
    assert actions.save_kernel(tmp_path / "k.npy", None) == actions.NO_KERNEL
    kernel, _, _, _, message = actions.load_kernel(tmp_path / "missing.npy")
    assert kernel is None and message.startswith("Cannot load missing.npy")
    layer, message = actions.apply_kernel(viewer, "metaphase", GX, [1.0])
    assert layer.name == "metaphase_learned" and message.startswith("metaphase_learned:")
    assert layer.metadata["napari_nuclei_edges"]["padding"] == "reflect"
