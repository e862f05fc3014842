"""The batch command's parameters: checked before anything is written, compared by meaning.

Each parameter is normalised once (a path resolved, ``80`` and ``80.0`` the
same number, a method name in lower case, the steps in their fixed order, and
a parameter that does not apply to the chosen steps left out), so a resumed run
compares what the parameters mean, not how they were typed.

numpy only; no Qt, no napari.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

STEPS = ("sobel", "threshold", "labels", "measure", "classify")
RULES = ("per_image", "global")
GONE = ("keep", "remove")
#: The parameters a store records and a resumed run must repeat, in the order they are compared.
COMPARED = ("source", "steps", "threshold", "rule", "padding", "model")


@dataclass(frozen=True)
class Parameters:
    """What a batch run computes; the values a store records.

    ``threshold``: a method name or a finite number, None when no step uses it;
    ``rule``: how the ``labels`` step thresholds with a method, None otherwise
    (a number is one threshold for every image); ``padding``: None without Sobel;
    ``model``: the classifier's path for ``classify`` (None otherwise) and
    ``model_identity`` a hash of its files, which is what a resumed run compares.
    """

    source: str
    steps: tuple[str, ...]
    threshold: str | float | None
    rule: str | None
    padding: str | None
    size: tuple[int, int] | None
    gone: str
    model: str | None = None
    model_identity: str | None = None

    @property
    def pooled_threshold(self) -> bool:
        """Whether one threshold over every image is needed (a method pooled over them)."""
        return isinstance(self.threshold, str) and (
            "threshold" in self.steps or ("labels" in self.steps and self.rule == "global")
        )

    def record(self) -> dict:
        return {"source": self.source, "steps": list(self.steps), "threshold": self.threshold,
                "rule": self.rule, "padding": self.padding, "model": self.model,
                "model_identity": self.model_identity}  # fmt: skip


def parameters(source: Path, steps, threshold, rule, padding, size, gone,
               model=None) -> Parameters:  # fmt: skip
    """Every parameter checked and normalised; ValueError naming the first bad one, in one line."""
    if isinstance(steps, str):
        steps = steps.split(",")
    given = [str(step).strip().lower() for step in steps if str(step).strip()]
    unknown = sorted(set(given) - set(STEPS))
    if unknown or not given:
        raise ValueError(f"--steps must be some of {', '.join(STEPS)}, not "
                         f"{', '.join(unknown) or 'none'}.")  # fmt: skip
    steps = tuple(step for step in STEPS if step in given)
    uses_threshold = "threshold" in steps or "labels" in steps
    value = _threshold(threshold) if uses_threshold else None
    rule = str(rule).strip().lower().replace("-", "_")
    if rule not in RULES:
        raise ValueError(f"--rule must be one of {', '.join(RULES)}, not {rule!r}.")
    rule = rule if "labels" in steps and isinstance(value, str) else None
    padding = str(padding).strip().lower()
    if "sobel" in steps:
        from ..gradients import PADDINGS

        if padding not in PADDINGS:
            raise ValueError(f"--padding must be one of {', '.join(PADDINGS)}, not {padding!r}.")
    else:
        padding = None
    if gone not in GONE:
        raise ValueError(f"--gone must be one of {', '.join(GONE)}, not {gone!r}.")
    if "classify" in steps and (model is None or not str(model).strip()):
        raise ValueError("--steps classify needs --model PATH: a classifier saved by the "
                         "Classify the stage dock or save_classifier.")  # fmt: skip
    if model is not None and "classify" not in steps:
        raise ValueError("--model is read only by the classify step; add classify to "
                         "--steps, or leave --model out.")  # fmt: skip
    if model is not None:
        model = str(Path(model).expanduser().absolute())
    return Parameters(str(source), steps, value, rule, padding, _size(size), gone, model)


def _threshold(threshold) -> str | float:
    from ..intensity import THRESHOLD_METHODS

    if isinstance(threshold, str) and threshold.strip().lower() in THRESHOLD_METHODS:
        return threshold.strip().lower()
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value):
        raise ValueError(f"--threshold must be a finite number or one of "
                         f"{', '.join(THRESHOLD_METHODS)}, not {threshold!r}.")  # fmt: skip
    return value


def _size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        if isinstance(size, str):
            size = size.lower().replace("×", "x").split("x")
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1:
        raise ValueError(f"--size must be HEIGHTxWIDTH in pixels, such as 80x80, not {size!r}.")
    return height, width


def compare(stored: dict, params: Parameters, out) -> None:
    """Refuse, in one line naming it, the first parameter that differs from the store's."""
    now = params.record()
    for key in COMPARED:
        old, new = stored.get(key), now[key]
        if isinstance(old, list):
            old = tuple(old)
        if isinstance(new, list):
            new = tuple(new)
        if key == "model":  # the same files wherever they are now, not the same path
            old, new = stored.get("model_identity"), params.model_identity
        if old == new:
            continue
        if key == "model":
            was = stored.get("model")  # both runs classify: the steps were compared first
            same_path = Path(was) == Path(params.model)
            raise ValueError(
                f"{out} was made with --model {was}"
                + (", which has changed since" if same_path else f", not {params.model}")
                + "; predictions of two models would be mixed: give the store's model, or a "
                "new --out to start again."
            )
        if key == "source":
            raise ValueError(f"{out} was made from {old}, not {new}; give that INPUT, or a new "
                             "--out to start again.")  # fmt: skip
        raise ValueError(f"{out} was made with --{key} {_shown(old)}, not {_shown(new)}; give "
                         f"--{key} {_shown(old)}, or a new --out to start again.")  # fmt: skip
    shape = stored.get("shape")
    if params.size is not None and shape is not None and tuple(shape) != params.size:
        raise ValueError(
            f"{out} holds images of {shape[0]}x{shape[1]}, not --size "
            f"{params.size[0]}x{params.size[1]}; give a new --out for another size."
        )


def _shown(value) -> str:
    if value is None:
        return "(not used)"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
