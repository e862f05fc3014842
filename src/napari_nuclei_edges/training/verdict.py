"""The lesson of a run, in a line or two: how far it ended, why, what to try.

Three lessons: a run that ended far from the optimum (how far, the likely cause,
the change to try); a learning rate that is the cause (the loss rose, was best
at the first steps, or diverged: "the learning rate 0.1 is too high for the
small cnn with adam: try 0.01"); and what a linear kernel cannot do (the best
one still misses the magnitude). No torch, no Qt: the dock shows it under its
progress bar, a script can print it, the loop words its divergence with it.
"""

from __future__ import annotations

from napari_nuclei_edges.training.options import (
    TrainingOptions,
    TrainingStep,
    default_learning_rate,
)

#: A kernel this aligned with the reference (cosine), and this close (relative
#: error), counts as found.
NEAR_COSINE = 0.99
NEAR_RELATIVE = 0.1
#: Without a reference kernel: the share of the way from the start to the optimum
#: (0 for the cnn, which can fit its targets) still left to go that counts as far.
FAR_SHARE = 0.01
#: The gradient pair's second minimum (one kernel doing all the work) leaves a
#: magnitude error of tens of percent.
PAIR_TRAPPED = 0.05
#: A run whose best loss came within this share of its steps was thrown off by its
#: first steps: the learning rate is too high.
EARLY_SHARE = 0.05
#: A rate this many times the model's default, in a run that ended far, is the cause.
ABOVE_DEFAULT = 3
#: A linear kernel that misses the magnitude by more than this has met its limit.
LINEAR_MAGNITUDE_LIMIT = 0.05
MODEL_NAMES = {"linear": "the linear kernel", "gradient_pair": "the gradient pair",
               "cnn": "the small cnn"}  # fmt: skip


def verdict(step: TrainingStep, options: TrainingOptions) -> str | None:
    """The lesson of a run that has ended, or None when there is none to tell.

    A run far from the optimum gets how far, the most likely cause and the change
    to try; a diverged run, or one whose loss rose or was best at its first steps,
    names its learning rate as the cause; a linear kernel fitted to the gradient's
    magnitude says by how much the best linear kernel still misses it.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_nuclei_edges.training.options import TrainingStep
    >>> run = TrainingStep(step=1000, loss=5.0, val_loss=None, weight=np.zeros((1, 1, 3, 3)),
    ...     bias=None, elapsed=1.7, trace_steps=(), trace_losses=(), optimum_loss=0.0,
    ...     reference=None, error={"cosine": 0.14, "relative": 0.99}, status="finished",
    ...     stable_rate=3e-5, first_loss=9.0, best_step=1000)
    >>> options = TrainingOptions(optimiser="sgd", learning_rate=1e-7, normalisation="none")
    >>> text = verdict(run, options)
    >>> text.startswith("Far from the optimum after 1000 steps (cosine 0.14, relative error")
    True
    >>> print(text.split(": ", 1)[1].replace("; ", ";\\n"))
    the learning rate 1e-07 is 300× below the largest stable rate (about 3e-05);
    raise it towards 1.5e-05, or choose Adam or LBFGS.
    """
    if step.status == "diverged":
        return _sentence(rate_too_high(options, step.stable_rate))
    if step.status not in ("finished", "plateau", "converged"):
        return None
    lessons = [_far(step, options) if step.status != "converged" else None,
               _linear_limit(step, options)]  # fmt: skip
    return "\n".join(lesson for lesson in lessons if lesson) or None


def rate_too_high(options: TrainingOptions, stable_rate: float | None = None,
                  why: str | None = None) -> str:  # fmt: skip
    """``"the learning rate X is too high for <model> with <optimiser>…: try Y"``.

    ``Y`` is half the largest stable rate when it is known (plain SGD on a
    quadratic), the model's default rate when ``X`` is above it, else ``X / 10``.
    On raw pixels the first change to try is normalising them.

    Examples
    --------
    >>> rate_too_high(TrainingOptions(model="cnn", learning_rate=0.1))
    'the learning rate 0.1 is too high for the small cnn with adam: try 0.01'
    """
    rate, optimiser = options.rate, options.optimiser
    model = MODEL_NAMES[options.model]
    why = f" ({why})" if why else ""
    if stable_rate is not None and rate > stable_rate:
        limit = f"the largest stable rate here is about {number(stable_rate)}"
        if options.normalisation == "none":
            return (
                f"the learning rate {number(rate)} is too high for {optimiser} on raw pixels "
                f"({limit}){why}: choose normalise 'standardise', which {optimiser}'s default "
                f"{number(default_learning_rate(options.model, optimiser))} is made for, or "
                f"try {number(stable_rate / 2)} (it will crawl), or Adam or LBFGS"
            )
        return (
            f"the learning rate {number(rate)} is too high for {optimiser} on these inputs "
            f"({limit}){why}: try {number(stable_rate / 2)}, or Adam or LBFGS"
        )
    default = default_learning_rate(options.model, optimiser)
    better = default if rate > default else float(f"{rate / 10:.1g}")
    raw = ", or normalise 'standardise'" if options.normalisation == "none" else ""
    return (
        f"the learning rate {number(rate)} is too high for {model} with {optimiser}{why}: "
        f"try {number(better)}{raw}"
    )


def number(value: float) -> str:
    """A rate or a loss in at most 2 significant digits, written as Python would read it.

    Examples
    --------
    >>> number(0.01), number(3.9123e-05), number(1.0), number(2.5e10)
    ('0.01', '3.9e-05', '1', '2.5e+10')
    """
    return f"{value:.2g}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _far(step: TrainingStep, options: TrainingOptions) -> str | None:
    """How far a finished or stopped run ended, why and what to try; None when near."""
    distance = _distance(step, options)
    if distance is None:
        return None
    ended = (
        f"on a plateau at step {step.step}"
        if step.status == "plateau"
        else f"after {step.step} steps"
    )
    what = "the target" if options.model == "cnn" else "the optimum"
    return f"Far from {what} {ended} ({distance}): {_cause(step, options)}."


def _distance(step: TrainingStep, options: TrainingOptions) -> str | None:
    """How far the run ended from the optimum, in words; None when it is near."""
    error = step.error
    magnitude = step.magnitude_error
    if magnitude is not None and step.alignment is not None and magnitude > PAIR_TRAPPED:
        return f"magnitude error {magnitude:.0%}"
    if error is not None:
        if error["cosine"] >= NEAR_COSINE and error["relative"] <= NEAR_RELATIVE:
            return None
        return f"cosine {error['cosine']:.2f}, relative error {error['relative']:.2f}"
    # the cnn has no closed-form optimum, but it can fit its targets: take 0 for it
    optimum = step.optimum_loss if step.optimum_loss is not None or options.model != "cnn" else 0
    first = step.first_loss
    if optimum is None or first is None or not first > optimum:
        return None
    share = (step.loss - optimum) / (first - optimum)
    if share <= FAR_SHARE:
        return None
    if magnitude is not None:
        return f"magnitude error {magnitude:.0%}"
    return f"{share:.0%} of the loss above the optimum left"


def _rate_signs(step: TrainingStep) -> str | None:
    """The marks of a learning rate too high: the loss rose, or was best at the start."""
    first = step.first_loss
    if first is not None and step.loss > first:
        return f"the loss rose from {number(first)} to {number(step.loss)}"
    best = step.best_step
    if best is not None and step.step > 20 and best <= EARLY_SHARE * step.step:
        which = "validation" if step.val_loss is not None else "training"
        return f"the {which} loss was lowest at step {best} of {step.step}"
    return None


def _cause(step: TrainingStep, options: TrainingOptions) -> str:
    """The most likely reason, and the change to try."""
    rate, optimiser = options.rate, options.optimiser
    gram = (step.alignment or {}).get("gram")
    if gram is not None and (step.magnitude_error or 0) > PAIR_TRAPPED:
        return (
            "the pair is stuck where one kernel does all the work (the second minimum "
            "of the magnitude); try another seed, or add the direction to the target"
        )
    default = default_learning_rate(options.model, optimiser)
    signs = _rate_signs(step)
    if signs is not None:
        return rate_too_high(options, why=signs)
    stable = step.stable_rate
    if stable is not None and rate < 0.05 * stable:
        return (
            f"the learning rate {number(rate)} is {stable / rate:.0f}× below the largest "
            f"stable rate (about {number(stable)}); raise it towards "
            f"{number(stable / 2)}, or choose Adam or LBFGS"
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
    if optimiser != "lbfgs" and rate > ABOVE_DEFAULT * default:
        return rate_too_high(options)
    if optimiser != "lbfgs" and rate < 0.1 * default:
        return (
            f"the learning rate {number(rate)} is small for {optimiser}; try its default "
            f"{number(default)}, or LBFGS"
        )
    if step.status == "plateau":
        return "the loss stopped improving; lower the learning rate, or choose LBFGS"
    return "more steps are needed; raise the steps, or choose LBFGS, which uses curvature"


def _linear_limit(step: TrainingStep, options: TrainingOptions) -> str | None:
    """What the best linear kernel still misses of the magnitude (linear model only)."""
    magnitude = step.magnitude_error
    if options.model != "linear" or magnitude is None or magnitude <= LINEAR_MAGNITUDE_LIMIT:
        return None
    found = "The best linear kernel" if step.status == "converged" else "This linear kernel"
    return (
        f"{found} still misses the magnitude by {magnitude:.0%} (relative RMS): "
        "magnitude is not linear in the pixels; try the gradient pair or the small cnn."
    )
