"""SobelWidget: Gx, Gy, magnitude and direction layers of an image layer, computed with PyTorch."""

from __future__ import annotations

import napari.viewer
import numpy as np
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
    QVBoxLayout,
    QWidget,
)

from ...gradients import PADDINGS, SOBEL_X, SOBEL_Y, Gradients, magnitude_direction_rgb, sobel
from ..common import settings as _settings
from ..common.layers import fill_image_combo, is_lazy
from ..common.outputs import owned_output, put_layer

OUTPUTS = ("gx", "gy", "magnitude", "direction", "rgb", "vectors")
OUTPUT_LABELS = {
    "gx": "Gx",
    "gy": "Gy",
    "magnitude": "magnitude",
    "direction": "direction",
    "rgb": "colour picture",
    "vectors": "arrows",
}
#: Inputs with more pixels than this are computed in a worker thread.
WORKER_PIXELS = 4_000_000
#: At most this many arrows in the vectors layer.
MAX_VECTORS = 20_000


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
        self._device_combo.addItems(_devices())
        self._device_combo.setToolTip("Where torch computes; auto = a GPU when present.")
        self._run_button = QPushButton("Run")
        self._kernels_check = QCheckBox("show kernels")
        self._kernels_box = _kernels_view()
        self._kernels_box.hide()
        self._status_label = QLabel(wordWrap=True)

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
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("outputs"))
        layout.addLayout(outputs)
        layout.addLayout(row)
        layout.addWidget(self._kernels_box)
        layout.addWidget(self._status_label)
        layout.addStretch()

        self._restore_settings()
        self._run_button.clicked.connect(self.run)
        self._kernels_check.toggled.connect(self._kernels_box.setVisible)
        viewer.layers.events.inserted.connect(self._on_layers_changed)
        viewer.layers.events.removed.connect(self._on_layers_changed)
        self._on_layers_changed()

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

    def run(self):
        """Compute the chosen outputs for the chosen layer.

        Small inputs are computed at once; large ones in a napari worker, which
        is returned (already started) so a script can wait for it.
        """
        self._save_settings()
        name = self.layer_name
        if name not in self._viewer.layers:
            return self._say("Choose an image layer first.")
        layer = self._viewer.layers[name]
        try:
            data, note = _grey(layer)
        except ValueError as exc:
            return self._say(str(exc))
        params = self._parameters()
        out = self._spare.pop(name, None)
        if out is not None and out.gx.shape != _output_shape(data.shape, params["padding"]):
            out = None
        job = _Job(data, params, out)
        if is_lazy(data) or data.size <= WORKER_PIXELS:
            try:
                result = job()
            except (ValueError, TypeError) as exc:
                return self._say(f"{name}: {exc}")
            if isinstance(result, Exception):
                return self._say(f"{name}: {result}")
            self._show(name, result, params, note)
            return None
        from napari.qt.threading import create_worker

        self._run_button.setEnabled(False)
        self._say(f"Computing the Sobel outputs of {name} ({data.size / 1e6:.0f} Mpx)…")
        # errored handled here: without it in _connect, superqt re-raises in the GUI thread
        worker = create_worker(
            job,
            _progress={"desc": f"Sobel of {name}"},
            _start_thread=False,
            _connect={
                "returned": lambda result: (
                    self._show(name, result, params, note)
                    if isinstance(result, Gradients)
                    else self._say(f"{name}: {result}")
                ),
                "errored": lambda exc: self._say(f"{name}: {exc}"),
                "finished": lambda: self._run_button.setEnabled(True),
            },
        )
        self._worker = worker
        worker.start()
        return worker

    # ------------------------------------------------------------------ internals

    def _parameters(self) -> dict:
        device = self._device_combo.currentText()
        return {
            "padding": self._padding_combo.currentText(),
            "sigma": self._sigma_spin.value(),
            "device": None if device == "auto" else device,
        }

    def _show(self, name: str, result: Gradients, params: dict, note: str | None) -> None:
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its Sobel outputs were ready.")
        chosen = [n for n, check in self._output_checks.items() if check.isChecked()]
        meta = {**params, "kernel_x": SOBEL_X.tolist(), "kernel_y": SOBEL_Y.tolist()}
        replaced = {}
        for what in ("gx", "gy", "magnitude", "direction"):
            previous = owned_output(self._viewer, name, f"sobel_{what}")
            if what in chosen:
                if previous is not None:
                    replaced[what] = previous.data  # no longer shown: the next run's buffer
                put_layer(self._viewer, "image", name, f"sobel_{what}", getattr(result, what),
                          meta, **_look(what, getattr(result, what)))  # fmt: skip
        if "rgb" in chosen and not is_lazy(result.magnitude):
            rgb = magnitude_direction_rgb(result)
            put_layer(self._viewer, "image", name, "sobel_rgb", rgb, meta, rgb=True)
        if "vectors" in chosen and not is_lazy(result.gx):
            vectors = _arrows(result)
            put_layer(self._viewer, "vectors", name, "sobel_vectors", vectors, meta,
                      edge_color="yellow", edge_width=0.3, vector_style="arrow")  # fmt: skip
        if len(replaced) == 4 and all(isinstance(a, np.ndarray) for a in replaced.values()):
            self._spare[name] = Gradients(**replaced)
        self._say(note or "")

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

    def closeEvent(self, event) -> None:
        if self._worker is not None:
            self._worker.quit()
        self._viewer.layers.events.inserted.disconnect(self._on_layers_changed)
        self._viewer.layers.events.removed.disconnect(self._on_layers_changed)
        super().closeEvent(event)


class _Job:
    """The work of one run, callable in a worker: it touches no widget and no layer."""

    def __init__(self, data, params: dict, out: Gradients | None):
        self.data, self.params, self.out = data, params, out

    def __call__(self) -> Gradients | Exception:
        # an error is returned, not raised: napari's task-status handler on ``errored``
        # takes one argument too few and raises under PySide6
        try:
            return self._compute()
        except (ValueError, TypeError, MemoryError) as exc:
            return exc

    def _compute(self) -> Gradients:
        data = self.data
        sigma = self.params["sigma"]
        if sigma > 0:
            data = _smooth(data, sigma)
        out = self.out if isinstance(data, np.ndarray) else None
        return sobel(data, padding=self.params["padding"], device=self.params["device"], out=out)


def _smooth(data, sigma: float):
    from scipy import ndimage

    sigmas = (0,) * (data.ndim - 2) + (sigma, sigma)  # never across the images of a stack
    if is_lazy(data):
        return data.map_blocks(
            lambda block: ndimage.gaussian_filter(block.astype(np.float32), sigmas),
            dtype=np.float32,
        )
    return ndimage.gaussian_filter(np.asarray(data, np.float32), sigmas)


def _grey(layer):
    """The layer's data as grey images, and a sentence when it had to be converted."""
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    if getattr(layer, "rgb", False):
        weights = np.array([0.2125, 0.7154, 0.0721][: data.shape[-1]], np.float32)
        grey = (data[..., : len(weights)] * weights).sum(-1) / weights.sum()
        return grey, f"{layer.name} is RGB: its luminance (0.21 R + 0.72 G + 0.07 B) was used."
    if data.ndim < 2:
        raise ValueError(f"{layer.name} is {data.ndim}D: Sobel needs 2D images.")
    if 0 in data.shape:
        raise ValueError(f"{layer.name} is empty (shape {tuple(data.shape)}).")
    return data, None


def _output_shape(shape, padding: str) -> tuple:
    return (*shape[:-2], shape[-2] - 2, shape[-1] - 2) if padding == "valid" else tuple(shape)


def _look(what: str, data) -> dict:
    """Colormap and contrast limits that read right for each output."""
    if what == "direction":
        return {"colormap": "twilight_shifted", "contrast_limits": (-np.pi, np.pi)}
    sample = np.asarray(data[(0,) * (data.ndim - 2)] if is_lazy(data) else data)
    finite = sample[np.isfinite(sample)]
    top = float(np.percentile(np.abs(finite), 99.5)) if finite.size else 1.0
    top = top if top > 0 else 1.0
    if what == "magnitude":
        return {"colormap": "magma", "contrast_limits": (0.0, top)}
    return {"colormap": "PiYG", "contrast_limits": (-top, top)}  # symmetric around 0


def _arrows(result: Gradients) -> np.ndarray:
    """``(n, 2, ndim)`` napari vectors on a grid, scaled so the longest is one grid step."""
    gx, gy = np.asarray(result.gx), np.asarray(result.gy)
    h, w = gx.shape[-2:]
    planes = int(np.prod(gx.shape[:-2])) if gx.ndim > 2 else 1
    step = max(4, int(np.ceil(np.sqrt(planes * h * w / MAX_VECTORS))))
    grid = np.stack(
        np.meshgrid(*[np.arange(n) for n in gx.shape[:-2]],
                    np.arange(step // 2, h, step), np.arange(step // 2, w, step), indexing="ij"),
        -1,
    ).reshape(-1, gx.ndim)  # fmt: skip
    index = tuple(grid.T)
    vy, vx = gy[index], gx[index]
    scale = np.nanmax(np.hypot(vx, vy)) if vx.size else 1.0
    scale = step / scale if scale and np.isfinite(scale) else 0.0
    direction = np.zeros_like(grid, dtype=np.float32)
    direction[:, -2], direction[:, -1] = vy * scale, vx * scale
    return np.stack([grid.astype(np.float32), direction], axis=1)


def _devices() -> list[str]:
    import torch

    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


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
