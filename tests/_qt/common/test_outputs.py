"""In-place Labels redraws (one private-API shim, its fallback) and the canvas GL guard.

The regression tests run the threshold dock in a shown viewer, so that napari
really draws with OpenGL: the crash they guard against (a segmentation fault in
``glDrawArrays`` after ``viewer.layers.clear(); viewer.add_image(...)`` with the
dock open) happened in the draw after the dock's relayout resized the canvas.
"""

import time

import numpy as np
import pytest
from qtpy.QtGui import QOffscreenSurface, QOpenGLContext
from qtpy.QtWidgets import QWidget

from napari_nuclei_edges._qt.common.outputs import (
    _canvas_gl_widget,
    guard_canvas_context,
    redraw_labels_in_place,
)

PLUGIN = "napari-nuclei-edges"
DOCK = "Histograms and threshold"


@pytest.fixture
def shown_viewer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    qtbot.wait(50)
    return viewer


def _stack(seed, shape=(3, 48, 48)):
    return (np.random.default_rng(seed).random(shape) * 200).astype(np.uint8)


def _spy(monkeypatch, layer):
    """Counts of ``layer.refresh()`` calls and ``labels_update`` events."""
    counts = {"refresh": 0, "labels_update": 0}
    refresh = layer.refresh

    def counting_refresh(*args, **kwargs):
        counts["refresh"] += 1
        return refresh(*args, **kwargs)

    monkeypatch.setattr(layer, "refresh", counting_refresh)
    layer.events.labels_update.connect(lambda event: counts.__setitem__(
        "labels_update", counts["labels_update"] + 1))  # fmt: skip
    return counts


def _shot(viewer, qtbot):
    qtbot.wait(30)
    return viewer.screenshot(canvas_only=True, flash=False)


def _shows_its_data(viewer, layer, qtbot):
    """What the canvas shows of ``layer`` (alone) equals what a full ``refresh()`` shows."""
    others = [each for each in viewer.layers if each is not layer and each.visible]
    for each in others:
        each.visible = False
    try:
        shown = _shot(viewer, qtbot)
        layer.refresh()
        np.testing.assert_array_equal(shown, _shot(viewer, qtbot))
    finally:
        for each in others:
            each.visible = True


# ---------------------------------------------------------------------- the shim


def test_fast_path_uploads_the_new_values_without_refresh(shown_viewer, qtbot, monkeypatch):
    viewer = shown_viewer
    layer = viewer.add_labels(np.zeros((48, 48), np.uint8))
    before = _shot(viewer, qtbot)
    counts = _spy(monkeypatch, layer)
    layer.data[:, :24] = 1  # in place, as the previews write
    redraw_labels_in_place(layer, viewer)
    assert counts == {"refresh": 0, "labels_update": 1}
    after = _shot(viewer, qtbot)
    assert not np.array_equal(before, after)  # the new values reached the texture
    _shows_its_data(viewer, layer, qtbot)


def test_fast_path_shows_the_current_plane_of_a_stack(shown_viewer, qtbot, monkeypatch):
    viewer = shown_viewer
    layer = viewer.add_labels(np.zeros((3, 48, 48), np.uint8))
    viewer.dims.set_point(0, 2)
    _shot(viewer, qtbot)
    counts = _spy(monkeypatch, layer)
    layer.data[2, 10:30, 10:30] = 3
    redraw_labels_in_place(layer, viewer)
    assert counts == {"refresh": 0, "labels_update": 1}
    _shows_its_data(viewer, layer, qtbot)


def _three_d(viewer, layer):
    viewer.dims.ndisplay = 3


def _contours(viewer, layer):
    layer.contour = 1


def _wider_dtype(viewer, layer):
    layer.data = layer.data.astype(np.int32)  # napari shows a converted copy


def _hidden(viewer, layer):
    layer.visible = False


@pytest.mark.parametrize("change", [_three_d, _contours, _wider_dtype, _hidden])
def test_fallback_refreshes_when_the_fast_path_is_not_proven(
    shown_viewer, qtbot, monkeypatch, change
):
    viewer = shown_viewer
    layer = viewer.add_labels(np.zeros((3, 48, 48), np.uint8))
    change(viewer, layer)
    before = _shot(viewer, qtbot)
    counts = _spy(monkeypatch, layer)
    layer.data[:, :24] = 2
    redraw_labels_in_place(layer, viewer)
    assert counts == {"refresh": 1, "labels_update": 0}
    if layer.visible:
        assert not np.array_equal(before, _shot(viewer, qtbot))
    else:
        layer.visible = True
    _shows_its_data(viewer, layer, qtbot)


def test_fallback_without_a_viewer_or_once_removed(shown_viewer, qtbot, monkeypatch):
    viewer = shown_viewer
    layer = viewer.add_labels(np.zeros((48, 48), np.uint8))
    _shot(viewer, qtbot)
    counts = _spy(monkeypatch, layer)
    redraw_labels_in_place(layer)  # no viewer: nothing proves the layer is shown
    assert counts == {"refresh": 1, "labels_update": 0}
    viewer.layers.remove(layer)
    layer.data[:] = 4
    redraw_labels_in_place(layer, viewer)
    assert counts == {"refresh": 2, "labels_update": 0}
    viewer.layers.append(layer)
    _shows_its_data(viewer, layer, qtbot)


# ---------------------------------------------------------------------- the GL guard


@pytest.fixture
def foreign_context():
    """Makes an unrelated GL context current, as Qt may leave one outside paintGL."""
    surface = QOffscreenSurface()
    surface.create()
    context = QOpenGLContext()
    assert context.create()

    def make_current():
        assert context.makeCurrent(surface)

    yield make_current
    context.doneCurrent()


def _canvas_current_when_napari_deletes(viewer, widget, name, make_foreign_current) -> bool:
    """Remove layer ``name``, an unrelated GL context made current as its removal starts:
    was the canvas's context current each time vispy deleted GL objects meanwhile?

    The unrelated context is made current by the first plugin handler of
    ``removing`` (napari's own handlers run before, and may make the canvas
    current as a side effect, as Qt may leave another context current in a real
    session). vispy runs its queued deletions in ``GlirParser.parse``; napari
    flushes them while it removes the layer. An unrelated context cannot crash:
    its object names are not the canvas's.
    """
    from vispy.gloo.glir import GlirParser

    canvas = _canvas_gl_widget(widget)
    assert canvas is not None, "the napari canvas was not found from the dock"
    seen = []
    parse = GlirParser.parse

    def recording_parse(self, commands):
        commands = list(commands)
        if any(command[0] == "DELETE" for command in commands):
            seen.append(QOpenGLContext.currentContext() is canvas.context())
        return parse(self, commands)

    def foreign(event=None):
        make_foreign_current()

    GlirParser.parse = recording_parse
    viewer.layers.events.removing.connect(foreign, position="first")
    try:
        viewer.layers.remove(name)
    finally:
        viewer.layers.events.removing.disconnect(foreign)
        GlirParser.parse = parse
    assert seen, f"napari deleted no GL object when {name} was removed"
    return all(seen)


def test_guard_makes_the_canvas_current_before_a_removal(shown_viewer, qtbot, foreign_context):
    viewer = shown_viewer
    for name in "abc":
        viewer.add_image(_stack(ord(name)), name=name)
    plain = QWidget()
    viewer.window.add_dock_widget(plain, name="plain")
    _shot(viewer, qtbot)
    current = _canvas_current_when_napari_deletes
    assert not current(viewer, plain, "a", foreign_context)  # napari alone: the foreign one
    stop = guard_canvas_context(viewer, plain)
    assert current(viewer, plain, "b", foreign_context)
    stop()
    assert not current(viewer, plain, "c", foreign_context)


def test_guard_does_nothing_without_a_main_window(shown_viewer):
    viewer = shown_viewer
    viewer.add_image(_stack(0), name="a")
    loose = QWidget()
    assert _canvas_gl_widget(loose) is None
    stop = guard_canvas_context(viewer, loose)
    viewer.layers.remove("a")  # no error, nothing made current
    stop()
    stop()  # twice is fine


UNGUARDED = (
    "the threshold dock does not guard the canvas's GL context on layer removal "
    "(widget.py must connect outputs.guard_canvas_context); the scenarios would crash"
)


@pytest.fixture
def dock(shown_viewer, qtbot, foreign_context):
    """The threshold dock opened as a user does, in a viewer with two image stacks.

    It must guard the canvas (widget.py connects :func:`guard_canvas_context`),
    else the scenarios below crash the whole test process: that is checked first,
    with a removal that cannot crash (an unrelated context is current).
    """
    viewer = shown_viewer
    viewer.add_image(_stack(0), name="c0")
    viewer.add_image(_stack(1), name="c1")
    viewer.add_image(_stack(2, (8, 8)), name="probe")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, DOCK)
    _shot(viewer, qtbot)
    guarded = _canvas_current_when_napari_deletes(viewer, widget, "probe", foreign_context)
    qtbot.wait(50)
    return viewer, widget, guarded


def _guarded(dock, *, preview: bool = True):
    """The viewer and the dock, once the dock is known to guard the canvas; its live
    preview switched on, as a user does, unless ``preview`` is False."""
    viewer, widget, guarded = dock
    if not guarded:
        pytest.fail(UNGUARDED)
    if preview:
        widget._preview_check.click()
    return viewer, widget


def _masks_follow(viewer, widget, qtbot, names):
    def done():
        for name in names:
            assert f"{name}_mask" in viewer.layers
            expected = (viewer.layers[name].data > widget.threshold).astype(np.uint8)
            np.testing.assert_array_equal(viewer.layers[f"{name}_mask"].data, expected)

    qtbot.waitUntil(done, timeout=3000)


def test_threshold_dock_guards_the_canvas(dock):
    _, widget = _guarded(dock)
    assert [layer.name for layer in widget.selected_layers] == ["c0", "c1"]


@pytest.mark.parametrize("previews", [False, True])
def test_clear_and_add_with_the_dock_open(dock, qtbot, previews):
    viewer, widget = _guarded(dock, preview=previews)
    if previews:
        widget.threshold = 80.0
        _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    qtbot.wait(300)  # drawn as usual: Qt's compositor, not the canvas, leaves its context current
    big = (np.random.default_rng(3).random((512, 512)) * 4000).astype(np.uint16)
    viewer.layers.clear()
    viewer.add_image(big, name="big")
    qtbot.wait(800)  # the dock relays out, the canvas resizes and draws again
    assert [layer.name for layer in viewer.layers] == ["big"]
    assert _shot(viewer, qtbot).shape[-1] == 4
    if not previews:
        widget._preview_check.click()
    widget.threshold = 2000.0
    _masks_follow(viewer, widget, qtbot, ["big"])
    _shows_its_data(viewer, viewer.layers["big_mask"], qtbot)


def test_removing_the_source_while_a_preview_is_pending(dock, qtbot):
    viewer, widget, _ = dock  # passes with or without the guard
    widget._preview_check.click()  # the live preview on, as a user switches it
    widget.threshold = 60.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    widget._last_preview = time.perf_counter()  # as if a preview were just drawn
    widget.threshold = 90.0  # within a frame: deferred to the preview timer
    assert widget._preview_timer.isActive()
    viewer.layers.remove("c0")
    qtbot.waitUntil(lambda: not widget._preview_timer.isActive(), timeout=3000)
    qtbot.wait(100)
    _masks_follow(viewer, widget, qtbot, ["c1"])
    widget._last_preview = time.perf_counter()
    widget.threshold = 100.0
    assert widget._preview_timer.isActive()
    viewer.layers.remove("c1_mask")  # its output goes while an update is due
    _masks_follow(viewer, widget, qtbot, ["c1"])
    assert _shot(viewer, qtbot).shape[-1] == 4


def test_replacing_data_with_another_shape_or_dtype(dock, qtbot):
    viewer, widget, _ = dock  # passes with or without the guard
    widget._preview_check.click()  # the live preview on, as a user switches it
    widget.threshold = 80.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    viewer.layers["c0"].data = (np.random.default_rng(7).random((2, 64, 40)) * 300).astype(
        np.uint16
    )
    mask = viewer.layers["c1_mask"]
    mask.data = mask.data.astype(np.int32)  # a user's edit: same shape, another dtype
    qtbot.wait(100)
    widget.threshold = 120.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    assert viewer.layers["c0_mask"].data.shape == (2, 64, 40)
    assert viewer.layers["c1_mask"].data.dtype == np.uint8
    _shows_its_data(viewer, viewer.layers["c0_mask"], qtbot)


def test_undo_of_a_paint_on_a_preview(dock, qtbot):
    viewer, widget, _ = dock  # passes with or without the guard
    widget._preview_check.click()  # the live preview on, as a user switches it
    widget.threshold = 80.0
    _masks_follow(viewer, widget, qtbot, ["c0"])
    mask = viewer.layers["c0_mask"]
    mask.brush_size = 10
    mask.paint((0, 20, 20), 7)
    assert (mask.data == 7).any()
    qtbot.wait(50)
    widget.threshold = 110.0
    qtbot.wait(50)
    mask.undo()
    mask.redo()
    mask.undo()
    qtbot.wait(50)
    widget.threshold = 130.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    _shows_its_data(viewer, mask, qtbot)


def test_switching_2d_3d_and_back(dock, qtbot, monkeypatch):
    viewer, widget, _ = dock  # passes with or without the guard
    widget._preview_check.click()  # the live preview on, as a user switches it
    widget.threshold = 80.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    mask = viewer.layers["c0_mask"]
    counts = _spy(monkeypatch, mask)
    viewer.dims.ndisplay = 3
    qtbot.wait(100)
    refreshed = counts["refresh"]
    widget.threshold = 120.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    assert counts["refresh"] > refreshed and counts["labels_update"] == 0  # 3D: fallback
    _shows_its_data(viewer, mask, qtbot)
    viewer.dims.ndisplay = 2
    qtbot.wait(100)
    refreshed = counts["refresh"]
    widget.threshold = 90.0
    _masks_follow(viewer, widget, qtbot, ["c0", "c1"])
    assert counts["refresh"] == refreshed and counts["labels_update"] == 1  # 2D: fast path
    _shows_its_data(viewer, mask, qtbot)
