"""The classifier dock's measurements: measure a layer's nuclei, show them sortable, export."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..common.outputs import put_labels
from ..common.workers import start_worker
from .results import ResultLabel

#: Columns the table shows (the CSV has them all).
SHOWN = ("image", "label", "area", "perimeter", "eccentricity", "solidity", "intensity_mean",
         "intensity_max", "intensity_std", "distance_to_centre", "object_count")  # fmt: skip
#: The most rows the table shows (the CSV has them all).
MAX_ROWS = 5000


class _NumberItem(QTableWidgetItem):
    """A cell that sorts by its number, not its text."""

    def __lt__(self, other) -> bool:
        return self.data(Qt.ItemDataRole.UserRole) < other.data(Qt.ItemDataRole.UserRole)


class MeasurementsPanel(QWidget):
    """Measure button, a sortable table of every nucleus, and Export measurements CSV…."""

    def __init__(self, viewer, layer_name: Callable[[], str], parent=None):
        super().__init__(parent)
        self._viewer, self._layer_name = viewer, layer_name
        self.result = ResultLabel()  # under the buttons, over the table
        self.table: dict | None = None
        self._worker = None
        self.measure_button = QPushButton("Measure nuclei")
        self.measure_button.setToolTip(
            "Segment the image layer (Otsu per image) into <layer>_nuclei and measure every "
            "nucleus: shown below, and on hover over the labels."
        )
        self.export_button = QPushButton("Export measurements CSV…")
        self.export_button.setEnabled(False)
        self.view = QTableWidget()
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSortingEnabled(True)
        self.view.setMinimumHeight(160)
        self.view.setToolTip("Click a column's header to sort by it.")
        buttons = QHBoxLayout()
        buttons.addWidget(self.measure_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(self.view)
        self.measure_button.clicked.connect(self.measure)
        self.export_button.clicked.connect(self._on_export_clicked)

    def _say(self, text: str) -> None:
        self.result.say(text, scroll=True)

    @property
    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def measure(self):
        """Measure the chosen layer in a worker; the labels and the table follow."""
        from ...classification.measurements import measure_objects

        name = self._layer_name()
        if name not in self._viewer.layers:
            return self._say("Choose an image layer to measure.")
        data = np.asarray(self._viewer.layers[name].data)

        def on_result(result) -> None:
            labels, table = result
            if name not in self._viewer.layers:
                return
            layer = put_labels(self._viewer, name, "nuclei", labels,
                               {"segmentation": "otsu per image, sigma 1"})  # fmt: skip
            layer.features = table
            self.show_table(table)
            self._say(f"{layer.name}: {len(table['index'])} nuclei measured; hover to read them.")

        self.measure_button.setEnabled(False)
        self._worker = start_worker(
            measure_objects, data, on_returned=on_result, on_failure=self._say,
            on_finished=lambda: self.measure_button.setEnabled(True), owner=self,
        )  # fmt: skip
        return self._worker

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.quit()

    def show_table(self, table: dict) -> None:
        self.table = table
        view = self.view
        view.setSortingEnabled(False)
        n = min(len(table["index"]), MAX_ROWS)
        view.setRowCount(n)
        view.setColumnCount(len(SHOWN))
        view.setHorizontalHeaderLabels([name.replace("_", " ") for name in SHOWN])
        for column, name in enumerate(SHOWN):
            values = table[name]
            for row in range(n):
                value = float(values[row])
                text = (
                    f"{value:.0f}"
                    if name in ("image", "label", "object_count")
                    else f"{value:.3g}"
                )
                item = _NumberItem(text)
                item.setData(Qt.ItemDataRole.UserRole, value)
                view.setItem(row, column, item)
        view.setSortingEnabled(True)
        self.export_button.setEnabled(True)

    def export(self, path) -> None:
        from ...tables import save_table, written_sentence

        try:
            written = save_table(path, self.table)
        except OSError as exc:
            return self._say(f"Could not write the measurements: {exc}")
        self._say(written_sentence(written, f"{written.rows} nuclei", path))

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the measurements",
                                              "measurements.csv", "CSV (*.csv)")  # fmt: skip
        if path:
            self.export(path)
