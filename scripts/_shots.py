"""What every screenshot of ``screenshots.py`` waits for: Qt's events, a worker, a tab in
front, a new user's settings."""

from __future__ import annotations


def _settle(viewer, rounds: int = 20) -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()


def _settle_until(done, timeout: float = 30) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def _front(widget) -> None:
    """Bring a dock's tab to the front, as a click on its tab does."""
    from qtpy.QtWidgets import QDockWidget

    _settle(None)  # after the launcher's own deferred raise of the first tab
    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    parent.raise_()


def _wait(worker, timeout: float = 60) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    done = []
    worker.finished.connect(lambda: done.append(True))
    deadline = time.monotonic() + timeout
    while not done and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def _fresh_settings() -> None:
    """Every widget as a new user first sees it: settings in an empty temporary folder."""
    import tempfile

    from qtpy.QtCore import QSettings

    folder = tempfile.mkdtemp(prefix="napari-nuclei-edges-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
