"""Classify on a laptop (1366 × 768): each action's sentence beside its button, in view."""

import pytest
from qtpy.QtCore import QPoint, QRect
from qtpy.QtWidgets import QDockWidget, QScrollArea, QTabBar, QWidget

from napari_nuclei_edges._cli import PLUGIN_NAME, TAB_TITLES, launch

LAPTOP = (1366, 768)
DOCK = "Classify the stage"


@pytest.fixture
def dock(make_napari_viewer, qtbot):
    """The Classify dock of the launcher's window, its tab in front, at 1366 × 768."""
    viewer = make_napari_viewer(show=True)
    launch(viewer=viewer)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, DOCK)
    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    window = parent.window()
    window.showNormal()
    window.resize(*LAPTOP)
    area = _area(widget)

    def in_front() -> bool:  # its tab clicked (again, after the launcher raised its first)
        bar, tab = next(
            (b, [b.tabText(i) for i in range(b.count())].index(TAB_TITLES[DOCK]))
            for b in window.findChildren(QTabBar)
            if TAB_TITLES[DOCK] in [b.tabText(i) for i in range(b.count())]
        )
        if bar.currentIndex() != tab:
            bar.setCurrentIndex(tab)
            return False
        rect = QRect(area.mapTo(window, QPoint(0, 0)), area.size())
        return window.height() <= LAPTOP[1] and window.rect().contains(rect)

    qtbot.waitUntil(in_front, timeout=5000)
    return widget


def _area(widget) -> QScrollArea:
    return widget.findChild(QScrollArea, "dock_scroll_area")


def _settle(qtbot, dock) -> None:
    """Wait until the dock is laid out as it is seen: nothing moves over three looks
    (Qt lays a new sentence out over a few posted events)."""
    content, seen = _area(dock).widget(), []

    def still() -> bool:
        seen.append([w.geometry().getRect() for w in (content, *content.findChildren(QWidget))])
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]

    qtbot.waitUntil(still, timeout=5000)


def _in_view(dock, widget) -> bool:
    """Whether all of ``widget`` is inside the dock's visible viewport, in the window."""
    viewport = _area(dock).viewport()
    rect = QRect(widget.mapTo(viewport, QPoint(0, 0)), widget.size())
    window = dock.window()
    on_screen = QRect(viewport.mapTo(window, QPoint(0, 0)), viewport.size())
    return (
        widget.isVisible()
        and viewport.rect().contains(rect)
        and window.rect().contains(on_screen)
        and window.height() <= LAPTOP[1]
    )


def _below(label, button) -> int:
    """Pixels from the button's bottom to the label's top."""
    content = button.parentWidget()
    while content.objectName() != "dock_content":
        content = content.parentWidget()
    bottom = button.mapTo(content, QPoint(0, button.height())).y()
    return label.mapTo(content, QPoint(0, 0)).y() - bottom


def _click_at_the_bottom_of_the_view(qtbot, dock, button) -> None:
    """Scroll the dock to its top, then just far enough to see ``button`` (at the very
    bottom of the view, where a sentence under it is out of sight), and click it."""
    area = _area(dock)
    _settle(qtbot, dock)
    area.verticalScrollBar().setValue(0)
    area.ensureWidgetVisible(button, 0, 0)
    assert _in_view(dock, button)
    button.click()


def test_a_refusal_is_said_under_its_button_and_scrolled_into_view(dock, qtbot):
    dock.class_layers = ["metaphase"]
    _click_at_the_bottom_of_the_view(qtbot, dock, dock._start_button)
    label = dock.results["train"]
    assert label.text().startswith("Tick at least two image layers")
    _settle(qtbot, dock)
    assert _in_view(dock, label)
    assert 0 <= _below(label, dock._start_button) <= 50  # the progress bar between

    _click_at_the_bottom_of_the_view(qtbot, dock, dock._cv_button)
    label = dock.results["cv"]
    assert label.text().startswith("Tick at least two image layers")
    _settle(qtbot, dock)
    assert _in_view(dock, label)
    assert 0 <= _below(label, dock._cv_button) <= 20


def test_cross_validation_s_result_and_confusion_are_in_view_and_say_what_is_counted(dock, qtbot):
    assert len(dock.class_layers) == 5
    assert dock._confusion_heading.text() == "validation confusion (rows: true stage)"
    dock.set_options(model="features", epochs=10)
    _click_at_the_bottom_of_the_view(qtbot, dock, dock._cv_button)
    label = dock.results["cv"]
    qtbot.waitUntil(lambda: "5 folds: accuracy" in label.text(), timeout=120_000)
    _settle(qtbot, dock)
    assert _in_view(dock, label)
    assert 0 <= _below(label, dock._cv_button) <= 20
    assert _in_view(dock, dock._confusion) and _in_view(dock, dock._confusion_heading)
    heading = dock._confusion_heading.text()
    assert heading.startswith("cross-validation confusion, 250 images (5 folds")
    assert dock._confusion.matrix.sum() == 250
    # training again: the table is a validation split's again, and says so
    dock.set_options(epochs=2)
    dock.start()
    qtbot.waitUntil(lambda: not dock.is_running, timeout=60_000)
    n = int(dock.history[-1].confusion.sum())
    assert dock._confusion_heading.text() == f"validation confusion, {n} images (rows: true stage)"


def test_a_model_kept_from_a_closed_dock_is_said_in_view_when_it_reopens(dock, qtbot):
    viewer = dock._viewer
    dock.set_options(model="features", epochs=2)
    dock.start()
    qtbot.waitUntil(lambda: not dock.is_running, timeout=60_000)
    viewer.window.remove_dock_widget(dock)  # the dock's ×
    _, again = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, DOCK)  # the Plugins menu
    assert again is not dock and again.model is dock.model
    label = again.results["train"]
    assert "The model from before Classify was closed is kept" in label.text()
    qtbot.waitUntil(lambda: again.isVisible(), timeout=5000)
    _settle(qtbot, again)
    assert _in_view(again, label)
