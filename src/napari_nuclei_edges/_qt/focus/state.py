"""The focus dock's state, Qt-free: the stack chosen, its measures, the slice each picks.

The dock's controls and its plot are views of one :class:`FocusState`; the rules
live here and are tested without Qt:

- a new layer or axis clears the measured curves (they belong to the old stack);
- each measure's best slice is the first of its maxima;
- the curves are shown each scaled to its own maximum (a constant stack: all 0);
- a sentence says when the measures disagree, and which slices are constant.

Examples
--------
>>> state = FocusState(layer="stack")
>>> state.set_values({"brenner": np.array([1.0, 4.0, 2.0]),
...                   "spectral": np.array([0.2, 0.1, 0.3])})
>>> state.best
{'brenner': 1, 'spectral': 2}
>>> state.scaled()["brenner"]
array([0.25, 1.  , 0.5 ])
>>> state.disagreement()
'The measures disagree: Brenner picks slice 1; spectral picks slice 2. Look at both slices.'
>>> state.set_noise(30.0)
>>> state.set_values({"brenner": np.array([1.0, 4.0, 2.0, 3.0, 1.0])})
>>> state.robustness()
'With noise σ = 30 added, false maxima: Brenner 1.'
>>> state.set_axis(1)
>>> state.values
{}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from psygnal import evented

from ...focus import FOCUS_MEASURES, MEASURE_LABELS, false_maxima
from ...focus._measures import check_noise


@evented
@dataclass
class FocusState:
    """What the focus dock shows and the user sets; one event per field."""

    layer: str = ""
    axis: int = 0
    pick_by: str = FOCUS_MEASURES[0]  # the measure whose best slice Keep best slice takes
    noise: float = 0.0  # σ of the Gaussian noise added before measuring (the robustness test)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    best: dict[str, int] = field(default_factory=dict)

    def set_layer(self, name: str) -> None:
        """Another stack: its old curves are cleared."""
        if name != self.layer:
            self.layer = name
            self.clear()

    def rename_layer(self, old: str, new: str) -> None:
        """The stack was renamed in napari: its curves stay, under the new name."""
        if self.layer == old:
            self.layer = new

    def set_axis(self, axis: int) -> None:
        """Another slice axis: the old curves are cleared."""
        if int(axis) != self.axis:
            self.axis = int(axis)
            self.clear()

    def set_pick_by(self, measure: str) -> None:
        if measure not in FOCUS_MEASURES:
            raise ValueError(f"Unknown focus measure {measure!r}: choose from {FOCUS_MEASURES}.")
        self.pick_by = measure

    def set_noise(self, sigma: float) -> None:
        """Another noise σ: the old curves were measured with other noise."""
        sigma = check_noise(sigma)
        if sigma != self.noise:
            self.noise = sigma
            self.clear()

    def clear(self) -> None:
        self.best = {}
        self.values = {}

    def set_values(self, values: dict[str, np.ndarray]) -> None:
        """The measured curves; each measure's best slice follows."""
        values = {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}
        self.best = {name: int(np.argmax(v)) for name, v in values.items()}
        self.values = values

    @property
    def picked(self) -> int | None:
        """The slice Keep best slice keeps: the chosen measure's best, if measured."""
        return self.best.get(self.pick_by)

    def scaled(self) -> dict[str, np.ndarray]:
        """Each curve divided by its maximum (a curve of zeros stays 0)."""
        scaled = {}
        for name, v in self.values.items():
            top = float(np.max(v)) if v.size else 0.0
            scaled[name] = v / top if top > 0 else np.zeros_like(v)
        return scaled

    def disagreement(self) -> str:
        """A sentence when the measures pick different slices; empty when they agree."""
        by_slice: dict[int, list[str]] = {}
        for name, index in self.best.items():
            by_slice.setdefault(index, []).append(name)
        if len(by_slice) < 2:
            return ""
        parts = [
            f"{', '.join(MEASURE_LABELS[n] for n in names)} "
            f"pick{'s' if len(names) == 1 else ''} slice {index}"
            for index, names in sorted(by_slice.items(), key=lambda item: -len(item[1]))
        ]
        slices = "both slices" if len(by_slice) == 2 else "these slices"
        return f"The measures disagree: {'; '.join(parts)}. Look at {slices}."

    def robustness(self) -> str:
        """With noise added: which measures gained false maxima (a curve that is not
        unimodal can lead an autofocus astray), and which stayed clean."""
        if not self.values or self.noise <= 0:
            return ""
        counts = {name: false_maxima(v) for name, v in self.values.items()}
        bumpy = [f"{MEASURE_LABELS[name]} {n}" for name, n in counts.items() if n]
        clean = [MEASURE_LABELS[name] for name, n in counts.items() if not n]
        head = f"With noise σ = {self.noise:g} added, "
        if not bumpy:
            return head + "every curve still has a single peak."
        said = "false maxima: " + ", ".join(bumpy)
        return head + said + ("; single peak: " + ", ".join(clean) if clean else "") + "."

    def constant_slices(self) -> str:
        """A sentence naming the slices whose every measure is 0 (constant slices)."""
        if not self.values:
            return ""
        zero = np.logical_and.reduce([v == 0 for v in self.values.values()])
        indices = np.flatnonzero(zero)
        if indices.size == 0:
            return ""
        shown = ", ".join(str(i) for i in indices[:8]) + (", …" if indices.size > 8 else "")
        if indices.size == zero.size:
            return "Every slice is constant: all measures are 0, no slice is sharper."
        return (
            f"Slice{'s' if indices.size > 1 else ''} {shown} "
            f"{'are' if indices.size > 1 else 'is'} constant: every measure is 0 there."
        )
