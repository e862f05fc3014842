"""The training dock's progress row: a bar that says how the run ended, and the rate."""

from __future__ import annotations

import time

from qtpy.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..common.progress import ProgressBar

#: The words on the bar once a run has ended, by the last step's status.
ENDINGS = {
    "converged": "converged at step {step}",
    "finished": "finished: {step} steps",
    "plateau": "plateau: stopped at step {step}",
    "diverged": "diverged at step {step}",
}


class TrainingProgressWidget(QWidget):
    """``step N of M`` while a run goes; full, with how it ended, once it has."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bar = ProgressBar()
        self.bar.setTextVisible(True)
        self.rate = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.rate)
        self._started = 0.0

    def begin(self, steps: int) -> None:
        """A run of at most ``steps`` steps starts now."""
        self._started = time.perf_counter()
        self.bar.setRange(0, steps)
        self.bar.setValue(0)
        self.bar.setFormat("step %v of %m")

    def show_step(self, step) -> None:
        """A reported step; the last one fills the bar (a run that ended well looks done)."""
        if step.status in ENDINGS:
            self.bar.setRange(0, max(step.step, 1))
            self.bar.setFormat(ENDINGS[step.status].format(step=step.step))
        self.bar.setValue(step.step)
        seconds = time.perf_counter() - self._started
        if seconds > 0:
            self.rate.setText(f"{step.step / seconds:,.0f} it/s")

    def stopped(self, step: int) -> None:
        """Stopped by the user (or a removed layer) at ``step``."""
        self.bar.setFormat(f"stopped at step {step}")

    def clear(self) -> None:
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.rate.setText("")
