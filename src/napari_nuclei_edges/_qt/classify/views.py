"""The classifier dock's live views: curves, confusion heat map, filters, misclassified images."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QColor, QIcon, QImage, QPixmap
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..common.layout import set_row_names
from ..common.plots import legend_above, style_plot_item, theme_colors

#: Okabe-Ito: training solid blue, validation dashed orange (colour-blind safe).
TRAIN_COLOR, VAL_COLOR = "#56B4E9", "#E69F00"
ROW_HEIGHT = 26  # the confusion table's rows, in pixels
PLOT_HEIGHT = 193  # each of the two curve plots, in pixels
FILTERS_HEIGHT = 48  # the filter gallery's height before it has filters


def gray_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A grey-scale pixmap of a 2D array (its own min–max range), ``size`` pixels wide."""
    image = np.asarray(image, np.float64)
    low, high = np.nanmin(image), np.nanmax(image)
    scaled = np.zeros(image.shape, np.uint8)
    if high > low:
        scaled = np.ascontiguousarray(((image - low) / (high - low) * 255).astype(np.uint8))
    h, w = scaled.shape
    qimage = QImage(scaled.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaledToWidth(size, Qt.TransformationMode.FastTransformation)


class CurvesView(QWidget):
    """Loss and accuracy against the epoch, training and validation; baseline and chance lines."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        # both plots in one view: one scene, so that an epoch's new points are drawn
        # in one frame (two views repainted one frame apart)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setFixedHeight(2 * PLOT_HEIGHT)  # both plots and the confusion fit
        self.loss_plot = self.view.addPlot(row=0, col=0)
        self.accuracy_plot = self.view.addPlot(row=1, col=0)
        legend_above(self.loss_plot, columns=2)  # above the data: the last epochs stay seen
        self.accuracy_plot.setYRange(0, 1)
        self.accuracy_plot.setXLink(self.loss_plot)
        self.curves = {}
        for plot, what, label in ((self.loss_plot, "loss", "loss (cross-entropy)"),
                                  (self.accuracy_plot, "accuracy", "accuracy")):  # fmt: skip
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", label)
            plot.getAxis("left").enableAutoSIPrefix(False)  # no "×0.001"
            self.curves[f"train_{what}"] = plot.plot(
                pen=pg.mkPen(TRAIN_COLOR, width=2), name="training"
            )
            self.curves[f"val_{what}"] = plot.plot(
                pen=pg.mkPen(VAL_COLOR, width=2, style=Qt.PenStyle.DashLine), name="validation"
            )
        self.baseline_line = pg.InfiniteLine(
            angle=0, label="baseline", labelOpts={"position": 0.3, "anchors": [(0.5, 0), (0.5, 0)]}
        )
        self.chance_line = pg.InfiniteLine(
            angle=0, label="chance", labelOpts={"position": 0.8, "anchors": [(0.5, 0), (0.5, 0)]}
        )
        for line in (self.baseline_line, self.chance_line):
            line.hide()
            self.accuracy_plot.addItem(line)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.restyle(theme_colors(viewer))
        self.clear()

    def restyle(self, colors: dict[str, str]) -> None:
        self.view.setBackground(colors["background"])
        for plot in (self.loss_plot, self.accuracy_plot):
            style_plot_item(plot, colors)
        self.chance_line.setPen(pg.mkPen(colors["text"], width=1, style=Qt.PenStyle.DotLine))
        self.baseline_line.setPen(pg.mkPen("#009E73", width=1.5, style=Qt.PenStyle.DashDotLine))
        for line in (self.baseline_line, self.chance_line):
            line.label.setColor(colors["text"])

    def begin(self, epochs: int) -> None:
        """Fix the axes for a run of ``epochs``: the epochs across, accuracy 0–1.

        pyqtgraph's auto-range works out the new range while it paints, and every
        change asks for another paint: four frames of the whole window an epoch,
        each one 10–25 ms in software OpenGL. With the range set here, an epoch is
        one frame.
        """
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.disableAutoRange()
            # whole epochs only: 1.5 is no epoch
            step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if epochs / s <= 8)
            plot.getAxis("bottom").setTickSpacing(major=step, minor=step)
        self.loss_plot.setXRange(1, max(epochs, 2), padding=0.02)
        self.accuracy_plot.setYRange(0, 1, padding=0.02)
        self._loss_top = 0.0
        self.loss_plot.setYRange(0, 1, padding=0.02)
        self._settle()

    def _settle(self) -> None:
        """Apply new ranges now: pyqtgraph would apply them while painting, and ask
        for one more frame to draw the result."""
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getViewBox().prepareForPaint()

    def _fit_loss(self) -> None:
        """Raise the loss axis when a loss goes above it, with room so it rarely moves."""
        losses = np.asarray(self._data["train_loss"] + self._data["val_loss"], float)
        losses = losses[np.isfinite(losses)]
        if losses.size and losses.max() > self._loss_top:
            self._loss_top = 1.25 * float(losses.max())
            self.loss_plot.setYRange(0, self._loss_top, padding=0.02)
            self._settle()

    def clear(self) -> None:
        """No curves, no lines, the axes as a new dock shows them."""
        self.chance_line.hide()
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getAxis("bottom").setTickSpacing()  # pyqtgraph's own ticks again
        self.loss_plot.setXRange(0, 1, padding=0.02)
        self.loss_plot.setYRange(0, 1, padding=0.02)
        self.accuracy_plot.setYRange(0, 1, padding=0.02)
        self._loss_top = 0.0
        self._data = {name: [] for name in ("epoch", *self.curves)}
        for curve in self.curves.values():
            curve.setData([], [])
        self.baseline_line.hide()

    def set_chance(self, n_classes: int) -> None:
        self.chance_line.show()  # first: a hidden label ignores a new text
        self.chance_line.setValue(1 / max(n_classes, 1))
        self.chance_line.label.setFormat(f"chance {1 / max(n_classes, 1):.0%}")

    def set_baseline(self, accuracy: float | None) -> None:
        if accuracy is None:
            self.baseline_line.hide()
            return
        self.baseline_line.show()  # first: a hidden label ignores a new text
        self.baseline_line.setValue(accuracy)
        self.baseline_line.label.setFormat(f"measurements {accuracy:.0%}")

    def show(self, history) -> None:
        """Draw every step of ``history`` (the ClassifierSteps so far), one setData a curve."""
        self._data = {
            "epoch": [s.epoch for s in history],
            "train_loss": [s.loss for s in history],
            "val_loss": [s.val_loss for s in history],
            "train_accuracy": [s.accuracy for s in history],
            "val_accuracy": [s.val_accuracy for s in history],
        }
        for name, curve in self.curves.items():
            curve.setData(self._data["epoch"], self._data[name])
        self._fit_loss()

    def series(self, name: str) -> list[float]:
        """The values drawn by curve ``name`` (``train_loss``, ``val_accuracy``, …)."""
        return list(self._data[name])


class ConfusionView(QTableWidget):
    """The validation confusion matrix as a heat map: rows true class, columns predicted."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setToolTip(
            "Validation images by true class (rows) and predicted class (columns): the "
            "diagonal is right, the rest shows which stages are confused."
        )
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.matrix: np.ndarray | None = None
        self._names: list[str] | None = None
        header = self.horizontalHeader()
        header.setFixedHeight(header.fontMetrics().height() + 8)
        # sized for the five stages from the start: a table that grows when training
        # starts moves everything below it, and the dock is drawn again and again
        self.setFixedHeight(self._height_for(5))

    def _height_for(self, rows: int) -> int:
        return self.horizontalHeader().height() + ROW_HEIGHT * rows + 4

    def clear_counts(self) -> None:
        """Empty every cell, keeping the classes: the table keeps its size."""
        self.matrix = None
        for row in range(self.rowCount()):
            for column in range(self.columnCount()):
                item = self.item(row, column)
                if item is not None:
                    item.setText("")
                    item.setBackground(QColor(0, 0, 0, 0))

    def set_classes(self, names) -> None:
        names = list(names)
        if names == self._names:
            return self.clear_counts()  # the same headers: nothing moves
        self._names = names
        short = [name[:6] for name in names]
        self.setRowCount(len(names))
        self.setColumnCount(len(names))
        self.setHorizontalHeaderLabels(short)
        set_row_names(self, [f"{name} (true)" for name in names])
        for row in range(len(names)):
            for column in range(len(names)):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.setItem(row, column, item)
        self.setFixedHeight(self._height_for(len(names)))
        for row in range(len(names)):
            self.setRowHeight(row, ROW_HEIGHT)

    def show_matrix(self, confusion: np.ndarray) -> None:
        self.matrix = np.asarray(confusion)
        totals = np.maximum(self.matrix.sum(axis=1, keepdims=True), 1)
        share = self.matrix / totals
        for (row, column), count in np.ndenumerate(self.matrix):
            item = self.item(row, column)
            if item is None:
                continue
            item.setText(str(int(count)))
            right = row == column
            base = QColor("#009E73") if right else QColor("#D55E00")
            base.setAlphaF(float(0.15 + 0.85 * share[row, column]) if count else 0.0)
            item.setBackground(base)


class FiltersView(QLabel):
    """The first convolution's kernels as a gallery of small grey tiles."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(
            "The first layer's 3 × 3 filters (bright: positive weights): the features the "
            "network learns to look for, edges and blobs — or the background."
        )
        self.filters: np.ndarray | None = None
        # the default CNN's gallery fits: the dock does not move when it first appears
        self.setMinimumHeight(FILTERS_HEIGHT)

    def show_filters(self, filters: np.ndarray | None) -> None:
        self.filters = filters
        if filters is None:
            self.setText("The feature model has no filters: it reads the measurements.")
            return
        n = len(filters)
        columns = min(n, 16)
        rows = -(-n // columns)
        k = filters.shape[-1]
        mosaic = np.full((rows * (k + 1) - 1, columns * (k + 1) - 1), np.nan)
        for i, kernel in enumerate(filters):
            r, c = divmod(i, columns)
            span = np.abs(kernel).max() or 1.0
            mosaic[r * (k + 1) : r * (k + 1) + k, c * (k + 1) : c * (k + 1) + k] = kernel / span
        mosaic = np.nan_to_num(mosaic, nan=0.0)
        self.setPixmap(gray_pixmap(mosaic, min(44 * columns, 380)))


class ThumbnailsView(QListWidget):
    """Misclassified validation images; a click sends (layer, index) to jump to it."""

    chosen = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(56, 56))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWrapping(True)
        self.setFixedHeight(96)
        self.setToolTip(
            "Validation images the model gets wrong (true → predicted); click one to show "
            "it in its layer."
        )
        self.itemClicked.connect(self._on_item_clicked)

    def show_items(self, items) -> None:
        """``items``: (layer name, index, image, true name, predicted name) tuples."""
        self.setUpdatesEnabled(False)
        self.clear()
        for layer, index, image, true, predicted in items:
            item = QListWidgetItem(QIcon(gray_pixmap(image, 56)), f"{true[:5]}→{predicted[:5]}")
            item.setData(Qt.ItemDataRole.UserRole, (layer, int(index)))
            item.setToolTip(f"{layer} image {index}: {true}, predicted {predicted}")
            self.addItem(item)
        self.setUpdatesEnabled(True)

    def _on_item_clicked(self, item) -> None:
        layer, index = item.data(Qt.ItemDataRole.UserRole)
        self.chosen.emit(layer, index)
