"""One run lifecycle for the docks that train: Start, Pause/Resume, Stop, Reset.

A :class:`TrainingRun` owns a dock's training worker (through the one worker path,
:func:`~.workers.start_worker`): it starts a plain generator, pauses and resumes
it, stops it after its current step, and *drops* it on Reset (what a dropped run
still sends reaches nothing). :class:`RunButtons` is the row of buttons that
drives it, enabled as the run allows; the dock gives it what Start and Reset do.

Qt only here; the run's rules (when each button is enabled) are in :func:`enabled`.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QWidget

from .workers import start_worker


def enabled(running: bool, paused: bool, busy: bool = False) -> dict[str, bool | str]:
    """Which of Start, Pause, Stop and Reset a user may press, and the pause button's word.

    ``busy``: the dock runs something else (a prediction) that Start must wait for.

    Examples
    --------
    >>> enabled(running=False, paused=False)
    {'start': True, 'pause': False, 'stop': False, 'reset': True, 'pause_text': 'Pause'}
    >>> enabled(running=True, paused=True)["pause_text"]
    'Resume'
    """
    return {"start": not running and not busy, "pause": running, "stop": running,
            "reset": True, "pause_text": "Resume" if paused else "Pause"}  # fmt: skip


class TrainingRun(QObject):
    """A dock's training worker, from Start until it has finished (paused included).

    ``changed`` is emitted when it starts, pauses, resumes or ends: the buttons follow.
    """

    changed = Signal()

    def __init__(self, owner: QWidget):
        super().__init__(owner)
        self._owner = owner
        self.worker = None
        self.running = False

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.is_paused

    def start(self, steps: Callable, *args, on_step: Callable, on_failure: Callable[[str], None],
              on_finished: Callable | None = None, **kwargs):  # fmt: skip
        """Run the generator ``steps(*args, **kwargs)``; each yielded value to ``on_step``.

        Returns the started worker. Nothing it sends reaches the dock after :meth:`drop`.
        """
        self.drop()

        def current(handler):  # a dropped run reaches nothing
            return lambda *a: handler(*a) if self.worker is worker else None

        def finished() -> None:
            if self.worker is worker:
                self.running = False
                if on_finished is not None:
                    on_finished()
                self.changed.emit()

        worker = start_worker(
            steps, *args, start=False, on_yielded=current(on_step),
            on_failure=current(on_failure), on_finished=finished, owner=self._owner, **kwargs,
        )  # fmt: skip
        worker.paused.connect(self.changed)
        worker.resumed.connect(self.changed)
        self.worker, self.running = worker, True
        worker.start()
        self.changed.emit()
        return worker

    def toggle_pause(self) -> None:
        """Pause a running run, resume a paused one."""
        if self.worker is None or not self.running:
            return
        if self.worker.is_paused:
            self.worker.resume()
        else:
            self.worker.pause()

    def stop(self) -> None:
        """Stop after the current step (what was learned is kept)."""
        if self.worker is not None and self.running:
            self.worker.quit()
            if self.worker.is_paused:
                self.worker.resume()  # a paused generator only sees the quit when it runs

    def drop(self) -> None:
        """Stop, and forget the run: whatever it still sends reaches nothing."""
        self.stop()
        if self.worker is not None:
            self.worker, self.running = None, False
            self.changed.emit()


class RunButtons(QWidget):
    """Start, Pause/Resume, Stop and Reset in one row, driving a :class:`TrainingRun`."""

    def __init__(self, run: TrainingRun, on_start: Callable, on_reset: Callable,
                 tips: dict[str, str] | None = None, parent: QWidget | None = None):  # fmt: skip
        super().__init__(parent)
        self.run = run
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset")
        tips = {"stop": "Stop after this step; the model so far is kept.",
                "reset": "Forget the model, its curves and its scores.",
                **(tips or {})}  # fmt: skip
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for name in ("start", "pause", "stop", "reset"):
            button = getattr(self, f"{name}_button")
            button.setToolTip(tips.get(name, ""))
            row.addWidget(button)
        self.start_button.clicked.connect(on_start)
        self.pause_button.clicked.connect(run.toggle_pause)
        self.stop_button.clicked.connect(run.stop)
        self.reset_button.clicked.connect(on_reset)
        self.busy = lambda: False  # the dock's other work, which Start waits for
        run.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """The buttons as the run (and the dock's other work) allow."""
        state = enabled(self.run.running, self.run.paused, self.busy())
        for name in ("start", "pause", "stop", "reset"):
            getattr(self, f"{name}_button").setEnabled(state[name])
        self.pause_button.setText(state["pause_text"])
