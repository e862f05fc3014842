"""HistogramThresholdWidget: per-class histograms, a draggable threshold, live Labels previews."""

from __future__ import annotations

import time

import napari.viewer
import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...intensity import THRESHOLD_METHODS, ClassHistograms, auto_threshold, class_histograms
from ..common import settings as _settings
from ..common.layers import histogram_input, is_lazy, layer_problem
from ..common.outputs import is_owned, owned_output, put_labels, rename_outputs
from .histogram_view import HistogramView, StatisticsView
from .previews import show_mask_preview
from .segment_panel import MATCHING_TRUTH, NO_TRUTH, SegmentationPanel

MANUAL = "manual"
#: Requests closer together than this share one preview update.
FRAME_SECONDS = 1 / 60


class HistogramThresholdWidget(QWidget):
    """Histograms of image layers, a threshold on them, and live ``<layer>_mask`` previews.

    Parameters
    ----------
    viewer : napari.Viewer
        Works on the viewer's image layers (all of them are selected at first).

    Examples
    --------
    >>> w = HistogramThresholdWidget(viewer)  # doctest: +SKIP
    >>> w.threshold = 80.0      # moves the line, updates every <layer>_mask  # doctest: +SKIP
    >>> w.method = "otsu"       # computes Otsu's threshold and applies it  # doctest: +SKIP
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("threshold")
        self._histograms: ClassHistograms | None = None
        # the user's own choices; otherwise data layers start checked, plugin outputs not
        self._choices: dict[str, bool] = {}
        self._following = False  # a method's threshold is following the selection
        self._worker = None
        self._last_preview = 0.0
        self._opening = True  # opening the dock shows; it does not make layers
        self._known_names: dict[int, str] = {}

        self._layer_list = QListWidget()
        self._layer_list.setMaximumHeight(110)
        self._layer_list.setToolTip("The image layers whose histograms and previews are shown.")
        self._log_check = QCheckBox("log counts")
        self._density_check = QCheckBox("density")
        self._density_check.setToolTip("Normalise each histogram to unit area to compare shapes.")
        self._bins_spin = QSpinBox(minimum=0, maximum=4096, specialValueText="auto")
        self._bins_spin.setToolTip("Number of bins; auto = one per integer value (≤ 256).")

        self._histogram_view = HistogramView(viewer)
        # short names for what the handlers touch most
        self._plot = self._histogram_view.plot
        self._curves = self._histogram_view.curves
        self._threshold_line = self._histogram_view.threshold_line
        self._upper_line = self._histogram_view.upper_line
        self._method_line = self._histogram_view.method_line

        self._threshold_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12)
        self._threshold_spin.setToolTip("Foreground is x > threshold (bright objects).")
        self._upper_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12)
        self._band_check = QCheckBox("band")
        self._band_check.setToolTip("Foreground is threshold < x ≤ upper.")
        self._method_combo = QComboBox()
        self._method_combo.addItems([MANUAL, *THRESHOLD_METHODS])
        self._method_combo.setToolTip("An automatic method computes the threshold for you.")
        self._polarity_combo = QComboBox()
        self._polarity_combo.addItems(["bright", "dark"])
        self._polarity_combo.setToolTip(
            "Objects brighter (x > t) or darker (x ≤ t) than background."
        )
        self._preview_check = QCheckBox("live preview (<layer>_mask)")
        self._try_all_button = QPushButton("Try all methods")
        self._methods_table = QTableWidget(0, 2)
        self._methods_table.setHorizontalHeaderLabels(["method", "threshold"])
        self._methods_table.setMaximumHeight(150)
        self._methods_table.hide()
        self._statistics_view = StatisticsView()
        self._stats_table = self._statistics_view.table
        self._separability_label = self._statistics_view.separability_label
        self._status_label = QLabel(wordWrap=True)
        self._exact_button = QPushButton("Exact histogram (read every image)")
        self._exact_button.clicked.connect(self.exact_histograms)
        self._exact_button.setToolTip(
            "Lazy layers are histogrammed from a sample of their images; this reads all of "
            "them in a background worker, a block at a time, with a progress bar."
        )
        self._exact_button.hide()
        self._exact_worker = None
        self._segmentation_panel = SegmentationPanel(self._settings)

        view_row = QHBoxLayout()
        for w in (self._log_check, self._density_check, QLabel("bins"), self._bins_spin):
            view_row.addWidget(w)
        form = QFormLayout()
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self._threshold_spin)
        threshold_row.addWidget(self._band_check)
        threshold_row.addWidget(self._upper_spin)
        form.addRow("threshold", threshold_row)
        form.addRow("method", self._method_combo)
        form.addRow("objects are", self._polarity_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Image layers"))
        layout.addWidget(self._layer_list)
        layout.addLayout(view_row)
        layout.addWidget(self._histogram_view)
        layout.addLayout(form)
        layout.addWidget(self._preview_check)
        layout.addWidget(self._try_all_button)
        layout.addWidget(self._methods_table)
        layout.addWidget(self._statistics_view)
        layout.addWidget(self._status_label)
        layout.addWidget(self._exact_button)
        layout.addWidget(self._segmentation_panel)
        layout.addStretch()

        self._preview_timer = QTimer(self, singleShot=True, interval=round(FRAME_SECONDS * 1e3))
        self._preview_timer.timeout.connect(self._update_preview)

        self._restore_settings()
        self._threshold_line.sigPositionChanged.connect(self._on_line_moved)
        self._upper_line.sigPositionChanged.connect(self._on_upper_line_moved)
        self._threshold_spin.valueChanged.connect(self._on_threshold_typed)
        self._upper_spin.valueChanged.connect(self._on_upper_typed)
        self._band_check.toggled.connect(self._on_band_toggled)
        self._method_combo.currentTextChanged.connect(self._on_method_changed)
        self._polarity_combo.currentTextChanged.connect(self._on_polarity_changed)
        self._preview_check.toggled.connect(self._on_preview_toggled)
        self._log_check.toggled.connect(self._on_view_changed)
        self._density_check.toggled.connect(self._on_view_changed)
        self._bins_spin.valueChanged.connect(self._on_bins_changed)
        self._try_all_button.clicked.connect(self._on_try_all_clicked)
        self._methods_table.cellClicked.connect(self._on_method_row_clicked)
        self._layer_list.itemChanged.connect(self._on_layer_checked)
        self._segmentation_panel.apply_button.clicked.connect(self.apply)
        viewer.layers.events.inserted.connect(self._on_layers_changed)
        viewer.layers.events.removed.connect(self._on_layers_changed)
        viewer.layers.events.moved.connect(self._on_layers_changed)
        self._on_layers_changed()
        self._opening = False

    # ------------------------------------------------------------------ public API

    @property
    def threshold(self) -> float:
        return self._threshold_spin.value()

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold_spin.setValue(float(value))

    @property
    def method(self) -> str:
        return self._method_combo.currentText()

    @method.setter
    def method(self, name: str) -> None:
        if name not in (MANUAL, *THRESHOLD_METHODS):
            raise ValueError(f"unknown method {name!r}; choose one of {THRESHOLD_METHODS}.")
        if name == self.method and name != MANUAL:
            self._on_method_changed(name)
        self._method_combo.setCurrentText(name)

    @property
    def selected_layers(self) -> list[Image]:
        """The checked image layers that can be thresholded."""
        names = {
            self._layer_list.item(i).text()
            for i in range(self._layer_list.count())
            if self._layer_list.item(i).checkState() == Qt.Checked
        }
        return [layer for layer in self._image_layers() if layer.name in names]

    def select_layers(self, names: list[str]) -> None:
        """Check exactly the named image layers."""
        for i in range(self._layer_list.count()):
            item = self._layer_list.item(i)
            item.setCheckState(Qt.Checked if item.text() in names else Qt.Unchecked)

    def apply(self):
        """Run the improved segmentation on every selected layer into ``<layer>_labels``.

        Returns the napari worker (already started), so a script can wait for it.
        """
        from napari.qt.threading import create_worker

        from ...segmentation import segment_nuclei

        layers = [layer for layer in self.selected_layers if not layer_problem(layer)]
        if not layers:
            self._say("Select an image layer to segment.")
            return None
        options = self._segmentation_panel.options()
        polarity = self._polarity_combo.currentText()
        method = self.method if self.method != MANUAL else "otsu"
        threshold = self.threshold if options["rule"] == "global" else None
        jobs = [(layer.name, np.asarray(layer.data)) for layer in layers]

        def run():
            for name, data in jobs:
                labels, used = segment_nuclei(
                    data, threshold=threshold, method=method, polarity=polarity,
                    return_thresholds=True, **options,
                )  # fmt: skip
                yield name, labels, used

        parameters = {"method": method, "polarity": polarity, **options}
        worker = create_worker(run, _progress={"total": len(jobs), "desc": "Segmenting"})
        worker.yielded.connect(lambda result: self._on_labels_ready(result, parameters))
        worker.errored.connect(lambda exc: self._say(f"Segmentation failed: {exc}"))
        self._worker = worker
        worker.start()
        return worker

    # ------------------------------------------------------------------ layers

    def _image_layers(self) -> list[Image]:
        return [layer for layer in self._viewer.layers if isinstance(layer, Image)]

    def _on_layers_changed(self, event=None) -> None:
        self._layer_list.blockSignals(True)
        self._layer_list.clear()
        for layer in self._image_layers():
            item = QListWidgetItem(layer.name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            checked = self._choices.get(layer.name, not is_owned(layer))
            item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
            problem = layer_problem(layer)
            if problem:
                item.setToolTip(problem)
                item.setForeground(Qt.gray)
            self._layer_list.addItem(item)
            layer.events.name.disconnect(self._on_layer_renamed)  # no duplicates
            layer.events.name.connect(self._on_layer_renamed)
            self._known_names[id(layer)] = layer.name
        self._layer_list.blockSignals(False)
        truths = [
            layer.name
            for layer in self._viewer.layers
            if isinstance(layer, Labels) and not is_owned(layer)
        ]
        self._segmentation_panel.set_truth_choices(truths)
        self._recompute()

    def _on_layer_renamed(self, event) -> None:
        """Outputs follow their source's new name, so nothing is orphaned or duplicated."""
        layer = event.source
        old = self._known_names.get(id(layer))
        if old is not None and old != layer.name:
            rename_outputs(self._viewer, old, layer.name)
            if old in self._choices:
                self._choices[layer.name] = self._choices.pop(old)
        self._on_layers_changed()

    def _on_layer_checked(self, item: QListWidgetItem) -> None:
        self._choices[item.text()] = item.checkState() == Qt.Checked
        self._recompute()

    # ------------------------------------------------------------------ histograms

    def _recompute(self) -> None:
        """Histograms, statistics and plot of the selected layers."""
        stacks, notes = {}, []
        for layer in self.selected_layers:
            problem = layer_problem(layer)
            if problem:
                notes.append(problem)
                continue
            data, note = histogram_input(layer)
            stacks[layer.name] = data
            if note:
                notes.append(note)
        self._say(" ".join(notes))
        self._exact_button.setVisible(any(is_lazy(layer.data) for layer in self.selected_layers))
        if not stacks:
            self._histograms = None
            self._histogram_view.clear()
            self._statistics_view.clear()
            return
        bins = self._bins_spin.value() or None
        self._histograms = class_histograms(stacks, bins=bins, threshold=self.threshold)
        self._set_threshold_range()
        self._draw_histograms()
        self._statistics_view.show_statistics(self._histograms, self.threshold)
        self._statistics_view.show_separability(self._histograms)
        if self.method != MANUAL:
            # a chosen method is a rule: its threshold follows the selected layers
            self._following = True
            try:
                self._on_method_changed(self.method)
            finally:
                self._following = False

    def _set_threshold_range(self) -> None:
        edges = self._histograms.edges
        low, high = float(edges[0]), float(edges[-1])
        unit = self._histograms.unit_bins
        decimals = 2 if unit else max(2, int(np.ceil(-np.log10((high - low) / 1000 + 1e-30))))
        for spin in (self._threshold_spin, self._upper_spin):
            spin.blockSignals(True)
            spin.setDecimals(min(decimals, 6))
            spin.setRange(low, high)
            spin.setSingleStep(1.0 if unit else (high - low) / 100)
            spin.blockSignals(False)
        self._histogram_view.set_bounds(low, high)
        self._threshold_line.setValue(self._threshold_spin.value())

    def _draw_histograms(self) -> None:
        self._histogram_view.draw(
            self._histograms,
            density=self._density_check.isChecked(),
            log=self._log_check.isChecked(),
        )

    # ------------------------------------------------------------------ threshold

    def _on_line_moved(self, line) -> None:
        self._threshold_spin.setValue(line.value())

    def _on_upper_line_moved(self, line) -> None:
        self._upper_spin.setValue(line.value())

    def _on_threshold_typed(self, value: float) -> None:
        if self._threshold_line.value() != value:
            self._threshold_line.setValue(value)  # its signal comes back here with no change
        if self.method != MANUAL and abs(value - self._method_line.value()) > 1e-9:
            self._method_combo.blockSignals(True)
            self._method_combo.setCurrentText(MANUAL)  # a hand-set value is no method's
            self._method_combo.blockSignals(False)
        if self._histograms is not None:
            self._statistics_view.show_statistics(self._histograms, value)
        self._settings.setValue("threshold", value)
        self._schedule_preview()

    def _on_upper_typed(self, value: float) -> None:
        if self._upper_line.value() != value:
            self._upper_line.setValue(value)
        self._schedule_preview()

    def _on_band_toggled(self, on: bool) -> None:
        self._upper_line.setVisible(on)
        self._upper_spin.setEnabled(on)
        if on and self._upper_spin.value() <= self.threshold:
            self._upper_spin.setValue(self._upper_spin.maximum())
        self._schedule_preview()

    def _on_polarity_changed(self, polarity: str) -> None:
        self._settings.setValue("polarity", polarity)
        self._schedule_preview()

    def _on_method_changed(self, method: str) -> None:
        self._settings.setValue("method", method)
        if method == MANUAL:
            self._method_line.hide()
            return
        value = self._compute_method(method)
        if value is None:
            self._method_line.hide()
            return
        self._method_line.setValue(value)
        self._method_line.show()
        self._threshold_spin.setValue(value)

    def _compute_method(self, method: str) -> float | None:
        layers = [layer for layer in self.selected_layers if not layer_problem(layer)]
        if not layers:
            self._say("Select an image layer first.")
            return None
        try:
            return auto_threshold(
                {layer.name: histogram_input(layer)[0] for layer in layers}, method
            )
        except ValueError as exc:
            self._say(f"{method}: {exc}")
            show_warning(f"{method}: {exc}")
            return None

    def _on_try_all_clicked(self) -> None:
        self._methods_table.setRowCount(len(THRESHOLD_METHODS))
        for row, method in enumerate(THRESHOLD_METHODS):
            value = self._compute_method(method)
            self._methods_table.setItem(row, 0, QTableWidgetItem(method))
            text = "—" if value is None else f"{value:.4g}"
            self._methods_table.setItem(row, 1, QTableWidgetItem(text))
        self._methods_table.show()

    def _on_method_row_clicked(self, row: int, column: int) -> None:
        self.method = self._methods_table.item(row, 0).text()

    def _on_view_changed(self, *_) -> None:
        self._settings.setValue("log", self._log_check.isChecked())
        self._settings.setValue("density", self._density_check.isChecked())
        if self._histograms is not None:
            self._draw_histograms()

    def _on_bins_changed(self, bins: int) -> None:
        self._settings.setValue("bins", bins)
        self._recompute()

    # ------------------------------------------------------------------ preview

    def _on_preview_toggled(self, on: bool) -> None:
        self._settings.setValue("preview", on)
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        """Preview now, in the frame that moves the line; coalesce bursts.

        A deferred update costs a second frame (the line, then the masks), so the
        first request is served at once. Requests that follow within one frame are
        folded into a single deferred update with the latest value: stale values
        are dropped rather than queued behind the hand.
        """
        if self._opening or not self._preview_check.isChecked():
            return
        if self._following and not any(
            owned_output(self._viewer, layer.name, "mask") for layer in self.selected_layers
        ):
            return  # a layer added elsewhere must not conjure up previews nobody asked for
        if time.perf_counter() - self._last_preview < FRAME_SECONDS:
            self._preview_timer.start()
            return
        self._preview_timer.stop()
        self._update_preview()

    def _update_preview(self) -> None:
        self._last_preview = time.perf_counter()
        threshold, polarity = self.threshold, self._polarity_combo.currentText()
        upper = self._upper_spin.value() if self._band_check.isChecked() else None
        parameters = {
            "threshold": threshold, "upper": upper, "polarity": polarity, "method": self.method,
            "rule": "x > threshold" if upper is None else "threshold < x <= upper",
        }  # fmt: skip
        for layer in self.selected_layers:
            if not layer_problem(layer):
                show_mask_preview(self._viewer, layer, threshold, upper, polarity, parameters)

    # ------------------------------------------------------------------ apply

    def _on_labels_ready(self, result, parameters: dict) -> None:
        name, labels, used = result
        parameters = {**parameters, "thresholds": np.atleast_1d(used).tolist()}
        put_labels(self._viewer, name, "labels", labels, parameters)
        self._show_scores()

    def _show_scores(self) -> None:
        from ...segmentation import segmentation_scores

        choice = self._segmentation_panel.truth_choice
        rows = {}
        for layer in self.selected_layers:
            labels = owned_output(self._viewer, layer.name, "labels")
            truth_name = f"{layer.name}_truth" if choice == MATCHING_TRUTH else choice
            if labels is None or choice == NO_TRUTH or truth_name not in self._viewer.layers:
                continue
            truth = self._viewer.layers[truth_name]
            if truth.data.shape != labels.data.shape:
                self._say(f"{truth_name} has shape {truth.data.shape}, not {labels.data.shape}.")
                continue
            rows[layer.name] = segmentation_scores(labels.data, np.asarray(truth.data))
        self._segmentation_panel.show_scores(rows)

    # ------------------------------------------------------------------ misc

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))

    def _restore_settings(self) -> None:
        s = self._settings
        self._log_check.setChecked(_settings.read(s, "log", False))
        self._density_check.setChecked(_settings.read(s, "density", False))
        self._bins_spin.setValue(_settings.read(s, "bins", 0))
        self._polarity_combo.setCurrentText(_settings.read(s, "polarity", "bright"))
        self._preview_check.setChecked(_settings.read(s, "preview", True))
        self._threshold_spin.setValue(_settings.read(s, "threshold", 0.0))
        self._method_combo.setCurrentText(_settings.read(s, "method", "otsu"))
        self._upper_spin.setEnabled(False)

    def exact_histograms(self):
        """Histogram every image of the selected layers in a worker (lazy layers: all blocks).

        Returns the started worker; its result replaces the sampled histograms
        until the selection or the bins change.
        """
        from napari.qt.threading import create_worker

        from ...intensity import iter_class_histograms

        stacks = {layer.name: layer.data for layer in self.selected_layers
                  if not layer_problem(layer)}  # fmt: skip
        if not stacks:
            return None
        if self._exact_worker is not None:
            self._exact_worker.quit()
        blocks = sum(int(np.ceil(np.prod(d.shape[:-2] or (1,)) / 16)) for d in stacks.values())
        worker = create_worker(
            iter_class_histograms, stacks, self._bins_spin.value() or None,
            threshold=self.threshold, _start_thread=False,
            _progress={"total": 2 * blocks, "desc": "Exact histograms"},
            _connect={"returned": self._on_exact_histograms,
                      "errored": lambda exc: self._say(f"Exact histograms failed: {exc}")},
        )  # fmt: skip
        self._exact_worker = worker
        self._exact_button.setEnabled(False)
        worker.finished.connect(lambda: self._exact_button.setEnabled(True))
        self._say(f"Reading every image of {', '.join(stacks)}…")
        worker.start()
        return worker

    def _on_exact_histograms(self, histograms) -> None:
        if set(histograms.counts) != {layer.name for layer in self.selected_layers}:
            return  # the selection changed meanwhile: that result is stale
        self._histograms = histograms
        self._set_threshold_range()
        self._draw_histograms()
        self._statistics_view.show_statistics(histograms, self.threshold)
        self._statistics_view.show_separability(histograms)
        pixels = sum(st.count for st in histograms.statistics.values())
        self._say(f"Exact histograms of every image ({pixels:,} pixels).")

    def closeEvent(self, event) -> None:
        self._disconnect()
        super().closeEvent(event)

    def _disconnect(self) -> None:
        self._preview_timer.stop()
        for worker in (self._worker, self._exact_worker):
            if worker is not None:
                worker.quit()
        for emitter in (
            self._viewer.layers.events.inserted,
            self._viewer.layers.events.removed,
            self._viewer.layers.events.moved,
        ):
            emitter.disconnect(self._on_layers_changed)
        for layer in self._image_layers():
            layer.events.name.disconnect(self._on_layer_renamed)
