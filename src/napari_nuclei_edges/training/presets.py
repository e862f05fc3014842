"""Named sets of training options: the dock's defaults, a run to watch, the course notebook's.

The standard library and :mod:`.options` only (no torch, no Qt): the dock's preset
menu reads them, a script passes them to :func:`~napari_nuclei_edges.training.fit_kernel`.

Examples
--------
>>> options, target = preset("course notebook")
>>> options["optimiser"], options["learning_rate"], options["normalisation"], target
('sgd', 0.01, 'none', 'gx')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from napari_nuclei_edges.training.options import TrainingOptions

#: The options a preset sets, all of them, so that a preset always makes the same run.
PRESET_FIELDS = ("model", "kernel_size", "bias", "optimiser", "learning_rate", "steps",
                 "batch_size", "validation_fraction", "normalisation", "seed", "layers",
                 "channels", "patience", "pace")  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """A set of options, its target, and one sentence on what to see with it."""

    about: str
    changes: dict = field(default_factory=dict)  # from the defaults of TrainingOptions
    target: str = "gx"


PRESETS = {
    "defaults": Preset(
        "The dock's defaults: Adam on standardised images learns Sobel Gx in a fraction of "
        "a second."
    ),
    "watch it learn": Preset(
        "A run to watch: Adam at 0.02 with a pause of 6 ms after each step, so the loss "
        "falls and the kernel takes Sobel's shape over about 10 s: time to try Pause, "
        "Resume and Stop.",
        {"learning_rate": 0.02, "steps": 3000, "pace": 0.006},
    ),
    "course notebook": Preset(
        "The course notebook's own settings: targets of the image's size (padding='same'), "
        "plain SGD at a learning rate of 0.01 on raw pixels. It diverges within a few "
        "steps, and the dock says why.",
        {"optimiser": "sgd", "learning_rate": 0.01, "normalisation": "none"},
    ),
}


def preset(name: str) -> tuple[dict, str]:
    """``(options, target)`` of preset ``name``: every field of :data:`PRESET_FIELDS`.

    Raises
    ------
    ValueError
        For a name that is not a preset, with the names that are.
    """
    if name not in PRESETS:
        raise ValueError(f"no preset {name!r}; presets are {', '.join(PRESETS)}.")
    defaults = TrainingOptions()
    chosen = PRESETS[name]
    options = {key: getattr(defaults, key) for key in PRESET_FIELDS}
    options["optimiser"] = None  # auto: the model's choice, as in a new dock
    return {**options, **chosen.changes}, chosen.target
