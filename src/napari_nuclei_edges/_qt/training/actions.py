"""What the training dock does with layers and files: its data, Apply, Save and Load.

Plain functions of plain values (the viewer, layer names, a kernel, options): each
returns what the dock shows (a layer, a message, loaded values) and touches no
widget. The worker's functions (:func:`training_steps`, :func:`warm_up`) touch
no layer either.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...data import sample_indices
from ...training.options import TrainingOptions
from ..common.layers import is_lazy, layer_data, layer_problem, user_image_layers
from ..common.outputs import put_layer

#: Most images taken from a stack for training (evenly spaced beyond that).
MAX_IMAGES = 1000
NO_KERNEL = "No kernel yet: train one or load one first."
#: The file buttons' dialogs: (a save dialog?, title, file name, file types).
FILE_DIALOGS = {
    "save": (True, "Save kernel", "{input}_kernel.npy",
             "NumPy kernel + JSON (*.npy);;Fiji Convolve text (*.txt)"),
    "load": (False, "Load kernel", "", "NumPy kernel (*.npy)"),
    "csv": (True, "Export loss CSV", "{input}_loss.csv", "CSV (*.csv)"),
}  # fmt: skip
#: Target choices computed from the input, by label.
SOBEL_TARGETS = {
    "Sobel Gx": "gx",
    "Sobel Gy": "gy",
    "Sobel Gx + Gy": "both",
    "Sobel magnitude": "magnitude",
    "Sobel direction": "direction",
    "Sobel magnitude + direction": "polar",
}


def training_data(viewer, input_name: str, target_label: str, sobel_targets: dict,
                  held_out: bool = False, radius: int = 1):  # fmt: skip
    """``(inputs, targets, held_out, note)`` for :func:`fit_kernel` from the chosen layers.

    A target layer has the input's size (``same``) or the valid size, ``radius``
    pixels fewer on each side (the course's ``valid`` cross-correlation); the
    note says which it was taken as. ``held_out`` asks for every other image
    layer of the input's image size as images never trained on. Raises
    ValueError with a sentence for layers a kernel cannot learn from.
    """
    if input_name not in viewer.layers:
        raise ValueError("Choose an input image layer first.")
    source = viewer.layers[input_name]
    inputs, index, note = _stack(source)
    target_name = None
    if target_label in sobel_targets:
        targets = sobel_targets[target_label]
    else:
        target_name = target_label.removeprefix("layer: ")
        if target_name not in viewer.layers:
            raise ValueError(f"The target layer {target_name} is gone; choose another target.")
        target_layer = viewer.layers[target_name]
        target_shape, input_shape = layer_data(target_layer).shape, layer_data(source).shape
        h, w = input_shape[-2:]
        valid = (h - 2 * radius, w - 2 * radius)
        same_count = tuple(target_shape[:-2]) == tuple(input_shape[:-2])
        if not same_count or tuple(target_shape[-2:]) not in ((h, w), valid):
            raise ValueError(
                f"The target {target_name} {tuple(target_shape)} does not pair with the input "
                f"{input_name} {tuple(input_shape)}: one target image per input image, of "
                f"the same size ({h} × {w}) or of the valid size ({valid[0]} × {valid[1]}, "
                f"a cross-correlation without padding) is needed."
            )
        targets = _stack(target_layer, index)[0]
        if tuple(target_shape[-2:]) == valid and valid != (h, w):
            taken = (
                f"{target_name} is {valid[0]} × {valid[1]}: taken as the valid "
                f"cross-correlation of {input_name} ({h} × {w}), without padding."
            )
            note = f"{note} {taken}" if note else taken
    if not held_out:
        return inputs, targets, None, note
    if target_name is not None:
        raise ValueError(
            "Testing on other layers needs a Sobel target (computed for each of them); "
            "with a target layer, the validation split is the held-out test."
        )
    others = held_out_layers(viewer, input_name)
    if not others:
        raise ValueError(
            f"No other image layer of {inputs.shape[-2]} × {inputs.shape[-1]} images to "
            "test on: add one, or untick 'test on other layers'."
        )
    tests = np.concatenate([_stack(layer)[0] for layer in others])
    names = ", ".join(layer.name for layer in others)
    note = (note + " " if note else "") + f"Testing on {names}."
    return inputs, targets, tests, note


def held_out_layers(viewer, input_name: str) -> list:
    """The other image layers a user made, of the input's image size, to test on.

    Layers are told apart by name: a dock opened from napari's Plugins menu sees
    the layers through proxies, and two proxies of one layer are never ``is``.
    """
    size = tuple(layer_data(viewer.layers[input_name]).shape[-2:])
    return [
        layer
        for layer in user_image_layers(viewer)
        if layer.name != input_name
        and layer_problem(layer, "training", max_ndim=3) is None
        and tuple(layer_data(layer).shape[-2:]) == size
    ]


def _stack(layer, index: np.ndarray | None = None):
    """The layer as an ``(N, H, W)`` numpy stack, sampling at most MAX_IMAGES images."""
    problem = layer_problem(layer, "training", max_ndim=3)
    if problem is not None:
        raise ValueError(problem)
    data = layer_data(layer)
    if data.ndim == 2:
        data = data[None]
    note = None
    if index is None:
        index = sample_indices(len(data), MAX_IMAGES)
        if len(index) < len(data):
            note = (
                f"{layer.name} has {len(data)} images: training on {len(index)} of them, "
                "evenly spaced."
            )
    picked = data[index] if len(index) < len(data) else data
    if is_lazy(picked):
        picked = picked.compute() if hasattr(picked, "compute") else np.asarray(picked)
    return np.asarray(picked), index, note


def apply_problem(viewer, input_name: str, kernel, options: TrainingOptions | None,
                  status: str | None = None) -> str | None:  # fmt: skip
    """Why *Apply kernel* has nothing sensible to do now (None: it has)."""
    from ...training.apply import APPLIED_MODELS

    if kernel is None:
        return NO_KERNEL
    if status == "diverged":
        return (
            "The run diverged: its kernel is not a result. Lower the learning rate (or "
            "normalise) and train again."
        )
    model = options.model if options is not None else "linear"
    if model not in APPLIED_MODELS:
        return (
            "Apply kernel is for single-layer models: a cnn is more than its first-layer "
            "kernels shown here."
        )
    if input_name not in viewer.layers:
        return "Choose an input image layer first."
    if np.shape(kernel)[1] != 1:
        return "The kernel takes several input channels; Apply filters one-channel images."
    return None


def learned_look(model: str, target: str | None, out: np.ndarray, theme: str = "dark") -> dict:
    """Colormap and contrast of ``<input>_learned``: those of the Sobel output it imitates.

    ``target`` is a :data:`SOBEL_TARGETS` kind (or None for a target layer):
    the gradient pair and magnitude targets look like the magnitude layer, the
    rest like a signed derivative (diverging, symmetric around 0).
    """
    kind = "magnitude" if model == "gradient_pair" or target == "magnitude" else "gx"
    if target == "gy" and model == "linear":
        kind = "gy"
    from ...gradients.display import display_settings  # the Sobel dock's one rule

    return display_settings(kind, out, theme=theme)


def apply_kernel(viewer, input_name: str, kernel, bias=None,
                 options: TrainingOptions | None = None, target: str | None = None):  # fmt: skip
    """``(layer, message)``: ``<input>_learned``, the input filtered by the kernel (and bias).

    ``target`` (a :data:`SOBEL_TARGETS` kind, or None) picks the layer's look.
    The layer is None, and the message says why, when there is nothing to apply.
    """
    from ...training.apply import apply_kernel as apply
    from ...training.apply import padding_mode

    if kernel is None:
        return None, NO_KERNEL
    model = options.model if options is not None else "linear"
    if input_name not in viewer.layers:
        return None, "Choose an input image layer first."
    try:
        images = _stack(viewer.layers[input_name])[0]
        out = apply(images, kernel, bias, model=model)
    except (TypeError, ValueError) as exc:
        return None, str(exc)
    if layer_data(viewer.layers[input_name]).ndim == 2:
        out = out[0]
    params = {
        "kernel": np.asarray(kernel).tolist(),
        "bias": None if bias is None else np.asarray(bias).tolist(),
        "padding": padding_mode(images.shape, np.shape(kernel)[-1]),
        "options": options.as_dict() if options is not None else None,
        "target": target,
    }
    look = learned_look(model, target, out, theme=str(getattr(viewer, "theme", "dark")))
    layer = put_layer(viewer, "image", input_name, "learned", out, params, **look)
    return layer, f"{layer.name}: {input_name} filtered with the learned kernel."


def save_kernel(path, kernel, bias=None, *, input_name: str | None = None,
                target: str | None = None, options: TrainingOptions | None = None,
                history=()) -> str:  # fmt: skip
    """Write ``.npy`` + ``.json``, or Fiji Convolve text when ``path`` ends in ``.txt``.

    Returns the message the dock shows.
    """
    from ...training.kernel_io import fiji_kernel_text
    from ...training.kernel_io import save_kernel as save

    if kernel is None:
        return NO_KERNEL
    path = Path(path)
    try:
        if path.suffix == ".txt":
            texts = {  # every text first: a NaN kernel writes no file at all
                (path if kernel.shape[0] == 1 else path.with_name(f"{path.stem}_{out}.txt")):
                fiji_kernel_text(kernel[out, 0]) for out in range(kernel.shape[0])
            }  # fmt: skip
            for one, text in texts.items():
                one.write_text(text)
            return f"Saved for Fiji's Convolve: {', '.join(one.name for one in texts)}."
        saved = save(path, kernel, bias=bias, metadata=_metadata(input_name, target, options,
                                                                  history))  # fmt: skip
    except (OSError, ValueError) as exc:
        return f"Cannot save {path.name}: {exc}"
    return f"Saved the kernel to {saved} (and its metadata beside it)."


def _metadata(input_name, target, options, history) -> dict:
    last = history[-1] if history else None
    finite = last is not None and math.isfinite(last.loss)
    return {
        "input": input_name,
        "target": target,
        "options": options.as_dict() if options is not None else None,
        "steps": last.step if last else None,
        "status": last.status if last else None,
        "loss": last.loss if finite else None,
        "val_loss": last.val_loss if last else None,
        "error": last.error if last else None,
    }


def load_kernel(path):
    """``(kernel, bias, options, target, message)`` from a saved kernel.

    kernel is None, and the message says why, for any file that cannot be used.
    ``options`` are the training options saved with the kernel (its model decides
    how Apply uses it), or None; ``target`` the target label it was trained on.
    """
    from ...training.apply import APPLIED_MODELS
    from ...training.kernel_io import load_kernel as load

    name = Path(path).name
    try:
        kernel, bias, metadata = load(path)
    except (OSError, ValueError) as exc:
        return None, None, None, None, f"Cannot load {name}: {exc}"
    saved = metadata.get("options")
    try:
        options = TrainingOptions(**saved) if isinstance(saved, dict) else None
    except (TypeError, ValueError):  # options of another version, or not ours
        options = None
    model = options.model if options is not None else "linear"
    problem = None
    if kernel.shape[1] != 1:
        problem = (
            f"its kernel takes {kernel.shape[1]} input channels; the dock applies kernels "
            "to one-channel images, (C_out, 1, k, k)."
        )
    elif model not in APPLIED_MODELS:
        problem = f"it holds the first layer of a {model}, which is more than its kernels."
    elif model == "gradient_pair" and kernel.shape[0] != 2:
        problem = f"a gradient pair has two kernels, this file {kernel.shape[0]}."
    if problem is not None:
        return None, None, None, None, f"Cannot load {name}: {problem}"
    target = metadata.get("target") if isinstance(metadata.get("target"), str) else None
    source = metadata.get("input")
    made = f", learned on {source}" if isinstance(source, str) and source else ""
    size = f"{kernel.shape[-1]} × {kernel.shape[-1]}"
    return kernel, bias, options, target, f"Loaded a {size} kernel from {name}{made}."


def export_loss_csv(path, history) -> str:
    """Write the loss history as CSV; the message the dock shows."""
    from ...training.kernel_io import save_history_csv

    if not history:
        return "Nothing to export yet: start a training run first."
    try:
        save_history_csv(path, history)
    except OSError as exc:
        return f"Cannot save {Path(path).name}: {exc}"
    return f"Saved the loss history to {path}."


def step_message(step, options: TrainingOptions | None = None) -> str | None:
    """What the dock says about a reported step: how the run ended, or None while it runs.

    A run that ended far from the optimum gets its verdict (how far, the likely
    cause, the change to try) after the first sentence; a linear kernel fitted to
    the magnitude, what the best linear kernel still misses.
    """
    from ...training.verdict import verdict

    if step.status == "diverged":
        return step.message  # its lesson, the learning rate, is in it
    if step.status == "converged":
        what = "closed-form optimum" if step.error is None or step.alignment is None else "optimum"
        said = f"Converged at step {step.step} ({step.elapsed:.2f} s), at the {what}."
    elif step.status == "finished":
        said = f"Finished {step.step} steps in {step.elapsed:.2f} s."
    elif step.status == "plateau":
        said = step.message or f"Stopped on a plateau at step {step.step}."
    else:
        return None
    lesson = verdict(step, options) if options is not None else None
    return f"{said}\n{lesson}" if lesson else said


# --------------------------------------------------------------------------- workers


def training_steps(inputs, targets, options: TrainingOptions, held_out=None):
    """The training worker's generator: the steps of :func:`fit_kernel`, no widget, no layer."""
    from ...training import fit_kernel

    yield from fit_kernel(inputs, targets, held_out, **options.as_dict())


def warm_up() -> None:
    """A tiny fit: imports torch's optimisers and sets up its kernels before the first run."""
    from ...training import fit_kernel

    images = np.random.default_rng(0).random((3, 9, 9))
    for _ in fit_kernel(images, "gx", steps=2, optimiser="adam"):
        pass
