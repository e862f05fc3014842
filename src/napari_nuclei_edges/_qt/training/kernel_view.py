"""The learned kernels beside the reference kernels, and the numbers that compare them."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..common.plots import theme_colors

#: Kernels up to this size show their numbers in the cells.
NUMBERED_UP_TO = 5


class KernelView(QWidget):
    """The learned kernels (left) beside the reference kernels (right), one row per output.

    The reference is titled for what it is: *true (Sobel)* for a kernel that makes
    the targets exactly, *least squares* for the best linear kernel, found in
    closed form (for the magnitude, or a target layer). ``errors``, the numbers
    under it, is placed by the dock (full width, below the plot and the kernels).

    Painted with QPainter (coloured cells and their numbers): a pyqtgraph
    layout of image and text items costs tens of milliseconds per update in
    software rendering, enough to starve the training thread of the GIL.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self._text_color = QColor(theme_colors(viewer)["text"])
        self._lookup = _diverging_lookup()
        self.canvas = _KernelCanvas(self)
        # numbers and words only, no layer names: wrapped at spaces, never inside a number
        self.errors = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.learned: np.ndarray | None = None
        self.reference: np.ndarray | None = None
        self.reference_title = REFERENCE_TITLES["true"]
        self._measured: dict[str, tuple[int, float]] = {}

    def restyle(self, colors: dict[str, str]) -> None:
        """Draw the titles in napari's theme text colour."""
        self._text_color = QColor(colors["text"])
        self.canvas.update()

    def clear(self) -> None:
        self.learned = self.reference = None
        self._measured: dict[str, tuple[int, float]] = {}
        self.errors.setText("")
        self.canvas.update()

    def show_kernels(self, learned: np.ndarray, reference: np.ndarray | None, error=None,
                     step=None) -> None:  # fmt: skip
        """Draw ``(C_out, C_in, k, k)`` kernels (first input channel) and ``step``'s numbers."""
        self.learned, self.reference = learned, reference
        kind = getattr(step, "reference_kind", None) or "true"
        self.reference_title = REFERENCE_TITLES[kind]
        self.canvas.update()
        # the held-out numbers are measured every few steps: the last ones stay shown
        for name in ("magnitude_error", "test_loss"):
            value = getattr(step, name, None)
            if value is not None:
                self._measured[name] = (step.step, value)
        self.errors.setText(_describe(error, step, self._measured))

    def panels(self) -> list[tuple[str, np.ndarray]]:
        """``(title, kernels)`` of each column shown."""
        if self.learned is None:
            return []
        shown = [("learned", self.learned)]
        if self.reference is not None:
            shown.append((self.reference_title, self.reference))
        return shown


#: The reference kernel's title, by TrainingStep.reference_kind.
REFERENCE_TITLES = {"true": "true (Sobel)", "least squares": "least squares"}
#: How the errors line names what the learned kernel is compared with.
COMPARED = {"true": "learned vs true (Sobel)",
            "least squares": "learned vs least squares (the best linear kernel)"}  # fmt: skip


def _describe(error, step, measured: dict | None = None) -> str:
    lines = []
    alignment = getattr(step, "alignment", None)
    if alignment is not None:
        gram = np.asarray(alignment["gram"])
        reflected = " and reflected" if alignment["reflection"] else ""
        lines.append(
            f"learned pair = {alignment['scale']:.3g} × Sobel pair rotated by "
            f"{alignment['rotation_deg']:.1f}°{reflected}"
            f"; Gram matrix [[{gram[0, 0]:.3f}, {gram[0, 1]:.3f}], [{gram[1, 0]:.3f}, "
            f"{gram[1, 1]:.3f}]] (identity: an exact rotated Sobel pair)"
        )
    if error is not None:
        kind = getattr(step, "reference_kind", None) or "true"
        what = "after undoing the rotation" if alignment is not None else COMPARED[kind]
        lines.append(
            f"{what}: max |Δ| {error['max_abs']:.2e} · RMSE {error['rmse']:.2e} · "
            f"relative {error['relative']:.2e} · cosine {error['cosine']:.6f}"
        )
    numbers = []
    measured = measured or {}
    current = getattr(step, "step", None)

    def when(name: str) -> str:
        at = measured[name][0]
        return "" if at == current else f" at step {at}"

    if "magnitude_error" in measured:
        value = measured["magnitude_error"][1]
        where = "held-out layers" if "test_loss" in measured else "validation"
        shown = f"{value:.0%}" if value >= 0.01 else f"{value:.1e}"  # 59 %, or 1.2e-06
        numbers.append(f"magnitude error {shown} (relative RMS, {where}){when('magnitude_error')}")
    if "test_loss" in measured:
        numbers.append(f"held-out loss {measured['test_loss'][1]:.3g}{when('test_loss')}")
    if numbers:
        lines.append(" · ".join(numbers))
    return "\n".join(lines)


class _KernelCanvas(QWidget):
    def __init__(self, view: KernelView):
        super().__init__(view)
        self._view = view
        self.setMinimumHeight(150)

    def paintEvent(self, event) -> None:
        panels = self._view.panels()
        if not panels:
            return
        painter = QPainter(self)
        limit = max(float(np.abs(k).max()) for _, k in panels) or 1.0
        c_out, k = panels[0][1].shape[0], panels[0][1].shape[-1]
        # many kernels and nothing to compare with (a cnn's first layer): a square gallery
        per_row = int(np.ceil(np.sqrt(c_out))) if len(panels) == 1 and c_out > 2 else 1
        rows = int(np.ceil(c_out / per_row))
        title_height = 18
        column_width = self.width() / (len(panels) * per_row)
        row_height = (self.height() - title_height) / rows
        cell = max(1.0, min(column_width * 0.85, row_height * 0.9) / k)
        for column, (title, kernels) in enumerate(panels):
            painter.setPen(self._view._text_color)
            span = QRectF(column * column_width * per_row, 0, column_width * per_row, title_height)
            painter.drawText(span, Qt.AlignmentFlag.AlignCenter, title)
            for out in range(c_out):
                row, slot = divmod(out, per_row)
                left0 = (column * per_row + slot) * column_width + (column_width - cell * k) / 2
                top0 = title_height + row * row_height + (row_height - cell * k) / 2
                self._paint_kernel(painter, kernels[out, 0], left0, top0, cell, limit)
        painter.end()

    def _paint_kernel(self, painter, kernel, left0, top0, cell, limit) -> None:
        k = kernel.shape[-1]
        painter.save()  # the titles keep the dock's font
        font = painter.font()
        # five characters across a cell, with a margin: the numbers never touch
        font.setPixelSize(max(8, min(13, int(cell / 3.2))))
        painter.setFont(font)
        for (row, col), value in np.ndenumerate(kernel):
            rect = QRectF(left0 + col * cell, top0 + row * cell, cell, cell)
            index = min(255, max(0, round(float(value) / limit * 127.5 + 127.5)))
            r, g, b = self._view._lookup[index]
            painter.fillRect(rect, QColor(int(r), int(g), int(b)))
            if k <= NUMBERED_UP_TO and cell >= 24:
                painter.setPen(QColor(contrasting_text(r, g, b)))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, cell_text(value))
        painter.restore()


def cell_text(value: float) -> str:
    """A kernel value in at most five characters, so it fits its cell.

    Examples
    --------
    >>> cell_text(-2.0), cell_text(0.004), cell_text(543.3), cell_text(-5492.2), cell_text(54921.0)
    ('-2.00', '0.00', '543', '-5492', '5e+04')
    """
    size = abs(value)
    if size < 100:
        return f"{value:.2f}"
    if size < 1e4:
        return f"{value:.0f}"
    return f"{value:.0e}"


def contrasting_text(r: int, g: int, b: int) -> str:
    """Black or white, whichever reads better on the colour ``(r, g, b)`` (0–255).

    By relative luminance (WCAG): the darker cells of PiYG's ends take white.

    Examples
    --------
    >>> contrasting_text(142, 1, 82), contrasting_text(247, 247, 247)
    ('white', 'black')
    """

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # the contrast with black, (L + 0.05) / 0.05, beats white's, 1.05 / (L + 0.05), above ~0.18
    return "black" if luminance > 0.179 else "white"


def _diverging_lookup() -> np.ndarray:
    """napari's PiYG colormap (the Sobel layers' colormap) as a 256-entry RGB table."""
    from napari.utils.colormaps import ensure_colormap

    rgba = ensure_colormap("PiYG").map(np.linspace(0, 1, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8)
