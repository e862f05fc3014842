"""The one run lifecycle: Start, Pause/Resume, Stop and Reset on a real worker."""

import threading
import time

from qtpy.QtWidgets import QWidget

from napari_nuclei_edges._qt.common.run import RunButtons, TrainingRun


def _steps(gate: threading.Event, n: int = 1000):
    gate.wait(5)
    for i in range(n):
        time.sleep(0.005)  # a training step: long enough to be paused mid-run
        yield i


def _dock(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    run = TrainingRun(owner)
    got, ended, failed = [], [], []
    gate = threading.Event()
    buttons = RunButtons(run, on_start=lambda: run.start(
        _steps, gate, on_step=got.append, on_failure=failed.append,
        on_finished=lambda: ended.append(True)), on_reset=run.drop, parent=owner)  # fmt: skip
    return run, buttons, gate, got, ended, failed


def test_start_pause_resume_and_stop_as_a_user_clicks(qtbot):
    run, buttons, gate, got, ended, failed = _dock(qtbot)
    assert [b.isEnabled() for b in (buttons.start_button, buttons.pause_button,
                                    buttons.stop_button)] == [True, False, False]  # fmt: skip
    buttons.start_button.click()
    assert run.running and not buttons.start_button.isEnabled()
    assert buttons.pause_button.isEnabled() and buttons.stop_button.isEnabled()
    gate.set()
    qtbot.waitUntil(lambda: len(got) > 3, timeout=5000)
    buttons.pause_button.click()
    qtbot.waitUntil(lambda: buttons.pause_button.text() == "Resume", timeout=5000)
    buttons.pause_button.click()
    qtbot.waitUntil(lambda: buttons.pause_button.text() == "Pause", timeout=5000)
    buttons.stop_button.click()
    qtbot.waitUntil(lambda: ended == [True], timeout=5000)
    assert not run.running and buttons.start_button.isEnabled() and not failed
    assert got == list(range(len(got))) and len(got) < 1000  # stopped part way, in order


def test_stop_while_paused_ends_the_run(qtbot):
    run, buttons, gate, got, ended, _ = _dock(qtbot)
    gate.set()
    buttons.start_button.click()
    qtbot.waitUntil(lambda: len(got) > 0, timeout=5000)
    buttons.pause_button.click()
    qtbot.waitUntil(lambda: run.paused, timeout=5000)
    buttons.stop_button.click()
    qtbot.waitUntil(lambda: ended == [True], timeout=5000)
    assert not run.running


def test_a_reset_run_reaches_nothing_more(qtbot):
    run, buttons, gate, got, ended, _ = _dock(qtbot)
    buttons.start_button.click()
    worker = run.worker
    buttons.reset_button.click()  # before its first step
    assert run.worker is None and buttons.start_button.isEnabled()
    gate.set()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    qtbot.wait(50)  # nothing queued for the GUI thread may arrive either
    assert got == [] and ended == []


def test_a_failure_is_a_sentence_and_ends_the_run(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    run = TrainingRun(owner)
    said, ended = [], []

    def broken():
        yield 1
        raise ValueError("the labels hold no nucleus")

    run.start(broken, on_step=lambda step: None, on_failure=said.append,
              on_finished=lambda: ended.append(True))  # fmt: skip
    qtbot.waitUntil(lambda: ended == [True], timeout=5000)
    assert said == ["the labels hold no nucleus"] and not run.running
