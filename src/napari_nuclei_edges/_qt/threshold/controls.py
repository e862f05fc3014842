"""The threshold dock's controls, as views of its :class:`~.model.ThresholdState`.

Each control writes to the state through the state's methods (where its rules
live) and is redrawn, without echoing, from the state's events. Nothing here
computes: what needs the data or the viewer is the dock's (``widget.py``).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...intensity import THRESHOLD_METHODS, ClassHistograms
from ..common.layout import WrappingLabel, scrolling_layout, section
from .histogram_view import HistogramView, StatisticsView
from .methods_panel import MethodsPanel
from .model import MANUAL, ThresholdState
from .segment_panel import SegmentationPanel


@contextmanager
def _quiet(*widgets):
    """Set a control from the state without its signal coming back to the state."""
    for widget in widgets:
        widget.blockSignals(True)
    try:
        yield
    finally:
        for widget in widgets:
            widget.blockSignals(False)


def _quietly(control, setter):
    """``setter(value)`` without ``control``'s signal.

    One closure per control: psygnal would pass the old value to a defaulted argument.
    """

    def show(value) -> None:
        with _quiet(control):
            setter(value)

    return show


class ThresholdControls(QWidget):
    """The layer list, histogram, threshold, method and preview controls of the dock.

    Subclasses provide ``_on_method_chosen(name)``, ``_on_layer_checked(item)``
    and ``_on_try_all_clicked()``, which need the data.
    """

    def __init__(self, viewer, state: ThresholdState, settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._layer_list = QListWidget()
        self._layer_list.setMaximumHeight(110)
        self._layer_list.setToolTip("The image layers whose histograms and previews are shown.")
        self._log_check = QCheckBox("log counts")
        self._density_check = QCheckBox("density")
        self._density_check.setToolTip("Normalise each histogram to unit area to compare shapes.")
        self._bins_spin = QSpinBox(minimum=0, maximum=1 << 16, specialValueText="auto")
        self._bins_spin.setToolTip(
            "Bins drawn (auto: at most 32 whole-value bins; a large number draws one per "
            "value). Counting, statistics and thresholds always use every value exactly."
        )
        self._histogram_view = HistogramView(viewer)
        # short names for what tests and handlers touch most
        self._plot = self._histogram_view.plot
        self._curves = self._histogram_view.curves
        self._threshold_line = self._histogram_view.threshold_line
        self._upper_line = self._histogram_view.upper_line
        self._method_line = self._histogram_view.method_line
        self._threshold_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12)
        self._threshold_spin.setToolTip("Foreground is x > threshold (bright objects).")
        self._upper_spin = QDoubleSpinBox(decimals=2, minimum=-1e12, maximum=1e12, enabled=False)
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
        self._above_label = WrappingLabel()
        self._above_label.setToolTip("Each layer's exact share of pixels above the threshold.")
        self._preview_check = QCheckBox("live preview: adds <layer>_mask")
        self._preview_check.setToolTip(
            "Shows x > t as a <layer>_mask Labels layer over each selected layer, updated as "
            "the threshold moves."
        )
        self._try_all_button = QPushButton("Try all methods")
        self._methods_panel = MethodsPanel(settings)
        self._methods_table = self._methods_panel.table
        self._statistics_view = StatisticsView()
        self._stats_table = self._statistics_view.table
        self._separability_label = self._statistics_view.separability_label
        self._status_label = WrappingLabel()
        self._exact_button = QPushButton("Exact histogram (read every image)")
        self._exact_button.setToolTip(
            "Lazy layers are histogrammed from a sample of their images; this reads all of "
            "them in a background worker, a block at a time, with a progress bar."
        )
        self._exact_button.hide()
        self._segmentation_panel = SegmentationPanel(settings)
        self._statistics_section = section(
            "Statistics and separability", settings, "statistics",
            tooltip="Per-layer count, mean, median, spread, percentiles and % above the "
            "threshold; which classes intensity tells apart.",
        )  # fmt: skip
        self._lay_out()
        self._bind_controls()
        self._bind_state()

    def _lay_out(self) -> None:
        view_row = QHBoxLayout()
        for w in (self._log_check, self._density_check, QLabel("bins"), self._bins_spin):
            view_row.addWidget(w)
        threshold_row = QHBoxLayout()
        for w in (self._threshold_spin, self._band_check, self._upper_spin):
            threshold_row.addWidget(w)
        form = QFormLayout()
        form.addRow("threshold", threshold_row)
        form.addRow("method", self._method_combo)
        form.addRow("objects are", self._polarity_combo)
        layout = scrolling_layout(self)
        layout.addWidget(QLabel("Image layers"))
        layout.addWidget(self._layer_list)
        layout.addLayout(view_row)
        layout.addWidget(self._histogram_view, 1)
        layout.addLayout(form)
        layout.addWidget(self._above_label)
        self._statistics_section.addWidget(self._statistics_view)
        for w in (self._preview_check, self._try_all_button, self._methods_panel,
                  self._status_label, self._exact_button, self._statistics_section,
                  self._segmentation_panel):  # fmt: skip
            layout.addWidget(w)

    # ------------------------------------------------------------------ controls → state

    def _bind_controls(self) -> None:
        state = self.state
        self._threshold_spin.valueChanged.connect(state.set_threshold)
        self._threshold_line.sigPositionChanged.connect(
            lambda line: state.set_threshold(line.value())
        )
        self._upper_spin.valueChanged.connect(state.set_upper)
        self._upper_line.sigPositionChanged.connect(lambda line: state.set_upper(line.value()))
        self._band_check.toggled.connect(state.set_band)
        self._method_combo.currentTextChanged.connect(self._on_method_chosen)
        self._polarity_combo.currentTextChanged.connect(state.set_polarity)
        self._preview_check.toggled.connect(lambda on: setattr(state, "preview", on))
        self._log_check.toggled.connect(lambda on: setattr(state, "log", on))
        self._density_check.toggled.connect(lambda on: setattr(state, "density", on))
        self._bins_spin.valueChanged.connect(lambda bins: setattr(state, "bins", bins))
        self._try_all_button.clicked.connect(self._on_try_all_clicked)
        self._methods_panel.method_clicked.connect(self._on_method_picked)
        self._layer_list.itemChanged.connect(self._on_layer_checked)

    # ------------------------------------------------------------------ state → controls

    def _bind_state(self) -> None:
        events = self.state.events
        events.threshold.connect(self._show_threshold)
        events.upper.connect(self._show_upper)
        events.band.connect(self._show_band)
        events.method.connect(self._show_method)
        events.method_value.connect(self._show_method_value)
        events.low.connect(self._show_range)
        events.high.connect(self._show_range)
        for name, control, setter in (
            ("polarity", self._polarity_combo, self._polarity_combo.setCurrentText),
            ("preview", self._preview_check, self._preview_check.setChecked),
            ("log", self._log_check, self._log_check.setChecked),
            ("density", self._density_check, self._density_check.setChecked),
            ("bins", self._bins_spin, self._bins_spin.setValue),
        ):
            getattr(events, name).connect(_quietly(control, setter))

    def show_state(self) -> None:
        """Every control from the state at once (after restoring it: a field restored to
        its default value emits no event)."""
        state = self.state
        for control, setter, value in (
            (self._polarity_combo, self._polarity_combo.setCurrentText, state.polarity),
            (self._preview_check, self._preview_check.setChecked, state.preview),
            (self._log_check, self._log_check.setChecked, state.log),
            (self._density_check, self._density_check.setChecked, state.density),
            (self._bins_spin, self._bins_spin.setValue, state.bins),
        ):
            _quietly(control, setter)(value)
        self._show_band(state.band)
        self._show_method(state.method)
        self._show_method_value(state.method_value)
        self._show_range()

    def _show_threshold(self, value: float) -> None:
        with _quiet(self._threshold_spin, self._threshold_line):
            self._threshold_spin.setValue(value)
            self._threshold_line.setValue(value)
        self._threshold_line.label.valueChanged()  # its "t=…" text listens to the signal

    def _show_upper(self, value: float) -> None:
        with _quiet(self._upper_spin, self._upper_line):
            self._upper_spin.setValue(value)
            self._upper_line.setValue(value)

    def _show_band(self, on: bool) -> None:
        with _quiet(self._band_check):
            self._band_check.setChecked(on)
        self._upper_line.setVisible(on)
        self._upper_spin.setEnabled(on)

    def _show_method(self, method: str) -> None:
        with _quiet(self._method_combo):
            self._method_combo.setCurrentText(method)

    def _show_method_value(self, value: float | None) -> None:
        if value is None:
            self._method_line.hide()
            return
        self._method_line.setValue(value)
        self._method_line.show()

    def _show_range(self, *_) -> None:
        low, high = self.state.low, self.state.high
        with _quiet(self._threshold_spin, self._upper_spin):
            for spin in (self._threshold_spin, self._upper_spin):
                spin.setRange(low, high)
        with _quiet(self._threshold_line, self._upper_line):
            # a line clamped into new bounds is not a hand moving it: no "manual"
            self._histogram_view.set_bounds(low, high)
        self._show_threshold(self.state.threshold)
        self._show_upper(self.state.upper)

    def _set_range(self, histograms: ClassHistograms) -> None:
        """The spin boxes' precision for this data, then the state's range."""
        low, high = float(histograms.edges[0]), float(histograms.edges[-1])
        unit = histograms.unit_bins
        decimals = 2 if unit else max(2, int(np.ceil(-np.log10((high - low) / 1000 + 1e-30))))
        with _quiet(self._threshold_spin, self._upper_spin):
            for spin in (self._threshold_spin, self._upper_spin):
                spin.setDecimals(min(decimals, 6))
                spin.setSingleStep(1.0 if unit else (high - low) / 100)
        self.state.set_range(low, high)
        self._show_range()

    # ------------------------------------------------------------------ methods table

    def _on_method_picked(self, method: str) -> None:
        self.method = method

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))
