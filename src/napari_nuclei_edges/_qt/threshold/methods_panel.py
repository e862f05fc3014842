"""*Try all methods*: each method's threshold, share above and Dice per class, and a gallery.

A view only: the numbers come from :func:`~napari_nuclei_edges.segmentation.compare.
compare_methods` and the thumbnails from :func:`~...compare.thumbnail`, computed by the dock.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtGui import QColor, QImage, QPixmap
from qtpy.QtWidgets import (
    QGridLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...segmentation.compare import THUMBNAIL
from ..common.layout import fit_table, scroll_into_view, section
from ..common.plots import layer_color


def short_name(name: str) -> str:
    """A class name short enough for a column header (the full name is its tooltip)."""
    return name if len(name) <= 6 else name[:5] + "."


class MethodsPanel(QWidget):
    """The table of every automatic method and the method × class gallery."""

    method_clicked = Signal(str)

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().hide()
        self.table.setToolTip(
            "Each method's threshold on the pooled layers, then per layer: % of pixels above "
            "it and, with a ground truth, the Dice of x > t (1 = perfect). Click a row to use it."
        )
        self.table.cellClicked.connect(self._on_cell_clicked)
        self._grid = QGridLayout()
        self._grid.setSpacing(2)
        self._grid_holder = QWidget()
        self._grid_holder.setLayout(self._grid)
        self.gallery_section = section(
            "Compare methods by eye", settings, "gallery", expanded=True,
            tooltip="Each method's mask outline (yellow) on the image shown of each layer "
            "(a large image: its centre, at half size or more).",
        )  # fmt: skip
        self.gallery_section.addWidget(self._grid_holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.gallery_section)
        self._methods: list[str] = []
        self.hide()

    def show_rows(self, rows) -> None:
        """Fill the table from ``compare_methods``'s rows."""
        names = list(rows[0].above) if rows and rows[0].above else []
        for row in rows:
            names = names or list(row.above)
        with_dice = any(row.dice for row in rows)
        headers = ["method", "t", *(short_name(n) for n in names)]
        if with_dice:
            headers.append("Dice")
        table = self.table
        table.clear()
        table.setColumnCount(len(headers))
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels(headers)
        for column, name in enumerate(names, start=2):
            header = table.horizontalHeaderItem(column)
            header.setToolTip(f"{name}: % of pixels above t" + (" / Dice" if with_dice else ""))
            header.setForeground(QColor(layer_color(name, column - 2)))
        self._methods = [row.method for row in rows]
        for r, row in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(row.method))
            if row.threshold is None:
                item = QTableWidgetItem("none")
                item.setToolTip(row.problem or "")
                table.setItem(r, 1, item)
                continue
            table.setItem(r, 1, QTableWidgetItem(f"{row.threshold:.5g}"))
            for column, name in enumerate(names, start=2):
                text = f"{100 * row.above[name]:.0f}%"
                if name in row.dice:
                    text += f"\n{row.dice[name]:.2f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                table.setItem(r, column, item)
            if with_dice and row.mean_dice is not None:
                item = QTableWidgetItem(f"{row.mean_dice:.2f}")
                item.setToolTip("Mean Dice over the layers with a ground truth.")
                table.setItem(r, len(headers) - 1, item)
        fit_table(table)
        self.show()
        if rows:
            scroll_into_view(self.table)  # the comparison, seen

    def show_gallery(self, thumbnails: dict[tuple[str, str], np.ndarray], tips: dict) -> None:
        """Thumbnails by ``(method, layer)``: one row per method, one column per layer."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        methods = list(dict.fromkeys(m for m, _ in thumbnails))
        names = list(dict.fromkeys(n for _, n in thumbnails))
        for column, name in enumerate(names, start=1):
            header = QLabel(short_name(name), alignment=Qt.AlignmentFlag.AlignCenter)
            header.setStyleSheet(f"color: {layer_color(name, column - 1)}")
            header.setToolTip(name)
            self._grid.addWidget(header, 0, column)
        for row, method in enumerate(methods, start=1):
            self._grid.addWidget(QLabel(method), row, 0)
            for column, name in enumerate(names, start=1):
                rgb = thumbnails.get((method, name))
                label = QLabel()
                label.setToolTip(tips.get((method, name), ""))
                if rgb is not None:
                    label.setPixmap(_pixmap(rgb))
                self._grid.addWidget(label, row, column)
        for index in range(self._grid.count()):
            self._grid.itemAt(index).widget().show()  # counted in the size at once
        self._fit_gallery()
        # and again once Qt has laid the new tiles out (their queued shows, the table's)
        QTimer.singleShot(0, self._fit_gallery)

    def _fit_gallery(self) -> None:
        """An open gallery as tall as its thumbnails: superqt's section keeps the height it
        measured when it was opened, and re-measures only when its content is resized,
        which new tiles in a dock of unchanged width may never cause (an empty strip)."""
        if self.gallery_section.isExpanded():
            self._grid.activate()
            self.gallery_section.expand(animate=False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_gallery()

    def _on_cell_clicked(self, row: int, column: int) -> None:
        if 0 <= row < len(self._methods):
            self.method_clicked.emit(self._methods[row])


def _pixmap(rgb: np.ndarray) -> QPixmap:
    """The thumbnail pixel for pixel (it is made at its size, see ``compare.thumbnail``)."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(image)
    if max(h, w) > THUMBNAIL:  # not one of ours: fit it, smoothly, never dropping lines
        pixmap = pixmap.scaled(THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)  # fmt: skip
    return pixmap
