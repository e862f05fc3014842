"""Whatever closes a dock stops it: its ×, the Plugins menu's toggle, closing the viewer."""

import numpy as np
import pytest
from qtpy.QtCore import QThreadPool

DOCKS = ("Histograms and threshold", "Sobel edges", "Learn a kernel", "Find the focus")


def offered_layers(widget) -> list[str]:
    """The image layers a dock offers, read from its own control."""
    if hasattr(widget, "_layer_list"):
        return [widget._layer_list.item(i).text() for i in range(widget._layer_list.count())]
    combo = getattr(widget, "_layer_combo", None) or widget._input_combo
    return [combo.itemText(i) for i in range(combo.count())]


def dock_of(widget):
    """The QDockWidget napari put the widget in."""
    from qtpy.QtWidgets import QDockWidget

    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


@pytest.mark.parametrize("name", DOCKS)
def test_the_cross_stops_the_dock_from_reacting(viewer, open_dock, close_dock, qtbot, name):
    widget = open_dock(name)
    assert "after" not in offered_layers(widget)
    viewer.add_image(np.zeros((3, 8, 8), np.uint8), name="before")
    assert "before" in offered_layers(widget)  # an open dock follows the layers
    close_dock(widget)
    assert widget.parent() is None and not widget._life.attached
    viewer.add_image(np.zeros((3, 8, 8), np.uint8), name="after")
    viewer.layers.remove("before")
    assert "after" not in offered_layers(widget)
    assert "before" in offered_layers(widget)
    widget = open_dock(name)  # opening again works, with a new dock
    assert {"after", *offered_layers(widget)} == set(offered_layers(widget))


@pytest.mark.parametrize("name", DOCKS)
def test_the_plugins_menu_toggle_stops_and_restarts_the_dock(viewer, open_dock, qtbot, name):
    from napari_nuclei_edges._cli import PLUGIN_NAME

    widget = open_dock(name)
    dock = dock_of(widget)
    dock.window().show()
    dock.setVisible(False)  # what the Plugins menu's entry does to an open dock
    assert not widget._life.attached
    viewer.add_image(np.zeros((3, 8, 8), np.uint8), name="hidden")
    assert "hidden" not in offered_layers(widget)
    dock.setVisible(True)
    assert widget._life.attached
    assert "hidden" in offered_layers(widget)  # shown again, it catches up
    assert PLUGIN_NAME in dock.name


def test_tabs_behind_another_keep_running(viewer, open_dock, qtbot):
    """Docks tabbed together stay attached: a training run goes on behind another tab."""
    widgets = [open_dock(name) for name in DOCKS]
    docks = [dock_of(w) for w in widgets]
    window = docks[0].window()
    for dock in docks[1:]:
        window.tabifyDockWidget(docks[0], dock)
    window.show()
    docks[0].raise_()
    qtbot.wait(10)
    assert all(w._life.attached for w in widgets)


def test_closing_the_viewer_stops_every_dock(make_napari_viewer, qtbot):
    from napari_nuclei_edges.data import synthetic_nuclei

    viewer = make_napari_viewer()
    viewer.add_image(synthetic_nuclei(n_per_class=4)["interphase"], name="interphase")
    widgets = [viewer.window.add_plugin_dock_widget("napari-nuclei-edges", n)[1] for n in DOCKS]
    training = widgets[DOCKS.index("Learn a kernel")]
    training.set_options(optimiser="sgd", learning_rate=1e-7, steps=1_000_000)
    worker = training.start()
    qtbot.waitUntil(lambda: len(training.history) >= 2, timeout=20_000)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        viewer.close()
    assert not any(w._life.attached for w in widgets)
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=10_000)
