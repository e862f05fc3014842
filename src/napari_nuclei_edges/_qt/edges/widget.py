"""SobelWidget: Gx, Gy, magnitude and direction layers of an image layer, computed with PyTorch.

The dock reads its controls, checks the layer, calls the pure functions of
:mod:`napari_nuclei_edges.gradients` (in a worker when the input is large) and
puts their results into layers; it computes nothing itself.
"""

from __future__ import annotations

import napari.viewer
import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ...gradients import PADDINGS, SOBEL_X, SOBEL_Y, Gradients, available_devices, output_shape
from ...gradients.display import MAX_VECTORS
from ..common import settings as _settings
from ..common.choice import LayerChoice
from ..common.layers import is_lazy, layer_data, layer_problem
from ..common.layout import WrappingLabel, scrolling_layout
from ..common.lifetime import DockLife
from ..common.outputs import owned_output, put_layer
from ..common.progress import RunProgressWidget
from ..common.workers import Failure, failures_as_values, start_worker
from .outputs import (
    ARROW_MIN_FRACTION,
    ARROW_MIN_STEP,
    DEFAULT_OUTPUTS,
    OUTPUT_LABELS,
    OUTPUTS,
    notes,
    output_steps,
    recolour,
    shown_in,
)
from .parts import SobelRun, _compute, _kernels_view, canvas_theme, displayed_plane

#: Milliseconds between two new output layers: a frame, for napari to draw the first.
FRAME_MS = 16
#: Inputs with more pixels than this are computed in a worker thread.
WORKER_PIXELS = 4_000_000
# MAX_VECTORS, about the most arrows in the vectors layer, is imported above and
# looked up in this module at each run: a test or script can change it here.


class SobelWidget(QWidget):
    """Make ``<layer>_sobel_gx``, ``…_gy``, ``…_magnitude``, ``…_direction`` from an image layer.

    Examples
    --------
    >>> SobelWidget(viewer).run()  # doctest: +SKIP
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("sobel")
        self._worker = None
        # two sets of outputs per source: one shown, one to compute the next run into
        self._spare: dict[str, Gradients] = {}
        self._last: dict[str, Gradients] = {}  # the result last shown, per source

        self._make_controls()
        self._progress = RunProgressWidget()
        self._progress.stop_requested.connect(self.stop)
        self._pending: list = []
        self._shown = 0
        self._stopped = False
        # one output per turn of the event loop, a frame apart: napari draws each
        self._show_timer = QTimer(self, singleShot=True, interval=FRAME_MS)
        self._show_timer.timeout.connect(self._on_show_tick)

        self._lay_out()

        self._restore_settings()
        self._run_button.clicked.connect(self.run)
        self._kernels_check.toggled.connect(self._kernels_box.setVisible)
        self._attach()
        self._life = DockLife(self)

    def _make_controls(self) -> None:
        """The dock's controls, each with its one-sentence tooltip."""
        self._layer_combo = QComboBox()
        self._layer_combo.setToolTip(
            "The image layer (or stack of images) to differentiate: the layer selected in "
            "napari's layer list, until you pick one here."
        )
        self._choice = LayerChoice(self._layer_combo, self._viewer, on_renamed=self._on_renamed)
        self._output_checks = {name: QCheckBox(OUTPUT_LABELS[name]) for name in OUTPUTS}
        self._output_checks["rgb"].setToolTip(
            "The direction as hue, the magnitude as brightness: colour only at edges."
        )
        self._output_checks["direction"].setToolTip(
            "atan2(Gy, Gx) in radians at every pixel, noise included: for measuring."
        )
        self._output_checks["vectors"].setToolTip("Gradient arrows on a coarse grid, at edges.")
        self._padding_combo = QComboBox()
        self._padding_combo.addItems(PADDINGS)
        self._padding_combo.setToolTip(
            "Border handling: reflect (mirror), zeros (Conv2d padding='same'), replicate "
            "(repeat the edge), valid (drop the 1-pixel border)."
        )
        self._sigma_spin = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=20.0, singleStep=0.5)
        self._sigma_spin.setToolTip(
            "Gaussian smoothing (pixels) before the Sobel filter; 0 = none."
        )
        self._device_combo = QComboBox()
        self._device_combo.addItems(available_devices())
        self._device_combo.setToolTip("Where torch computes; auto = a GPU when present.")
        self._run_button = QPushButton("Run")
        self._kernels_check = QCheckBox("show kernels")
        self._kernels_box = _kernels_view()
        self._kernels_box.hide()
        self._status_label = WrappingLabel()
        self._suggest_button = QPushButton("Noisy: smooth (σ = 1), run again")
        self._suggest_button.setToolTip(
            "The noise in this image is a large share of its Sobel response; a Gaussian "
            "of σ = 1 pixel before the filter keeps the edges and removes most of it."
        )
        self._suggest_button.hide()
        self._suggest_button.clicked.connect(self._on_suggest_clicked)
        # σ set by the suggestion is for this session's runs, not the user's setting
        self._suggested = False
        self._sigma_spin.valueChanged.connect(lambda *_: setattr(self, "_suggested", False))

    def _lay_out(self) -> None:
        """The controls in a scrolling column: what to compute, Run, then what it said."""
        outputs = QGridLayout()
        for index, check in enumerate(self._output_checks.values()):
            outputs.addWidget(check, index // 2, index % 2)
        form = QFormLayout()
        form.addRow("image layer", self._layer_combo)
        form.addRow("padding", self._padding_combo)
        form.addRow("smoothing σ", self._sigma_spin)
        form.addRow("device", self._device_combo)
        row = QHBoxLayout()
        row.addWidget(self._run_button)
        row.addWidget(self._kernels_check)
        layout = scrolling_layout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("outputs"))
        layout.addLayout(outputs)
        layout.addLayout(row)
        layout.addWidget(self._progress)
        layout.addWidget(self._kernels_box)
        layout.addWidget(self._status_label)
        layout.addWidget(self._suggest_button)
        layout.addStretch()

    # ------------------------------------------------------------------ public API

    @property
    def layer_name(self) -> str:
        return self._choice.name

    @layer_name.setter
    def layer_name(self, name: str) -> None:
        self._choice.name = name

    def set_outputs(self, *names: str) -> None:
        """Choose the outputs by name: any of ``OUTPUTS``."""
        for name, check in self._output_checks.items():
            check.setChecked(name in names)

    @property
    def busy(self) -> bool:
        """True from Run until every chosen output is shown."""
        return self._progress.running

    def run(self):
        """Compute the chosen outputs for the chosen layer, and show them.

        Small inputs are computed at once; large ones in a napari worker, which
        is returned (already started) so a script can wait for it. New layers
        appear one per event-loop turn (napari takes tens of ms to make each), so
        the window never freezes: :attr:`busy` is True until all are shown.
        """
        if self.busy:
            return self._worker
        self._save_settings()
        name = self.layer_name
        if name not in self._viewer.layers:
            return self._say("Choose an image layer first.")
        layer = self._viewer.layers[name]
        problem = layer_problem(layer, "the Sobel filter")
        if problem is not None:
            return self._say(problem)
        data = layer_data(layer)
        params = self._parameters()
        plane = self._displayed_plane(layer)
        self._suggest_button.hide()
        out = self._spare.pop(name, None)
        if out is not None and (
            out.gx.shape != output_shape(data.shape, params["padding"]) or self._on_show(out)
        ):
            out = None
        self._worker = None
        chosen = [n for n, check in self._output_checks.items() if check.isChecked()]
        arrows = {"max_vectors": MAX_VECTORS, "min_fraction": ARROW_MIN_FRACTION}
        arrows.update(min_step=ARROW_MIN_STEP, unit=True)
        extra = {"chosen": chosen, "theme": self._theme(), "arrows": arrows}
        if is_lazy(data) or data.size <= WORKER_PIXELS:
            result = failures_as_values(_compute)(data, params, out, plane, **extra)
            if isinstance(result, Failure):
                return self._say(f"{name}: {result.message}")
            self._show(name, result, params, plane)
            return None
        self._set_busy(0, f"Sobel of {name} ({data.size / 1e6:.0f} Mpx)…")
        self._say(f"Computing the Sobel outputs of {name} ({data.size / 1e6:.0f} Mpx)…")
        self._worker = start_worker(
            _compute,
            data,
            params,
            out,
            plane,
            **extra,
            on_failure=lambda message: self._say(f"{name}: {message}"),
            on_returned=lambda result: self._show(name, result, params, plane),
            on_finished=self._on_worker_finished,
            progress={"desc": f"Sobel of {name}"},
            owner=self,
        )
        return self._worker

    def stop(self) -> None:
        """Stop a run (the Stop button): a worker's result is dropped, no more layers appear."""
        self._stopped = True
        self._halt()
        self._say("Stopped.")

    # ------------------------------------------------------------------ internals

    def _parameters(self) -> dict:
        device = self._device_combo.currentText()
        return {
            "padding": self._padding_combo.currentText(),
            "sigma": self._sigma_spin.value(),
            "device": None if device == "auto" else device,
        }

    def _show(self, name: str, computed: SobelRun, params: dict, plane=None) -> None:
        """Queue the chosen outputs; :meth:`_on_show_tick` puts one into the viewer per turn.

        Everything was computed with the result (:func:`._compute`): here the GUI
        thread only makes layers.
        """
        if self._stopped:
            return
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its Sobel outputs were ready.")
        result, suggestion = computed.gradients, computed.suggestion
        meta = {**params, "kernel_x": SOBEL_X.tolist(), "kernel_y": SOBEL_Y.tolist()}
        steps = output_steps(computed)
        if suggestion and params["sigma"] == 0:
            self._suggest_button.show()
        # the result shown before is the next run's buffer, unless a layer still shows
        # part of it (checked again at that run)
        previous, self._last[name] = self._last.get(name), result
        if previous is not None and all(isinstance(a, np.ndarray) for a in previous):
            self._spare[name] = previous
        self._pending = [(name, meta, *step) for step in steps]
        self._shown = 0
        self._set_busy(len(self._pending), f"Showing the outputs of {name}:")
        made = ", ".join(f"{name}_{step[2]}" for step in steps)
        said = f"Made {len(steps)} layer{'s' if len(steps) != 1 else ''}: {made}."
        self._say(" ".join([said, *notes(name, computed)]))
        self._on_show_tick()  # the first at once: the click answers in the same frame

    def _on_show_tick(self) -> None:
        """Put the next output into the viewer; the timer brings the next after a frame.

        A new layer comes in two turns: inserted hidden (napari's insert, the layer
        controls), then shown (its first slice and draw, which compiles its shader):
        each turn is one of the two halves of the pause a visible insert makes.
        """
        if not self._pending:
            self._show_timer.stop()
            self._set_idle()
            return
        name, meta, label, kind, what, make, kwargs = self._pending.pop(0)
        if kind == "show":
            layer = owned_output(self._viewer, name, what)
            if layer is not None:
                layer.visible = True
            self._shown += 1
            self._progress.advance(self._shown, f"{name}: {label} shown,")
        elif name in self._viewer.layers:
            new = owned_output(self._viewer, name, what) is None
            hidden = {**kwargs, "visible": False} if new else kwargs
            put_layer(self._viewer, kind, name, what, make(), meta, **hidden)
            if new:
                self._pending.insert(0, (name, meta, label, "show", what, None, {}))
            else:
                self._shown += 1
                self._progress.advance(self._shown, f"{name}: {label} shown,")
        if self._pending:
            self._show_timer.start()
        else:
            self._set_idle()

    def _halt(self) -> None:
        """The worker quit, no layer left hidden, no more shown."""
        if self._worker is not None:
            self._worker.quit()
        self._show_inserted()
        self._pending.clear()
        self._show_timer.stop()
        self._set_idle()

    def _show_inserted(self) -> None:
        """Show the layers inserted hidden (to be shown next turn): none is left hidden."""
        for name, _, _, kind, what, *_ in self._pending:
            layer = owned_output(self._viewer, name, what) if kind == "show" else None
            if layer is not None:
                layer.visible = True

    def _on_show(self, arrays: Gradients) -> bool:
        """Whether any layer's data is one of ``arrays`` (or a view of one)."""
        return shown_in(self._viewer, arrays)

    def _displayed_plane(self, layer) -> tuple[int, ...] | None:
        return displayed_plane(self._viewer, layer)

    def _theme(self) -> str:
        return canvas_theme(self._viewer)

    def _on_theme_changed(self, event=None) -> None:
        """Outputs follow the theme: the zero of Gx and Gy is the canvas colour."""
        recolour(self._viewer, self._theme())

    def _on_suggest_clicked(self) -> None:
        self._sigma_spin.setValue(1.0)
        self._suggested = True  # not remembered: the next session starts from the user's σ
        self._suggest_button.hide()
        self.run()

    def _on_worker_finished(self) -> None:
        if not self._pending and not self._show_timer.isActive():
            self._set_idle()

    def _set_busy(self, total: int, text: str) -> None:
        self._stopped = False
        self._run_button.setEnabled(False)
        self._progress.begin(total, text)

    def _set_idle(self) -> None:
        self._progress.end()
        self._run_button.setEnabled(True)

    def _on_renamed(self, old: str, new: str) -> None:
        """A source renamed in napari: its buffers follow it (its layers follow by name)."""
        for kept in (self._spare, self._last):
            if old in kept:
                kept[new] = kept.pop(old)

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))

    def _save_settings(self) -> None:
        s = self._settings
        s.setValue("padding", self._padding_combo.currentText())
        if not self._suggested:
            s.setValue("sigma", self._sigma_spin.value())
        for name, check in self._output_checks.items():
            s.setValue(f"output/{name}", check.isChecked())

    def _restore_settings(self) -> None:
        s = self._settings
        padding = _settings.limits(self._padding_combo)
        self._padding_combo.setCurrentText(_settings.read(s, "padding", "reflect", padding))
        sigma = _settings.limits(self._sigma_spin)
        self._sigma_spin.setValue(_settings.read(s, "sigma", 0.0, sigma))
        for name, check in self._output_checks.items():
            default = name in DEFAULT_OUTPUTS
            check.setChecked(_settings.read(s, f"output/{name}", default))
        self._say(_settings.reset_sentence(s))  # once: the bad values are gone

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        self._choice.attach()
        self._viewer.events.theme.connect(self._on_theme_changed)

    def _detach(self) -> None:
        self._halt()
        self._choice.detach()
        self._viewer.events.theme.disconnect(self._on_theme_changed)
