"""The one-line lesson of a run that ended far from the optimum: how far, why, what to try.

The standard library only (no numpy, no torch, no Qt): the dock shows it under
the plot, a script can print it.
"""

from __future__ import annotations

from napari_nuclei_edges.training.options import (
    DEFAULT_LEARNING_RATES,
    TrainingOptions,
    TrainingStep,
)

#: A kernel this aligned with the reference (cosine), and this close (relative
#: error), counts as found.
NEAR_COSINE = 0.99
NEAR_RELATIVE = 0.1
#: Without a reference kernel: the share of the way from the start to the optimum
#: still left to go that counts as far.
FAR_SHARE = 0.01
#: The gradient pair's second minimum (one kernel doing all the work) leaves a
#: magnitude error of tens of percent.
PAIR_TRAPPED = 0.05


def verdict(step: TrainingStep, options: TrainingOptions) -> str | None:
    """A sentence when a run ended (finished or on a plateau) far from the optimum, else None.

    Says how far (cosine and relative error to the reference kernel, or the share
    of the loss left above the optimum), the most likely cause, and the change to
    try.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_nuclei_edges.training.options import TrainingStep
    >>> run = TrainingStep(step=1000, loss=5.0, val_loss=None, weight=np.zeros((1, 1, 3, 3)),
    ...     bias=None, elapsed=1.7, trace_steps=(), trace_losses=(), optimum_loss=0.0,
    ...     reference=None, error={"cosine": 0.14, "relative": 0.99}, status="finished",
    ...     stable_rate=3e-5)
    >>> options = TrainingOptions(optimiser="sgd", learning_rate=1e-7, normalisation="none")
    >>> text = verdict(run, options)
    >>> text.startswith("Far from the optimum after 1000 steps (cosine 0.14, relative error")
    True
    >>> print(text.split(": ", 1)[1].replace("; ", ";\\n"))
    the learning rate 1e-07 is 300× below the largest stable rate (3e-05);
    raise it towards 1.5e-05, or choose Adam or LBFGS.
    """
    if step.status not in ("finished", "plateau"):
        return None
    distance = _distance(step)
    if distance is None:
        return None
    ended = (
        f"on a plateau at step {step.step}"
        if step.status == "plateau"
        else (f"after {step.step} steps")
    )
    return f"Far from the optimum {ended} ({distance}): {_cause(step, options)}."


def _distance(step: TrainingStep) -> str | None:
    """How far the run ended from the optimum, in words; None when it is near."""
    error = step.error
    magnitude = step.magnitude_error
    if magnitude is not None and step.alignment is not None and magnitude > PAIR_TRAPPED:
        return f"magnitude error {magnitude:.0%}"
    if error is not None:
        if error["cosine"] >= NEAR_COSINE and error["relative"] <= NEAR_RELATIVE:
            return None
        return f"cosine {error['cosine']:.2f}, relative error {error['relative']:.2f}"
    optimum, first = step.optimum_loss, step.first_loss
    if optimum is None or first is None or not first > optimum:
        return None
    share = (step.loss - optimum) / (first - optimum)
    if share <= FAR_SHARE:
        return None
    return f"{share:.0%} of the loss above the optimum left"


def _cause(step: TrainingStep, options: TrainingOptions) -> str:
    """The most likely reason, and the change to try."""
    rate, optimiser = options.rate, options.optimiser
    gram = (step.alignment or {}).get("gram")
    if gram is not None and (step.magnitude_error or 0) > PAIR_TRAPPED:
        return (
            "the pair is stuck where one kernel does all the work (the second minimum "
            "of the magnitude); try another seed, or add the direction to the target"
        )
    stable = step.stable_rate
    if stable is not None and rate < 0.05 * stable:
        return (
            f"the learning rate {rate:g} is {stable / rate:.0f}× below the largest stable "
            f"rate ({stable:.2g}); raise it towards {stable / 2:.2g}, or choose Adam or LBFGS"
        )
    if options.normalisation == "none" and optimiser in ("sgd", "momentum"):
        return (
            "raw pixel values make the loss steep along some directions and flat along "
            "others, so a stable rate crawls along the flat ones; choose normalise "
            "'standardise', or Adam or LBFGS"
        )
    if options.batch_size is not None and optimiser != "lbfgs":
        return (
            f"mini-batches of {options.batch_size} images make each step noisy; use all "
            "images per step (batch empty), or a lower learning rate"
        )
    if optimiser != "lbfgs" and rate < 0.1 * DEFAULT_LEARNING_RATES[optimiser]:
        return (
            f"the learning rate {rate:g} is small for {optimiser}; try its default "
            f"{DEFAULT_LEARNING_RATES[optimiser]:g}, or LBFGS"
        )
    if step.status == "plateau":
        return "the loss stopped improving; lower the learning rate, or choose LBFGS"
    return "more steps are needed; raise the steps, or choose LBFGS, which uses curvature"
