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
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ...gradients import (
    PADDINGS,
    SOBEL_X,
    SOBEL_Y,
    Gradients,
    available_devices,
    output_shape,
    sobel,
)
from ...gradients.display import (
    MAX_VECTORS,
    display_settings,
    gradient_arrows,
    magnitude_direction_rgb,
)
from ...segmentation import smooth
from ..common import settings as _settings
from ..common.layers import fill_image_combo, is_lazy, layer_data, layer_problem
from ..common.layout import scrolling_layout
from ..common.lifetime import DockLife
from ..common.outputs import owned_output, put_layer
from ..common.progress import RunProgressWidget
from ..common.workers import Failure, failures_as_values, start_worker

OUTPUTS = ("gx", "gy", "magnitude", "direction", "rgb", "vectors")
OUTPUT_LABELS = {
    "gx": "Gx",
    "gy": "Gy",
    "magnitude": "magnitude",
    "direction": "direction",
    "rgb": "colour picture",
    "vectors": "arrows",
}
ARROW_STYLE = {"edge_color": "yellow", "edge_width": 0.3, "vector_style": "arrow"}
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

        self._layer_combo = QComboBox()
        self._layer_combo.setToolTip("The image layer (or stack of images) to differentiate.")
        self._output_checks = {name: QCheckBox(OUTPUT_LABELS[name]) for name in OUTPUTS}
        self._output_checks["rgb"].setToolTip("Direction as hue, magnitude as brightness.")
        self._output_checks["vectors"].setToolTip("Gradient arrows on a coarse grid.")
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
        self._status_label = QLabel(wordWrap=True)
        self._progress = RunProgressWidget()
        self._progress.stop_requested.connect(self.stop)
        self._pending: list = []
        self._shown = 0
        self._stopped = False
        # one output per turn of the event loop, a frame apart: napari draws each
        self._show_timer = QTimer(self, singleShot=True, interval=FRAME_MS)
        self._show_timer.timeout.connect(self._on_show_tick)

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
        layout.addStretch()

        self._restore_settings()
        self._run_button.clicked.connect(self.run)
        self._kernels_check.toggled.connect(self._kernels_box.setVisible)
        self._attach()
        self._life = DockLife(self)

    # ------------------------------------------------------------------ public API

    @property
    def layer_name(self) -> str:
        return self._layer_combo.currentText()

    @layer_name.setter
    def layer_name(self, name: str) -> None:
        self._layer_combo.setCurrentText(name)

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
        out = self._spare.pop(name, None)
        if out is not None and out.gx.shape != output_shape(data.shape, params["padding"]):
            out = None
        self._worker = None
        if is_lazy(data) or data.size <= WORKER_PIXELS:
            result = failures_as_values(_compute)(data, params, out)
            if isinstance(result, Failure):
                return self._say(f"{name}: {result.message}")
            self._show(name, result, params)
            return None
        self._set_busy(0, f"Sobel of {name} ({data.size / 1e6:.0f} Mpx)…")
        self._say(f"Computing the Sobel outputs of {name} ({data.size / 1e6:.0f} Mpx)…")
        self._worker = start_worker(
            _compute,
            data,
            params,
            out,
            on_failure=lambda message: self._say(f"{name}: {message}"),
            on_returned=lambda result: self._show(name, result, params),
            on_finished=self._on_worker_finished,
            progress={"desc": f"Sobel of {name}"},
            owner=self,
        )
        return self._worker

    def stop(self) -> None:
        """Stop a run (the Stop button): a worker's result is dropped, no more layers appear."""
        self._stopped = True
        if self._worker is not None:
            self._worker.quit()
        self._pending.clear()
        self._show_timer.stop()
        self._set_idle()
        self._say("Stopped.")

    # ------------------------------------------------------------------ internals

    def _parameters(self) -> dict:
        device = self._device_combo.currentText()
        return {
            "padding": self._padding_combo.currentText(),
            "sigma": self._sigma_spin.value(),
            "device": None if device == "auto" else device,
        }

    def _show(self, name: str, result: Gradients, params: dict) -> None:
        """Queue the chosen outputs; :meth:`_on_show_tick` puts one into the viewer per turn."""
        if self._stopped:
            return
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its Sobel outputs were ready.")
        chosen = [n for n, check in self._output_checks.items() if check.isChecked()]
        meta = {**params, "kernel_x": SOBEL_X.tolist(), "kernel_y": SOBEL_Y.tolist()}
        replaced = {}
        steps = []
        for what in ("gx", "gy", "magnitude", "direction"):
            previous = owned_output(self._viewer, name, f"sobel_{what}")
            if what in chosen:
                if previous is not None:
                    replaced[what] = previous.data  # no longer shown: the next run's buffer
                data = getattr(result, what)
                steps.append((OUTPUT_LABELS[what], "image", f"sobel_{what}", lambda d=data: d,
                              display_settings(what, data)))  # fmt: skip
        if "rgb" in chosen and not is_lazy(result.magnitude):
            steps.append(("colour picture", "image", "sobel_rgb",
                          lambda: magnitude_direction_rgb(result), {"rgb": True}))  # fmt: skip
        if "vectors" in chosen and not is_lazy(result.gx):
            steps.append(("arrows", "vectors", "sobel_vectors",
                          lambda: gradient_arrows(result, max_vectors=MAX_VECTORS),
                          ARROW_STYLE))  # fmt: skip
        if len(replaced) == 4 and all(isinstance(a, np.ndarray) for a in replaced.values()):
            self._spare[name] = Gradients(**replaced)
        self._pending = [(name, meta, *step) for step in steps]
        self._shown = 0
        self._set_busy(len(self._pending), f"Showing the outputs of {name}:")
        self._say("")
        self._on_show_tick()  # the first at once: the click answers in the same frame

    def _on_show_tick(self) -> None:
        """Put the next output into the viewer; the timer brings the next after a frame."""
        if not self._pending:
            self._show_timer.stop()
            self._set_idle()
            return
        name, meta, label, kind, what, make, kwargs = self._pending.pop(0)
        if name in self._viewer.layers:
            put_layer(self._viewer, kind, name, what, make(), meta, **kwargs)
        self._shown += 1
        self._progress.advance(self._shown, f"{name}: {label} shown,")
        if self._pending:
            self._show_timer.start()
        else:
            self._set_idle()

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

    def _on_layers_changed(self, event=None) -> None:
        fill_image_combo(self._layer_combo, self._viewer)

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))

    def _save_settings(self) -> None:
        s = self._settings
        s.setValue("padding", self._padding_combo.currentText())
        s.setValue("sigma", self._sigma_spin.value())
        for name, check in self._output_checks.items():
            s.setValue(f"output/{name}", check.isChecked())

    def _restore_settings(self) -> None:
        s = self._settings
        self._padding_combo.setCurrentText(_settings.read(s, "padding", "reflect"))
        self._sigma_spin.setValue(_settings.read(s, "sigma", 0.0))
        for name, check in self._output_checks.items():
            default = name in ("gx", "gy", "magnitude", "direction")
            check.setChecked(_settings.read(s, f"output/{name}", default))

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        self._viewer.layers.events.inserted.connect(self._on_layers_changed)
        self._viewer.layers.events.removed.connect(self._on_layers_changed)
        self._on_layers_changed()

    def _detach(self) -> None:
        if self._worker is not None:
            self._worker.quit()
        self._pending.clear()
        self._show_timer.stop()
        self._set_idle()
        self._viewer.layers.events.inserted.disconnect(self._on_layers_changed)
        self._viewer.layers.events.removed.disconnect(self._on_layers_changed)


def _compute(data, params: dict, out: Gradients | None) -> Gradients:
    """One run's work, for a worker too: smoothing, then Sobel. Touches no widget, no layer."""
    if params["sigma"] > 0:
        data = smooth(data, params["sigma"])
    out = out if isinstance(data, np.ndarray) else None
    return sobel(data, padding=params["padding"], device=params["device"], out=out)


def _kernels_view() -> QGroupBox:
    box = QGroupBox("Sobel kernels (cross-correlation; y points down the rows)")
    layout = QHBoxLayout(box)
    for title, kernel in (("Gx", SOBEL_X), ("Gy", SOBEL_Y)):
        grid = QGridLayout()
        grid.addWidget(QLabel(title), 0, 0, 1, 3)
        for r in range(3):
            for c in range(3):
                grid.addWidget(QLabel(f"{int(kernel[r, c]):+d}"), r + 1, c)
        layout.addLayout(grid)
    return box
