"""The "improved segmentation" part of the threshold dock: options, Apply, and scores."""

from __future__ import annotations

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..common import settings as _settings
from ..common.layout import (
    WrappingLabel,
    fit_table,
    scroll_into_view,
    section,
    set_row_names,
)
from ..common.progress import RunProgressWidget
from .model import AS_SET, PER_IMAGE, SEGMENT_RULES, counted

MATCHING_TRUTH = "matching <layer>_truth"
NO_TRUTH = "(none)"
SCORE_COLUMNS = ("dice", "iou", "precision", "recall", "matched", "split", "merged", "missed")
#: Short headers, so every score fits the dock's width; the tooltips say them in full.
SCORE_HEADERS = ("Dice", "IoU", "prec.", "recall", "match", "split", "merge", "miss")
SCORE_TIPS = (
    "Pixel Dice of foreground (1 = perfect)", "Pixel intersection over union",
    "Share of predicted foreground that is true", "Share of true foreground found",
    "True nuclei matched one-to-one (IoU > 0.5)", "True nuclei cut into two or more",
    "Predicted objects covering two or more true nuclei", "True nuclei less than half found",
)  # fmt: skip
NO_TRUTH_TEXT = (
    "No ground truth chosen: pick a Labels layer under “ground truth” (in the options) "
    "to score the segmentation."
)


class SegmentationPanel(QGroupBox):
    """Options of :func:`~napari_nuclei_edges.segmentation.segment_nuclei`, with tooltips."""

    def __init__(self, settings, parent=None):
        super().__init__("Improved segmentation → <layer>_labels", parent)
        self._settings = settings
        form = QFormLayout()
        # a long label or a long choice wraps below rather than being clipped
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._rule_combo = QComboBox()
        self._rule_combo.addItems(SEGMENT_RULES)
        self._rule_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._rule_combo.setToolTip(
            "as set: the dock's one threshold (typed, dragged, or the method's pooled value) "
            "for every image. per image: the chosen method on each 2D image, following its "
            "brightness (needs a method)."
        )
        self._sigma_spin = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=10.0, singleStep=0.5)
        self._sigma_spin.setToolTip("Gaussian smoothing (pixels) before thresholding; 0 = none.")
        self._opening_spin = QSpinBox(minimum=0, maximum=10)
        self._opening_spin.setToolTip(
            "Radius of a binary opening that cuts thin bridges; 0 = none."
        )
        self._min_size_spin = QSpinBox(minimum=0, maximum=100_000)
        self._min_size_spin.setToolTip("Objects with fewer pixels than this are removed.")
        self._fill_holes_check = QCheckBox("fill holes")
        self._split_check = QCheckBox("split touching nuclei (watershed)")
        self._split_check.setToolTip(
            "Split touching nuclei in every image, by a watershed of the distance to the "
            "background. Unticked, they are split only in crowded images (10 objects or "
            "more: a field), never in a crop of one nucleus and its neighbours."
        )
        self._centre_check = QCheckBox("keep only the centre nucleus")
        self._centre_check.setToolTip(
            "Keep the object at (or nearest to) the centre of each image: the reference "
            "images centre one nucleus and cut neighbours at the border."
        )
        self._truth_combo = QComboBox()
        self._truth_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._truth_combo.setToolTip("A ground-truth Labels layer to score the result against.")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Segment every selected layer into <layer>_labels.")
        self.plan_label = WrappingLabel()
        self.used_label = WrappingLabel()
        self.used_label.hide()
        self.summary_label = WrappingLabel()
        self.summary_label.hide()
        form.addRow("threshold rule", self._rule_combo)
        form.addRow("smoothing σ", self._sigma_spin)
        form.addRow("opening radius", self._opening_spin)
        form.addRow("min size (px)", self._min_size_spin)
        form.addRow(self._fill_holes_check)
        form.addRow(self._split_check)
        form.addRow(self._centre_check)
        form.addRow("ground truth", self._truth_combo)
        self.scores_table = QTableWidget(0, len(SCORE_COLUMNS))
        self.scores_table.setHorizontalHeaderLabels(SCORE_HEADERS)
        for column, tip in enumerate(SCORE_TIPS):
            self.scores_table.horizontalHeaderItem(column).setToolTip(tip)
        self.scores_table.hide()  # until there is something to score
        options = QWidget()
        options.setLayout(form)
        self.options_section = section(
            "options", settings, "segmentation_options",
            tooltip="Threshold rule, smoothing, clean-up, and the ground truth to score against.",
        )  # fmt: skip
        self.options_section.addWidget(options)
        layout = QVBoxLayout(self)
        layout.addWidget(self.options_section)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.apply_button)
        self.progress = RunProgressWidget()
        layout.addWidget(self.progress)
        layout.addWidget(self.used_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.scores_table)
        self._restore()
        for widget in (self._sigma_spin, self._opening_spin, self._min_size_spin):
            widget.valueChanged.connect(self._on_option_changed)
        for widget in (self._fill_holes_check, self._split_check, self._centre_check):
            widget.toggled.connect(self._on_option_changed)

    def options(self) -> dict:
        """Keyword arguments for ``segment_nuclei`` (without threshold, method and rule:
        the dock's state decides those, see ``ThresholdState.apply_rule``)."""
        return {
            "sigma": self._sigma_spin.value(),
            "opening": self._opening_spin.value(),
            "min_size": self._min_size_spin.value(),
            "fill_holes": self._fill_holes_check.isChecked(),
            "split_touching": True if self._split_check.isChecked() else "auto",
            "keep_centre": self._centre_check.isChecked(),
        }

    def set_options(self, **options) -> None:
        """Set options by name, as a script would (same names as ``options()``)."""
        widgets = {
            "sigma": self._sigma_spin.setValue,
            "opening": self._opening_spin.setValue,
            "min_size": self._min_size_spin.setValue,
            "fill_holes": self._fill_holes_check.setChecked,
            "split_touching": lambda value: self._split_check.setChecked(value is True),
            "keep_centre": self._centre_check.setChecked,
        }
        for name, value in options.items():
            widgets[name](value)

    def _restore(self) -> None:
        defaults = {
            "sigma": 1.0,
            "opening": 0,
            "min_size": 20,
            "fill_holes": True,
            "split_touching": False,
            "keep_centre": False,
        }
        within = {"sigma": _settings.limits(self._sigma_spin),
                  "opening": _settings.limits(self._opening_spin),
                  "min_size": _settings.limits(self._min_size_spin)}  # fmt: skip
        self.set_options(**{
            k: _settings.read(self._settings, f"segment/{k}", v, within.get(k))
            for k, v in defaults.items()
        })  # fmt: skip

    def _on_option_changed(self, *_):
        for key, value in self.options().items():
            self._settings.setValue(f"segment/{key}", value)

    # ------------------------------------------------------------- threshold rule

    def show_rule(self, rule: str, per_image_possible: bool) -> None:
        """The rule the state holds; *per image* is offered only with a method chosen."""
        self._rule_combo.blockSignals(True)
        self._rule_combo.setCurrentText(rule if per_image_possible else AS_SET)
        item = self._rule_combo.model().item(SEGMENT_RULES.index(PER_IMAGE))
        item.setEnabled(per_image_possible)
        item.setToolTip("" if per_image_possible else "Choose a method to threshold each "
                        "image on its own; a threshold set by hand is used as set.")  # fmt: skip
        self._rule_combo.blockSignals(False)

    @property
    def rule_combo(self) -> QComboBox:
        return self._rule_combo

    def show_used(self, text: str) -> None:
        self.used_label.setText(text)
        self.used_label.setVisible(bool(text))

    # ------------------------------------------------------------- ground truth

    def set_truth_choices(self, names: list[str]) -> None:
        current = self._truth_combo.currentText()
        self._truth_combo.blockSignals(True)
        self._truth_combo.clear()
        self._truth_combo.addItems([NO_TRUTH, MATCHING_TRUTH, *names])
        index = self._truth_combo.findText(current)
        self._truth_combo.setCurrentIndex(max(index, 0) if current else 1)
        self._truth_combo.blockSignals(False)

    @property
    def truth_choice(self) -> str:
        return self._truth_combo.currentText()

    @truth_choice.setter
    def truth_choice(self, name: str) -> None:
        self._truth_combo.setCurrentText(name)

    def truth_layer(self, viewer, name: str):
        """The ground truth chosen for layer ``name``, or None."""
        choice = self.truth_choice
        if choice == NO_TRUTH:
            return None
        truth_name = f"{name}_truth" if choice == MATCHING_TRUTH else choice
        return viewer.layers[truth_name] if truth_name in viewer.layers else None  # noqa: SIM401

    def score(self, viewer, names: list[str]) -> list[str]:
        """Score each ``<name>_labels`` against the chosen truth; the problems, as sentences."""
        import numpy as np
        from napari.layers import Labels

        from ...segmentation import segmentation_scores
        from ..common.outputs import owned_output

        choice, rows, problems, said = self.truth_choice, {}, [], []
        for name in names:
            labels = owned_output(viewer, name, "labels")
            truth = self.truth_layer(viewer, name)
            if labels is None or truth is None:
                continue
            truth_name = truth.name
            if truth.data.shape != labels.data.shape:
                problems.append(f"{truth_name} has shape {truth.data.shape}, "
                                f"not {labels.data.shape}.")  # fmt: skip
                continue
            rows[name] = segmentation_scores(labels.data, np.asarray(truth.data))
            if not isinstance(truth, Labels) and truth_name not in said:
                said.append(truth_name)
        self.show_scores(rows)
        if rows:
            scroll_into_view(self.scores_table, self.summary_label)  # Apply's result, seen
        if said:  # said with the scores it explains
            self.summary_label.setText(
                f"{self.summary_label.text()} ({' and '.join(said)}: an Image layer, its "
                "integers read as labels, 0 = background; Layers ▸ Convert to Labels makes "
                "it one.)"
            )
        if choice == NO_TRUTH and names:
            self.summary_label.setText(NO_TRUTH_TEXT)
            self.summary_label.show()
        elif not rows and names:
            self.summary_label.setText(
                f"Nothing to score: no ground truth ({choice}) for the segmented layers; "
                "pick one under “ground truth” in the options."
            )
            self.summary_label.show()
        return problems

    def show_scores(self, rows: dict[str, dict]) -> None:
        self.scores_table.setVisible(bool(rows))
        self.scores_table.setRowCount(len(rows))
        set_row_names(self.scores_table, list(rows))
        for r, scores in enumerate(rows.values()):
            for c, key in enumerate(SCORE_COLUMNS):
                value = scores[key]
                if key == "matched":
                    text = f"{value}/{scores['true_objects']}"
                elif isinstance(value, float):
                    text = f"{value:.2f}"
                else:
                    text = str(value)
                self.scores_table.setItem(r, c, QTableWidgetItem(text))
        fit_table(self.scores_table)
        self.summary_label.setText(summary(rows))
        self.summary_label.setVisible(bool(rows))


def summary(rows: dict[str, dict]) -> str:
    """One line over every scored layer: mean Dice, nuclei matched, the errors by kind.

    Examples
    --------
    >>> row = dict(dice=0.9, true_objects=1, matched=1, split=0, merged=0, missed=0)
    >>> summary({"field": row})
    'Mean Dice 0.90 over 1 layer · 1 of 1 nucleus matched · 0 split, 0 merged, 0 missed.'
    """
    if not rows:
        return ""
    import numpy as np

    def total(key: str) -> int:
        return sum(int(scores[key]) for scores in rows.values())

    dice = float(np.mean([scores["dice"] for scores in rows.values()]))
    nuclei = counted(total("true_objects"), "nucleus", "nuclei")
    return (
        f"Mean Dice {dice:.2f} over {counted(len(rows), 'layer')} · {total('matched')} of "
        f"{nuclei} matched · {total('split')} split, "
        f"{total('merged')} merged, {total('missed')} missed."
    )
