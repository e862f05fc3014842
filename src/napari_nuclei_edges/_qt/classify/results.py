"""The sentence of an action, beside its button, scrolled into view when it matters.

A dock's one status line at its bottom was below the fold at 1366 × 768 (and at
1920 × 1080 when its sections were open): a refusal or a cross-validation's
result was never read. Each button of the classifier dock has its own
:class:`ResultLabel` right under it instead.
"""

from __future__ import annotations

import time

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QScrollArea, QWidget

from ..common.layout import WrappingLabel

#: Pixels kept free around a sentence scrolled into view.
SCROLL_MARGIN = 12
#: A sentence scrolled into view is kept there while the dock settles, this long (s),
#: unless the user scrolls: a dock opened from the Plugins menu takes its size (and
#: its content its height) a few events after its first sentence.
SETTLE_S = 2.0


class ResultLabel(WrappingLabel):
    """A sentence under the button that made it; hidden while it is empty.

    Parameters
    ----------
    lines : int
        Lines of room kept from the start (0: it only takes room when it says
        something). A label that changes while something runs keeps its room, so
        that the dock does not move at each new sentence.

    Examples
    --------
    >>> label = ResultLabel()  # doctest: +SKIP
    >>> label.say("Tick at least two image layers.", scroll=True)  # doctest: +SKIP
    """

    def __init__(self, lines: int = 0, parent=None):
        super().__init__("", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._keeps_room = lines > 0
        self._keep_in_view: tuple[float, QWidget | None] | None = None
        self._watched: QScrollArea | None = None
        if self._keeps_room:
            self.setMinimumHeight(lines * self.fontMetrics().lineSpacing())
        else:
            self.hide()

    def say(self, text: str, scroll: bool = False, also: QWidget | None = None) -> None:
        """Show ``text`` (empty: nothing); ``scroll`` brings it into the dock's view,
        with ``also`` (what the sentence is about, below it) when both fit."""
        self.setText(text)
        if not self._keeps_room:
            self.setVisible(bool(text))
        self._keep_in_view = None
        if scroll and text:
            self._keep_in_view = (time.monotonic() + SETTLE_S, also)
            self._watch()
            QTimer.singleShot(0, self._scroll_if_kept)  # once the dock is laid out anew

    def scroll_into_view(self, also: QWidget | None = None) -> None:
        """Scroll the dock so that the whole sentence is seen (nothing when it is)."""
        area = self._scroll_area()
        if area is None or self.isHidden():
            return
        _lay_out_now(self, area)
        if also is not None:
            area.ensureWidgetVisible(also, 0, SCROLL_MARGIN)
        area.ensureWidgetVisible(self, 0, SCROLL_MARGIN)

    def _watch(self) -> None:
        """Follow the dock's resizes, and the user's scrolling, once."""
        area = self._scroll_area()
        if area is None or area is self._watched:
            return
        self._watched = area
        for widget in (area.viewport(), area.widget()):
            widget.installEventFilter(self)
        area.verticalScrollBar().actionTriggered.connect(self._forget)  # the user scrolls

    def _forget(self, *_) -> None:
        self._keep_in_view = None

    def _scroll_if_kept(self) -> None:
        if self._keep_in_view is None:
            return
        until, also = self._keep_in_view
        if time.monotonic() > until:
            self._keep_in_view = None
        else:
            self.scroll_into_view(also)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # getattr: PySide6 may call in while the label is torn down
        if event.type() == QEvent.Type.Resize and getattr(self, "_keep_in_view", None):
            QTimer.singleShot(0, self._scroll_if_kept)
        return False

    def _scroll_area(self) -> QScrollArea | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        return parent


def _lay_out_now(widget: QWidget, area: QScrollArea) -> None:
    """Give every layout from ``widget`` up to the dock's content its new geometry now
    (Qt does it a few posted events later; a sentence shown since moved what is below)."""
    content = area.widget()
    parent = widget.parentWidget()
    while parent is not None:
        if parent.layout() is not None:
            parent.layout().activate()
        if parent is content:
            break
        parent = parent.parentWidget()
    area.setWidgetResizable(area.widgetResizable())  # the content to its new least height
    if content.layout() is not None:
        content.layout().activate()
