"""A dock's life follows napari's: whatever takes it off the screen stops it.

napari closes a dock in ways that never call the widget's ``closeEvent``: the
dock's × and ``viewer.window.remove_dock_widget`` only un-parent the widget; the
Plugins menu hides the dock; closing the viewer closes the main window. A
:class:`DockLife` watches for all of them with Qt's public events and calls the
widget's ``_detach()`` (stop workers, disconnect viewer and layer events) once,
and ``_attach()`` when the same widget is shown in a window again.
"""

from __future__ import annotations

import weakref

from qtpy.compat import isalive
from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QDockWidget, QWidget

from ..._plugin.titles import short_title


class DockLife(QObject):
    """Calls ``widget._detach()`` when napari takes the widget away, ``_attach()`` on return.

    The widget is attached when this is made (it connected its events in its
    ``__init__``). It is detached when:

    - it is closed (``close()``),
    - it leaves its dock (the ×, ``remove_dock_widget``),
    - its dock is hidden by the Plugins menu (a tab behind another is not hidden),
    - its main window is closed or hidden (not minimised).

    Parameters
    ----------
    widget : QWidget
        A dock with ``_attach()`` and ``_detach()`` methods.
    """

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self._widget = widget
        self.attached = True
        self._watched: list[weakref.ref] = []
        widget.installEventFilter(self)

    def detach(self) -> None:
        if self.attached:
            self.attached = False
            self._widget._detach()

    def attach(self) -> None:
        if not self.attached:
            self.attached = True
            self._widget._attach()

    def _watch_ancestors(self) -> None:
        """Follow the dock and the window the widget is now in (and only those)."""
        for ref in self._watched:
            watched = ref()
            if watched is not None and isalive(watched):
                watched.removeEventFilter(self)
        self._watched = []
        dock = self._dock()
        if dock is not None:
            dock.setWindowTitle(short_title(dock.windowTitle()))  # what its tab shows
        window = self._widget.window()
        for watched in dict.fromkeys((dock, window)):
            if watched is not None and watched is not self._widget:
                watched.installEventFilter(self)
                self._watched.append(weakref.ref(watched))  # never keep napari's window alive

    def _dock(self) -> QDockWidget | None:
        parent = self._widget.parentWidget()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        return parent

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        widget = getattr(self, "_widget", None)  # PySide6 may call in while tearing down
        if widget is None or not isalive(widget) or not isalive(watched):
            return False
        kind = event.type()
        if watched is widget:
            if kind == QEvent.Type.ParentChange:
                self._watch_ancestors()
                if self._dock() is None and self._widget.parentWidget() is None:
                    self.detach()  # napari's × un-parents the widget
                else:
                    self.attach()
            elif kind == QEvent.Type.Close:
                self.detach()
        elif isinstance(watched, QDockWidget):
            if kind == QEvent.Type.ParentChange:
                self._watch_ancestors()  # napari makes the dock, then puts it in its window
            elif kind == QEvent.Type.Hide and watched.isHidden():
                self.detach()  # the Plugins menu's toggle; a tab behind another is not hidden
            elif kind == QEvent.Type.Show:
                self.attach()
        elif kind == QEvent.Type.Close:
            self.detach()  # the main window is closing (before napari clears its layers)
            QTimer.singleShot(0, self._after_window_close)
        elif kind == QEvent.Type.Hide and not event.spontaneous():
            self.detach()  # the main window was hidden (minimising is spontaneous)
        elif kind == QEvent.Type.Show and self._dock() is not None:
            self.attach()
        return False

    def _after_window_close(self) -> None:
        """A close the user cancelled (napari asks first) leaves the dock working."""
        if isalive(self) and isalive(self._widget) and self._widget.isVisible():
            self.attach()
