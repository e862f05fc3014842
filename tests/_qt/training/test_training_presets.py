"""The kernel dock's presets, its small cnn's defaults, and its results in view on a laptop."""

import re

import pytest
from qtpy.QtCore import QPoint, QRect, Qt
from qtpy.QtWidgets import QDockWidget, QScrollArea
from superqt import QCollapsible

from napari_nuclei_edges._qt.training.widget import REPORT_INTERVAL
from napari_nuclei_edges.training import TrainingOptions

LAPTOP = (1366, 768)


@pytest.fixture(autouse=True)
def one_thread():
    """Torch on one thread: the cnn's small convolutions gain nothing from more, and on a
    machine shared with other work its threads' waits make a run ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


def choose_preset(widget, label: str) -> None:
    """Pick ``label`` in the preset menu, as a user's click does (index, then activated)."""
    combo = widget._options_panel._preset_combo
    index = combo.findText(label)
    assert index >= 0, [combo.itemText(i) for i in range(combo.count())]
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def click_start_and_wait(widget, qtbot, timeout=120_000) -> None:
    widget._start_button.click()
    assert not widget._start_button.isEnabled(), widget._status_label.text()
    qtbot.waitUntil(widget._start_button.isEnabled, timeout=timeout)


def test_the_small_cnn_with_the_dock_defaults_learns_the_magnitude(widget, qtbot):
    widget.target = "Sobel magnitude"
    widget.set_options(model="cnn")  # the model menu: everything else as a new user has it
    widget._held_out_check.click()
    assert widget._options_panel._rate_spin.specialValueText() == "auto (0.01)"
    assert widget.options() == TrainingOptions(model="cnn", report_interval=REPORT_INTERVAL)
    click_start_and_wait(widget, qtbot, timeout=600_000)
    final = widget.history[-1]
    assert final.status in ("finished", "plateau")
    numbers = widget._kernel_view.errors.text()  # what the user reads under the kernels
    found = re.search(r"magnitude error (\d+)% \(relative RMS, held-out layers\)", numbers)
    assert found, numbers
    assert int(found[1]) <= 30 and int(found[1]) == round(100 * final.magnitude_error)
    status = widget._status_label.text()
    assert status.startswith(("Finished 1000 steps", "Stopped at step")), status
    assert "too high" not in status and "Far from" not in status


def test_the_notebook_preset_diverges_and_the_dock_names_rate_and_raw_pixels(widget, qtbot):
    widget.target = "Sobel magnitude"
    widget.set_options(model="cnn", steps=50)
    choose_preset(widget, "course notebook (diverges)")
    assert widget.preset == "course notebook" and widget.target == "Sobel Gx"
    assert "padding='same'" in widget._status_label.text()  # what the preset shows, said
    options = widget.options()
    assert (options.model, options.optimiser, options.learning_rate, options.normalisation,
            options.steps) == ("linear", "sgd", 0.01, "none", 1000)  # fmt: skip
    click_start_and_wait(widget, qtbot)
    final = widget.history[-1]
    assert final.status == "diverged"
    status = widget._status_label.text()
    assert status.startswith(f"Training diverged at step {final.step}: the loss grew")
    assert "The learning rate 0.01 is too high for sgd on raw pixels" in status
    assert f"the largest stable rate here is about {final.stable_rate:.2g}" in status
    assert "choose normalise 'standardise'" in status
    assert widget._progress_bar.text() == f"diverged at step {final.step}"
    # the numbers under the plot and in its legend stay whole however narrow the dock
    for label in (widget._loss_view.note, widget._kernel_view.errors):
        for width in range(150, 420, 6):
            text, lines = wrapped_lines(label, width)
            assert len(lines) > 1 and len(text) > 60, lines  # wrapped, and read whole
            assert label is not widget._loss_view.note or f"≈ {final.stable_rate:.2g}" in text
            for number in re.findall(r"\d+(?:\.\d+)?(?:e[+-]\d+)?", text):
                assert any(number in line for line in lines), (number, lines)


def wrapped_lines(label, width: int) -> tuple[str, list[str]]:
    """``label``'s text, and the lines Qt wraps it into at ``width`` pixels, in its font."""
    from qtpy.QtGui import QTextDocument
    from qtpy.QtWidgets import QLabel

    document = QTextDocument()
    document.setDefaultFont(label.font())
    raw = QLabel.text(label)  # as laid out: with any break points a label inserts
    document.setHtml(raw) if label.textFormat() == Qt.TextFormat.RichText else (
        document.setPlainText(raw))  # fmt: skip
    document.setTextWidth(width)
    assert document.size().width() > 0  # laid out now: the blocks have their lines
    lines, block = [], document.begin()
    while block.isValid():
        layout = block.layout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            chunk = block.text()[line.textStart() : line.textStart() + line.textLength()]
            lines.append(chunk.replace("\u200b", "").replace("\u00a0", " ").strip())
        block = block.next()
    whole = document.toPlainText().replace("\u200b", "").replace("\u00a0", " ")
    return whole, lines


def test_the_slow_preset_can_be_paused_resumed_and_stopped_by_hand(
    widget, qtbot, open_dock, close_dock
):
    choose_preset(widget, "watch it learn (slow)")
    assert widget.preset == "watch it learn"
    assert (widget.options().pace, widget.options().learning_rate) == (0.006, 0.02)
    widget._start_button.click()
    assert "pausing 6 ms after each step" in widget._status_label.text()
    qtbot.waitUntil(lambda: len(widget.history) >= 2, timeout=20_000)
    widget._pause_button.click()  # early: a second into a run of about ten
    qtbot.waitUntil(lambda: widget._pause_button.text() == "Resume", timeout=10_000)
    worker = widget._worker
    assert worker.is_running and worker.is_paused  # paused, not over
    assert widget.history[-1].status == "running"
    assert widget._status_label.text().startswith("Paused at step")
    paused_at = widget.history[-1].step
    widget._pause_button.click()  # Resume
    qtbot.waitUntil(lambda: widget.history[-1].step > paused_at, timeout=10_000)
    assert widget._pause_button.text() == "Pause" and not worker.is_paused
    widget._stop_button.click()
    qtbot.waitUntil(widget._start_button.isEnabled, timeout=10_000)
    assert not worker.is_running and widget.history[-1].status == "running"  # never ended
    assert widget._status_label.text() == f"Stopped at step {widget.history[-1].step}."
    # the preset is remembered with the other settings; a changed option is "custom"
    close_dock(widget)
    again = open_dock("Learn a kernel")
    assert again.preset == "watch it learn" and again.options().pace == 0.006
    again.set_options(steps=500)
    assert again.preset == "custom"
    again.target = "Sobel Gy"
    choose_preset(again, "defaults")
    assert again.preset == "defaults" and again.target == "Sobel Gx"
    assert again.options() == TrainingOptions(report_interval=REPORT_INTERVAL)


def dock_of(widget) -> QDockWidget:
    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def test_the_results_are_in_view_without_scrolling_at_1366_by_768(make_napari_viewer, qtbot):
    from napari_nuclei_edges._cli import launch

    viewer = make_napari_viewer(show=True)
    launch(viewer=viewer)
    viewer.window.resize(*LAPTOP)
    widget = viewer.window.dock_widgets["Learn a kernel (napari-nuclei-edges)"]
    dock_of(widget).raise_()
    widget.input_name = "metaphase"
    widget.target = "Sobel magnitude"  # the longest lesson: two sentences, and the numbers
    widget._held_out_check.click()
    click_start_and_wait(widget, qtbot)
    assert "still misses the magnitude" in widget._status_label.text()
    qtbot.wait(50)  # the last step's texts laid out
    area = widget.findChild(QScrollArea, "dock_scroll_area")
    viewport = area.viewport()
    assert area.verticalScrollBar().value() == 0
    assert viewport.height() < 700  # the dock a laptop gives it, not a tall test window
    sections = {box.text(): box for box in widget.findChildren(QCollapsible)}
    assert sections["Model and optimiser"].isExpanded()  # the main section, open
    assert not sections["More options"].isExpanded()  # as a new user finds it
    shown = {
        "verdict": widget._status_label,
        "legend": widget._loss_view.note,
        "loss plot": widget._loss_view.plot,
        "kernels": widget._kernel_view.canvas,
        "kernel numbers": widget._kernel_view.errors,
    }
    for name, part in shown.items():
        rect = QRect(part.mapTo(viewport, QPoint(0, 0)), part.size())
        assert part.isVisible() and viewport.rect().contains(rect), (name, rect, viewport.rect())
    titles = [title for title, _ in widget._kernel_view.panels()]
    assert titles == ["learned", "least squares"]
