"""How every dock is laid out: one scroll area, and sections that fold away.

A dock's content sits in a scroll area, so napari's window can always shrink to
a laptop screen (1366 × 768) whatever the docks hold; the dock still asks for
its natural size, so on a large screen nothing scrolls. Long, secondary parts
of a dock are :func:`section`\\ s a user folds away; whether each is open is
remembered with the dock's settings.
"""

from __future__ import annotations

import re

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Characters after which a long name may break across lines ("_", "-", "/", "."),
#: never before a digit, so that a number ("3.9e-05", "-0.5", "1/4") stays whole.
_BREAK = re.compile(r"[_/.-](?![0-9])")
#: Longest row name a table shows whole; longer ones are shortened in the middle.
ROW_NAME_CHARACTERS = 22

#: The least height a dock's content asks for; the rest scrolls (six docks opened from
#: the Plugins menu, stacked, still fit a 768-px screen).
MIN_DOCK_HEIGHT = 84
#: The most width a dock asks napari for (its plots' natural width took half a
#: 1366-px screen); a dock whose controls need more still gets their least width.
DOCK_WIDTH = 440


class _NaturalScrollArea(QScrollArea):
    """A scroll area that asks for its content's full size (Qt's caps it at 24 lines)."""

    def sizeHint(self) -> QSize:
        content = self.widget()
        if content is None:
            return super().sizeHint()
        hint, least = content.sizeHint(), content.minimumSizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        width = max(min(hint.width(), DOCK_WIDTH), least.width())
        return QSize(width + bar + 2 * self.frameWidth(), hint.height())

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        width = content.minimumSizeHint().width() if content is not None else 0
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(width + bar, MIN_DOCK_HEIGHT)


def scrolling_layout(dock: QWidget) -> QVBoxLayout:
    """Give ``dock`` a scroll area, and return the layout to fill inside it.

    Examples
    --------
    >>> layout = scrolling_layout(self)  # doctest: +SKIP
    >>> layout.addWidget(QLabel("everything the dock shows"))  # doctest: +SKIP
    """
    outer = QVBoxLayout(dock)
    outer.setContentsMargins(0, 0, 0, 0)
    area = _NaturalScrollArea(dock)
    area.setObjectName("dock_scroll_area")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    content = QWidget(area)
    content.setObjectName("dock_content")
    # never squeezed below its natural height (it scrolls instead): a squeezed dock
    # gives and takes back space whenever one part of it changes size, and every such
    # shuffle repaints the whole window again, several times in one turn
    content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    area.setWidget(content)
    outer.addWidget(area)
    return QVBoxLayout(content)


def section(title: str, settings, key: str, *, expanded: bool = False, tooltip: str = ""):
    """A foldable section (superqt's ``QCollapsible``) whose state is remembered.

    Parameters
    ----------
    title : str
        The text on the section's fold button.
    settings : QSettings
        The dock's settings; the state is stored under ``section/<key>``.
    key : str
        The setting's name.
    expanded : bool
        Open the first time a user sees it.
    tooltip : str
        What the section holds, on its button.

    Returns
    -------
    superqt.QCollapsible
        Add its widgets with ``addWidget``.
    """
    from superqt import QCollapsible

    from . import settings as _settings

    box = QCollapsible(title, expandedIcon="▾", collapsedIcon="▸")
    box.setDuration(0)  # no animation: the dock's height changes at once
    box.layout().setContentsMargins(0, 0, 0, 0)
    box.content().layout().setContentsMargins(8, 0, 0, 0)
    if tooltip:
        box.toggleButton().setToolTip(tooltip)
    if _settings.read(settings, f"section/{key}", expanded):
        box.expand(animate=False)
    box.toggled.connect(lambda: settings.setValue(f"section/{key}", box.isExpanded()))
    return box


def scroll_into_view(*widgets: QWidget) -> None:
    """Scroll the dock holding ``widgets`` so that they are seen, once it is laid out
    anew (an action's result below the fold on a laptop is a result not seen); the last
    one wins where they do not all fit."""
    from qtpy.compat import isalive
    from qtpy.QtCore import QTimer

    def scroll() -> None:
        for widget in widgets:
            if not isalive(widget) or widget.isHidden():
                continue
            parent = widget.parentWidget()
            while parent is not None and not isinstance(parent, QScrollArea):
                parent = parent.parentWidget()
            if parent is not None:
                parent.ensureWidgetVisible(widget, 0, 24)

    QTimer.singleShot(0, scroll)


def breakable(text: str) -> str:
    """``text`` with a zero-width space after each ``_ - / .``: Qt wraps only at spaces,
    so one long layer name (``DAPI_field03_deconvolved_MaxIP``) otherwise sets a
    word-wrapped label's least width, and widens the dock past a laptop's screen.
    A number never breaks: no break point between a digit and the next digit.

    Examples
    --------
    >>> breakable("a_b 3.9e-05 x.").split("\u200b")
    ['a_', 'b 3.9e-05 x.', '']
    """
    return _BREAK.sub(lambda m: m.group(0) + "\u200b", text)


class WrappingLabel(QLabel):
    """A word-wrapped label that also wraps long names (see :func:`breakable`).

    ``text()`` gives back what was set, without the break points.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(breakable(text))

    def text(self) -> str:
        return super().text().replace("\u200b", "")


def set_row_names(table, names) -> None:
    """Name a table's rows; a name over :data:`ROW_NAME_CHARACTERS` is shortened in its
    middle (the whole name in its tooltip), so that it cannot widen the dock."""
    table.setVerticalHeaderLabels([""] * len(names))  # the row count
    for row, name in enumerate(names):
        shown = name
        if len(name) > ROW_NAME_CHARACTERS:
            half = (ROW_NAME_CHARACTERS - 1) // 2
            shown = f"{name[:half]}…{name[-half:]}"
        item = QTableWidgetItem(shown)
        item.setToolTip(name)
        table.setVerticalHeaderItem(row, item)


def fit_table(table) -> None:
    """Size a table to its content: every row and column shown, no scroll bar.

    Tables in a dock are small (a row per class or method); a scroll bar inside
    a scrolling dock hides numbers a user came for. Call after filling it.
    """
    from qtpy.QtWidgets import QAbstractItemView, QHeaderView

    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setMinimumSectionSize(24)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    frame = 2 * table.frameWidth()
    height = header.sizeHint().height() if not header.isHidden() else 0
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + frame)
    rows = table.verticalHeader()
    width = rows.sizeHint().width() if not rows.isHidden() else 0
    width += sum(table.columnWidth(c) for c in range(table.columnCount()))
    table.setMinimumWidth(width + frame)
