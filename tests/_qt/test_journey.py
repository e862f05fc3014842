"""A newcomer's first session, through napari's own doors.

``napari-nuclei-edges`` on a laptop screen, each dock from the Plugins menu,
driven with its buttons, closed with its ×, then the viewer closed: asserting
on layers, plots and messages, and that nothing keeps running.
"""

import numpy as np
import pytest
from napari.layers import Labels
from qtpy.QtCore import QThreadPool
from qtpy.QtWidgets import QDockWidget, QTabBar

from napari_nuclei_edges._cli import PLUGIN_NAME, TAB_TITLES, launch
from napari_nuclei_edges.data import CLASS_NAMES
from napari_nuclei_edges.gradients import sobel

LAPTOP = (1366, 768)
DOCKS = (
    "Histograms and threshold",
    "Sobel edges",
    "Learn a kernel",
    "Classify the stage",
    "Learn a segmentation",
    "Find the focus",
)


def dock_of(widget) -> QDockWidget:
    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def from_plugins_menu(viewer, name: str):
    """The Plugins menu's entry: the dock (napari gives back the open one), its tab in front."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, name)
    dock_of(widget).raise_()
    return widget


@pytest.fixture
def launched(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    launch(viewer=viewer)
    viewer.window.resize(*LAPTOP)
    qtbot.wait(50)
    return viewer


def test_the_launcher_fits_a_laptop_with_every_dock_a_tab(launched, qtbot):
    window = dock_of(from_plugins_menu(launched, DOCKS[0])).window()
    assert window.minimumSizeHint().height() <= LAPTOP[1]
    assert window.height() <= LAPTOP[1] and window.width() <= LAPTOP[0]
    docks = [dock_of(launched.window.add_plugin_dock_widget(PLUGIN_NAME, n)[1]) for n in DOCKS]
    tabbed = window.tabifiedDockWidgets(docks[0])
    assert set(tabbed) == set(docks[1:])  # one tab each, in one place
    assert [dock.windowTitle() for dock in docks] == [TAB_TITLES.get(n, n) for n in DOCKS]
    bar = next(b for b in window.findChildren(QTabBar) if b.count() == len(DOCKS))
    assert [bar.tabText(i) for i in range(bar.count())] == [d.windowTitle() for d in docks]
    qtbot.wait(50)
    for i in range(bar.count()):  # every tab read whole: none shrunk into its padding
        text = bar.tabText(i)
        assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(text) + 10, text
    for dock in docks:  # each dock scrolls instead of making the window taller
        assert dock.minimumSizeHint().height() < 300


def test_a_newcomers_session(launched, qtbot):
    viewer = launched

    # 1. threshold: switch the preview on, type a value, the previews follow; Apply
    #    segments every class with that value, as set
    threshold = from_plugins_menu(viewer, "Histograms and threshold")
    assert not threshold._preview_check.isChecked()  # opening made no layer
    threshold._preview_check.click()
    threshold._threshold_spin.setValue(60)
    qtbot.waitUntil(lambda: all(f"{n}_mask" in viewer.layers for n in CLASS_NAMES), timeout=5000)
    data = viewer.layers["metaphase"].data
    np.testing.assert_array_equal(viewer.layers["metaphase_mask"].data > 0, data > 60)
    assert threshold._threshold_line.value() == 60
    panel = threshold._segmentation_panel
    panel.apply_button.click()
    assert not panel.apply_button.isEnabled()
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)
    labels = viewer.layers["metaphase_labels"]
    assert isinstance(labels, Labels) and labels.data.shape == data.shape and labels.data.max() > 0
    assert set(labels.metadata["napari_nuclei_edges"]["thresholds"]) == {60.0}
    assert panel.scores_table.rowCount() == len(CLASS_NAMES)

    # 2. Sobel: its tab, a layer, Run; Gx, Gy, magnitude and the direction as colour appear
    edges = from_plugins_menu(viewer, "Sobel edges")
    edges.layer_name = "metaphase"
    edges._run_button.click()
    qtbot.waitUntil(lambda: not edges.busy, timeout=20_000)
    expected = sobel(data)
    for what in ("gx", "gy", "magnitude"):
        np.testing.assert_array_equal(
            viewer.layers[f"metaphase_sobel_{what}"].data, getattr(expected, what)
        )
    assert viewer.layers["metaphase_sobel_direction_colour"].rgb
    # each output in its own tile beneath metaphase, named above it, none hidden
    source = viewer.layers["metaphase"]
    shown = ("gx", "gy", "magnitude", "direction_colour")
    outputs = [viewer.layers[f"metaphase_sobel_{w}"] for w in shown]
    assert all(layer.visible for layer in outputs)
    assert {float(layer.translate[-1]) for layer in outputs} == {float(source.translate[-1])}
    rows = [float(layer.translate[-2]) for layer in outputs]
    assert rows == sorted(rows) and rows[0] > float(source.translate[-2])
    titles = list(viewer.layers["tile names"].features["name"])
    assert all(layer.name in titles for layer in outputs)

    # 3. training: Start, the loss curve and the kernel fill in; the × stops the run
    training = from_plugins_menu(viewer, "Learn a kernel")
    training.input_name = "metaphase"
    training.set_options(optimiser="sgd", learning_rate=1e-7, steps=1_000_000)
    training._start_button.click()
    assert not training._start_button.isEnabled() and training._stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(training.history) >= 3, timeout=20_000)
    assert len(training._loss_view.data()["steps"]) > 0
    assert training._kernel_view.learned is not None
    worker = training._worker
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        viewer.window.remove_dock_widget(training)  # the dock's ×
    steps = len(training.history)
    qtbot.wait(200)
    assert len(training.history) == steps  # nothing trains behind a closed dock
    viewer.layers.remove("metaphase_sobel_direction_colour")  # and nothing reacts
    assert not training._life.attached

    # 4. opened again from the Plugins menu: a new, working dock
    again = from_plugins_menu(viewer, "Learn a kernel")
    assert again is not training
    names = [again._input_combo.itemText(i) for i in range(again._input_combo.count())]
    assert "metaphase" in names and "metaphase_sobel_direction" not in names

    # 5. the threshold dock still follows the layers
    viewer.add_image(np.zeros((2, 80, 80), np.uint16), name="late")
    assert "late" in [threshold._layer_list.item(i).text()
                      for i in range(threshold._layer_list.count())]  # fmt: skip

    # 6. closing the viewer stops every dock and leaves no thread behind
    widgets = [threshold, edges, again]
    viewer.close()
    assert not any(w._life.attached for w in widgets)
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=10_000)


def test_closing_the_viewer_right_after_launch_leaves_no_worker_behind(make_napari_viewer, qtbot):
    """The training dock's warm-up worker is still running: no callback reaches a deleted dock."""
    viewer = make_napari_viewer(show=True)
    launch(viewer=viewer)
    viewer.close()
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=20_000)
    qtbot.wait(50)  # the worker's last signals are delivered here; pytest-qt fails on any error
