import numpy as np
import pytest
from qtpy.QtWidgets import QLabel, QWidget

from napari_nuclei_edges._qt.gradients_widget import SobelWidget
from napari_nuclei_edges.gradients import sobel


@pytest.fixture
def widget(open_dock):
    w = open_dock("Sobel edges")
    assert isinstance(w, SobelWidget)
    return w


def click_run(widget, qtbot):
    """Click Run, as a user does, and wait until every output is shown."""
    widget._run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)


def test_run_makes_four_layers(viewer, widget, qtbot):
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction")
    click_run(widget, qtbot)
    expected = sobel(viewer.layers["metaphase"].data)
    for what in ("gx", "gy", "magnitude", "direction"):
        layer = viewer.layers[f"metaphase_sobel_{what}"]
        np.testing.assert_array_equal(layer.data, getattr(expected, what))
        meta = layer.metadata["napari_nuclei_edges"]
        assert meta["padding"] == "reflect" and meta["kernel_x"][0] == [-1, 0, 1]
    gx = viewer.layers["metaphase_sobel_gx"]
    low, high = gx.contrast_limits
    assert low == pytest.approx(-high) and gx.colormap.name == "sobel_diverging_dark"
    np.testing.assert_allclose(gx.colormap.map(np.array([0.5]))[0], [0, 0, 0, 1])  # 0 is dark
    assert viewer.layers["metaphase_sobel_direction"].colormap.name == "twilight_shifted"
    assert viewer.layers["metaphase_sobel_direction"].contrast_limits == pytest.approx(
        [-np.pi, np.pi]
    )
    assert viewer.layers["metaphase_sobel_magnitude"].colormap.name == "sobel_sequential_dark"
    assert all(viewer.layers[f"metaphase_sobel_{w}"].visible for w in ("gx", "gy"))


def test_a_new_user_gets_the_colour_picture_as_the_direction_view(viewer, widget, qtbot):
    checked = {name for name, check in widget._output_checks.items() if check.isChecked()}
    assert checked == {"gx", "gy", "magnitude", "rgb"}
    widget.layer_name = "anaphase"
    click_run(widget, qtbot)
    rgb = viewer.layers["anaphase_sobel_direction_colour"]
    assert rgb.rgb and "anaphase_sobel_direction" not in viewer.layers
    magnitude = viewer.layers["anaphase_sobel_magnitude"]
    # as bright as the magnitude layer shows it: full brightness at its upper limit
    plane = rgb.data[0].max(-1)
    at_limit = magnitude.data[0] >= magnitude.contrast_limits[1]
    assert at_limit.any() and np.allclose(plane[at_limit], 1.0, atol=1e-3)


def test_contrast_ignores_a_hot_pixel(viewer, widget, qtbot):
    yy, xx = np.mgrid[:80, :80]
    image = np.where(np.hypot(yy - 40, xx - 40) < 20, 60.0, 10.0).astype(np.float32)
    viewer.add_image(image, name="clean")
    hot = image.copy()
    hot[10, 10] = 255.0
    viewer.add_image(hot, name="hot")
    limits = {}
    for name in ("clean", "hot"):
        widget.layer_name = name
        click_run(widget, qtbot)
        limits[name] = viewer.layers[f"{name}_sobel_gx"].contrast_limits
    assert limits["hot"] == pytest.approx(limits["clean"], rel=0.05)
    assert limits["hot"][1] < 0.5 * np.abs(viewer.layers["hot_sobel_gx"].data).max()


def test_outputs_follow_the_theme(viewer, widget, qtbot):
    widget.layer_name = "metaphase"
    click_run(widget, qtbot)
    gx = viewer.layers["metaphase_sobel_gx"]
    viewer.theme = "light"
    np.testing.assert_allclose(gx.colormap.map(np.array([0.5]))[0], [1, 1, 1, 1])
    viewer.theme = "dark"
    np.testing.assert_allclose(gx.colormap.map(np.array([0.5]))[0], [0, 0, 0, 1])


def test_smoothing_is_suggested_for_a_noisy_image(viewer, widget, qtbot):
    from scipy import ndimage

    yy, xx = np.mgrid[:80, :80]
    disc = np.where(np.hypot(yy - 40, xx - 40) < 20, 60.0, 10.0)
    noisy = (disc + np.random.default_rng(0).normal(0, 20, disc.shape)).astype(np.float32)
    viewer.add_image(noisy, name="noisy")
    viewer.add_image(disc.astype(np.float32), name="clean")
    widget.layer_name = "clean"
    click_run(widget, qtbot)
    assert not widget._suggest_button.isVisibleTo(widget)
    content = widget.findChild(QWidget, "dock_content")
    narrowest = content.minimumSizeHint().width()
    widget.layer_name = "noisy"
    click_run(widget, qtbot)
    assert widget._suggest_button.isVisibleTo(widget)
    # the offer does not widen the dock: in napari at 1366 × 768 a dock opened from the
    # Plugins menu is 280 px wide, and a wider button was cut off at the window's edge
    assert content.minimumSizeHint().width() <= narrowest
    widget._suggest_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    assert widget._sigma_spin.value() == 1.0 and not widget._suggest_button.isVisibleTo(widget)
    smoothed = ndimage.gaussian_filter(noisy, 1.0)
    np.testing.assert_allclose(viewer.layers["noisy_sobel_gx"].data, sobel(smoothed).gx, atol=1e-3)


def test_the_suggested_smoothing_is_not_remembered_as_the_users_sigma(
    viewer, widget, qtbot, open_dock, close_dock
):
    rng = np.random.default_rng(0)
    viewer.add_image(rng.normal(30, 20, (80, 80)).astype(np.float32), name="noisy")
    widget.layer_name = "noisy"
    click_run(widget, qtbot)  # σ 0, the user's: remembered
    assert widget._suggest_button.isVisibleTo(widget)
    widget._suggest_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    click_run(widget, qtbot)  # again, still with the suggestion's σ
    assert widget._sigma_spin.value() == 1.0
    close_dock(widget)
    again = open_dock("Sobel edges")
    assert again._sigma_spin.value() == 0.0  # a new session: the user's own σ
    again._sigma_spin.setValue(2.0)  # set by hand: the user's, remembered
    again.layer_name = "noisy"
    click_run(again, qtbot)
    close_dock(again)
    assert open_dock("Sobel edges")._sigma_spin.value() == 2.0


def test_rerun_updates_in_place(viewer, widget, qtbot):
    widget.layer_name = "anaphase"
    click_run(widget, qtbot)
    layers = {w: viewer.layers[f"anaphase_sobel_{w}"] for w in ("gx", "magnitude")}
    count = len(viewer.layers)
    widget._padding_combo.setCurrentText("zeros")
    click_run(widget, qtbot)
    widget._padding_combo.setCurrentText("replicate")
    click_run(widget, qtbot)
    assert len(viewer.layers) == count
    assert viewer.layers["anaphase_sobel_gx"] is layers["gx"]
    expected = sobel(viewer.layers["anaphase"].data, padding="replicate")
    np.testing.assert_array_equal(layers["gx"].data, expected.gx)
    assert layers["gx"].metadata["napari_nuclei_edges"]["padding"] == "replicate"


def test_valid_padding_rgb_and_vectors(viewer, widget, qtbot):
    widget.layer_name = "interphase"
    widget.set_outputs("gx", "rgb", "vectors")
    widget._padding_combo.setCurrentText("valid")
    click_run(widget, qtbot)
    assert viewer.layers["interphase_sobel_gx"].data.shape == (6, 78, 78)
    rgb = viewer.layers["interphase_sobel_direction_colour"]
    assert rgb.rgb and rgb.data.shape == (6, 78, 78, 3)
    vectors = viewer.layers["interphase_sobel_arrows"]
    assert vectors.data.ndim == 3 and vectors.data.shape[1:] == (2, 3)
    assert vectors.edge_width >= 0.8  # visible at the default zoom
    assert "interphase_sobel_magnitude" not in viewer.layers


def test_smoothing_and_kernels_view(viewer, widget, qtbot):
    from scipy import ndimage

    widget.layer_name = "apoptosis"
    widget._sigma_spin.setValue(1.5)
    click_run(widget, qtbot)
    data = viewer.layers["apoptosis"].data.astype(np.float32)
    smoothed = ndimage.gaussian_filter(data, (0, 1.5, 1.5))
    np.testing.assert_allclose(
        viewer.layers["apoptosis_sobel_gx"].data, sobel(smoothed).gx, atol=1e-4
    )
    widget._kernels_check.setChecked(True)
    texts = [label.text() for label in widget._kernels_box.findChildren(QLabel)]
    assert texts.count("+2") == 2 and texts.count("-2") == 2


def test_rgb_layer_is_refused_with_a_sentence(viewer, widget, qtbot):
    viewer.add_image(
        np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8),
        name="photo",
        rgb=True,
    )
    widget.layer_name = "photo"
    click_run(widget, qtbot)
    text = widget._status_label.text()
    assert "RGB" in text and "Split RGB" in text
    assert not [layer for layer in viewer.layers if layer.name.startswith("photo_sobel_")]


def test_nan_pixels_are_explained(viewer, widget, qtbot):
    image = np.random.default_rng(1).random((60, 60)).astype(np.float32)
    image[20:30, 20:30] = np.nan
    viewer.add_image(image, name="holes")
    widget.layer_name = "holes"
    click_run(widget, qtbot)
    assert np.isnan(viewer.layers["holes_sobel_gx"].data).sum() == 12 * 12
    assert "Made 4 layers: holes_sobel_gx, holes_sobel_gy, holes_sobel_magnitude, " in (
        widget._status_label.text())  # fmt: skip
    assert "100 pixels of holes are NaN or infinite" in widget._status_label.text()
    widget.layer_name = "metaphase"  # integers: nothing more to say than what was made
    click_run(widget, qtbot)
    assert widget._status_label.text() == (
        "Made 4 layers: metaphase_sobel_gx, metaphase_sobel_gy, metaphase_sobel_magnitude, "
        "metaphase_sobel_direction_colour."
    )


def test_dask_layer_stays_lazy(viewer, widget, qtbot):
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(viewer.layers["metaphase"].data, chunks=(1, 80, 80))
    viewer.add_image(lazy, name="lazy")
    widget.layer_name = "lazy"
    click_run(widget, qtbot)
    out = viewer.layers["lazy_sobel_gx"].data
    assert isinstance(out, da.Array)
    # the colour picture is ticked by default: not made for a lazy layer, and said so
    assert "lazy_sobel_direction_colour" not in viewer.layers
    assert "direction (colour) needs the whole image in memory" in widget._status_label.text()
    np.testing.assert_array_equal(np.asarray(out[2]), sobel(viewer.layers["metaphase"].data[2]).gx)


def test_a_lazy_stack_is_convolved_once_for_the_plane_on_screen(
    viewer, widget, qtbot, monkeypatch
):
    """Gx, Gy and magnitude take their contrast from the plane on screen: one Sobel pass
    over its block, not one per output, and none over the planes not shown."""
    da = pytest.importorskip("dask.array")
    from napari_nuclei_edges import gradients
    from napari_nuclei_edges.gradients.display import display_settings

    data = viewer.layers["metaphase"].data
    viewer.add_image(da.from_array(data, chunks=(1, 80, 80)), name="lazy")
    viewer.dims.set_current_step(0, 4)
    passes = []
    tiled = gradients._sobel_numpy

    def counted(images, *args, **kwargs):
        passes.append(images.shape)
        return tiled(images, *args, **kwargs)

    monkeypatch.setattr(gradients, "_sobel_numpy", counted)
    widget.layer_name = "lazy"
    widget.set_outputs("gx", "gy", "magnitude")
    widget._run_button.click()
    # the dock's own work, before napari draws anything: one block of the stack (the
    # noise check beside it convolves a central crop of the input plane, 2D)
    assert [shape for shape in passes if len(shape) == 3] == [(1, 80, 80)]
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    shown = sobel(data[4])
    limit = viewer.layers["lazy_sobel_magnitude"].contrast_limits[1]
    expected = display_settings("magnitude", shown.magnitude)["contrast_limits"][1]
    assert limit == pytest.approx(expected)


def test_never_overwrites_a_user_layer(viewer, widget, qtbot):
    user = viewer.add_image(np.zeros((5, 5)), name="metaphase_sobel_gx")
    widget.layer_name = "metaphase"
    click_run(widget, qtbot)
    assert np.all(user.data == 0)
    owned = [
        layer for layer in viewer.layers
        if layer.metadata.get("napari_nuclei_edges", {}).get("output") == "sobel_gx"
    ]  # fmt: skip
    assert len(owned) == 1 and owned[0] is not user


def test_large_input_runs_in_a_worker(viewer, widget, qtbot, monkeypatch):
    from napari_nuclei_edges._qt.edges import widget as gradients_widget

    monkeypatch.setattr(gradients_widget, "WORKER_PIXELS", 1000)
    widget.layer_name = "prometaphase"
    worker = widget.run()
    assert worker is not None
    with qtbot.waitSignal(worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(lambda: "prometaphase_sobel_gx" in viewer.layers, timeout=5000)
    np.testing.assert_array_equal(
        viewer.layers["prometaphase_sobel_gx"].data, sobel(viewer.layers["prometaphase"].data).gx
    )


def test_a_large_input_leaves_the_gui_thread_only_the_layers_to_make(
    viewer, widget, qtbot, monkeypatch
):
    """Contrast limits, the colour picture and the arrows are computed with the result,
    in the worker: on a 12-Mpx image they took 3 s of the GUI thread, a frozen window."""
    import threading

    from napari_nuclei_edges._qt.edges import parts
    from napari_nuclei_edges._qt.edges import widget as gradients_widget

    threads = {}

    def recorded(name, function):
        def call(*args, **kwargs):
            threads.setdefault(name, set()).add(threading.current_thread().name)
            return function(*args, **kwargs)

        return call

    for name in ("display_settings", "magnitude_direction_rgb", "gradient_arrows"):
        monkeypatch.setattr(parts, name, recorded(name, getattr(parts, name)))
    monkeypatch.setattr(gradients_widget, "WORKER_PIXELS", 1000)
    widget._output_checks["vectors"].setChecked(True)
    widget.layer_name = "prometaphase"
    with qtbot.waitSignal(widget.run().finished, timeout=20000):
        pass
    qtbot.waitUntil(lambda: not widget.busy, timeout=10_000)
    main = threading.main_thread().name
    assert set(threads) == {"display_settings", "magnitude_direction_rgb", "gradient_arrows"}
    assert all(main not in names for names in threads.values()), threads
    for what in ("gx", "gy", "magnitude", "direction_colour", "arrows"):
        assert f"prometaphase_sobel_{what}" in viewer.layers
    magnitude = viewer.layers["prometaphase_sobel_magnitude"]
    assert magnitude.contrast_limits[0] == 0 and magnitude.contrast_limits[1] > 0


def test_too_small_for_valid_is_a_sentence(viewer, widget, qtbot):
    viewer.add_image(np.zeros((2, 2)), name="tiny")
    widget.layer_name = "tiny"
    widget._padding_combo.setCurrentText("valid")
    click_run(widget, qtbot)
    assert "smaller than the 3 × 3 kernel" in widget._status_label.text()
    assert "tiny_sobel_gx" not in viewer.layers


def test_reruns_alternate_between_two_sets_of_arrays(viewer, widget, qtbot):
    widget.layer_name = "metaphase"
    click_run(widget, qtbot)
    first = viewer.layers["metaphase_sobel_gx"].data
    click_run(widget, qtbot)
    second = viewer.layers["metaphase_sobel_gx"].data
    assert not np.shares_memory(first, second)
    click_run(widget, qtbot)  # computed into the arrays of the first run, no longer shown
    assert np.shares_memory(viewer.layers["metaphase_sobel_gx"].data, first)
    np.testing.assert_array_equal(first, sobel(viewer.layers["metaphase"].data).gx)


def test_failure_in_a_worker_is_a_sentence(viewer, widget, qtbot, monkeypatch):
    from napari_nuclei_edges._qt.edges import widget as gradients_widget

    monkeypatch.setattr(gradients_widget, "WORKER_PIXELS", 1)
    viewer.add_image(np.zeros((2, 2)), name="tiny")
    widget.layer_name = "tiny"
    widget._padding_combo.setCurrentText("valid")
    worker = widget.run()
    assert worker is not None
    qtbot.waitUntil(lambda: "smaller than the 3 × 3 kernel" in widget._status_label.text())
    qtbot.waitUntil(widget._run_button.isEnabled)
    assert "tiny_sobel_gx" not in viewer.layers


def test_arrow_count_follows_max_vectors(viewer, widget, monkeypatch, qtbot):
    from napari_nuclei_edges._qt.edges import widget as gradients_widget

    widget.layer_name = "anaphase"
    widget.set_outputs("vectors")
    monkeypatch.setattr(gradients_widget, "MAX_VECTORS", 200)
    click_run(widget, qtbot)
    few = len(viewer.layers["anaphase_sobel_arrows"].data)
    monkeypatch.setattr(gradients_widget, "MAX_VECTORS", 5000)
    click_run(widget, qtbot)
    assert few <= 1.1 * 200 and len(viewer.layers["anaphase_sobel_arrows"].data) > 2 * few


def test_outputs_appear_one_per_frame_and_run_waits_for_them(viewer, widget, qtbot):
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction")
    widget._run_button.click()
    made = [n for n in ("gx", "gy", "magnitude", "direction")
            if f"metaphase_sobel_{n}" in viewer.layers]  # fmt: skip
    assert made == ["gx"]  # the click answers with the first layer; the rest follow
    # inserted hidden, shown a turn later: napari's work for a new layer in two halves
    assert not viewer.layers["metaphase_sobel_gx"].visible
    assert widget.busy and not widget._run_button.isEnabled()
    assert widget._progress.isVisibleTo(widget)
    assert widget._progress.progress_bar.value() == 0
    assert widget._progress.progress_bar.maximum() == 4
    qtbot.waitUntil(lambda: widget._progress.progress_bar.value() == 1, timeout=10_000)
    assert viewer.layers["metaphase_sobel_gx"].visible
    qtbot.waitUntil(lambda: not widget.busy, timeout=10_000)
    assert widget._run_button.isEnabled() and not widget._progress.isVisibleTo(widget)
    assert all(viewer.layers[f"metaphase_sobel_{n}"].visible
               for n in ("gx", "gy", "magnitude", "direction"))  # fmt: skip


def test_stop_leaves_the_layers_already_shown(viewer, widget, qtbot):
    widget.layer_name = "anaphase"
    widget._run_button.click()
    widget._progress.stop_button.click()
    qtbot.wait(100)
    assert not widget.busy and widget._run_button.isEnabled()
    assert "anaphase_sobel_gx" in viewer.layers and viewer.layers["anaphase_sobel_gx"].visible
    assert "anaphase_sobel_direction" not in viewer.layers
    assert widget._status_label.text() == "Stopped."


def test_closing_the_dock_mid_show_leaves_no_hidden_layer(viewer, widget, close_dock, qtbot):
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction")
    widget._run_button.click()
    assert not viewer.layers["metaphase_sobel_gx"].visible  # shown on the next turn
    close_dock(widget)
    qtbot.wait(200)
    made = [layer for layer in viewer.layers if layer.name.startswith("metaphase_sobel")]
    assert [layer.name for layer in made] == ["metaphase_sobel_gx"]  # nothing more came
    assert made[0].visible


def test_new_outputs_leave_the_window_layout_and_the_selection_alone(viewer, widget, qtbot):
    """The first Run must not widen napari's layer controls (a long colormap name did,
    then the layer list and the canvas followed: a canvas resize and redraw per insert),
    nor take the user's selection."""
    qt_viewer = viewer.window._qt_viewer  # napari's own widgets, read only
    viewer.layers.selection.active = viewer.layers["metaphase"]
    widths = (qt_viewer.controls.sizeHint().width(), qt_viewer.layers.sizeHint().width())
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction")
    click_run(widget, qtbot)
    assert "metaphase_sobel_direction" in viewer.layers
    qt_viewer.controls.widgets[viewer.layers["metaphase_sobel_gx"]]  # made, not shown
    assert (qt_viewer.controls.sizeHint().width(), qt_viewer.layers.sizeHint().width()) == widths
    assert viewer.layers.selection.active is viewer.layers["metaphase"]
