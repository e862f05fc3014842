"""What the training dock does with layers and files: its data, Apply, Save and Load.

Plain functions of plain values (the viewer, layer names, a kernel, options): each
returns what the dock shows (a layer, a message, loaded values) and touches no
widget. The worker's functions (:func:`training_steps`, :func:`warm_up`) touch
no layer either.
"""

from __future__ import annotations

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
                  held_out: bool = False):  # fmt: skip
    """``(inputs, targets, held_out, note)`` for :func:`fit_kernel` from the chosen layers.

    ``held_out`` asks for every other image layer of the input's image size as
    images never trained on. Raises ValueError with a sentence for layers a
    kernel cannot learn from.
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
        if tuple(target_shape) != tuple(input_shape):
            raise ValueError(
                f"The target {target_name} {tuple(target_shape)} does not pair with the input "
                f"{input_name} {tuple(input_shape)}: one target image of the same size per "
                "input image is needed."
            )
        targets = _stack(target_layer, index)[0]
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
            "test on: add one, or untick 'test on the other image layers'."
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


def apply_kernel(viewer, input_name: str, kernel, bias=None,
                 options: TrainingOptions | None = None):  # fmt: skip
    """``(layer, message)``: ``<input>_learned``, the input filtered by the kernel (and bias).

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
        "options": options.__dict__ if options is not None else None,
    }
    limit = float(np.abs(out).max()) or 1.0
    # a magnitude is never negative: the Sobel magnitude layer's look, not a diverging one
    look = ({"colormap": "magma", "contrast_limits": (0, limit)} if model == "gradient_pair"
            else {"colormap": "PiYG", "contrast_limits": (-limit, limit)})  # fmt: skip
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
    if path.suffix == ".txt":
        written = []
        for out in range(kernel.shape[0]):
            one = path if kernel.shape[0] == 1 else path.with_name(f"{path.stem}_{out}.txt")
            one.write_text(fiji_kernel_text(kernel[out, 0]))
            written.append(one.name)
        return f"Saved for Fiji's Convolve: {', '.join(written)}."
    last = history[-1] if history else None
    metadata = {
        "input": input_name,
        "target": target,
        "options": options.__dict__ if options is not None else None,
        "steps": last.step if last else None,
        "loss": last.loss if last else None,
        "val_loss": last.val_loss if last else None,
        "error": last.error if last else None,
    }
    saved = save(path, kernel, bias=bias, metadata=metadata)
    return f"Saved the kernel to {saved} (and its metadata beside it)."


def load_kernel(path):
    """``(kernel, bias, options, message)`` from a saved kernel; kernel None when unreadable.

    ``options`` are the training options saved with the kernel (its model decides
    how Apply uses it), or None.
    """
    from ...training.kernel_io import load_kernel as load

    try:
        kernel, bias, metadata = load(path)
    except (OSError, ValueError) as exc:
        return None, None, None, f"Cannot load {Path(path).name}: {exc}"
    try:
        options = TrainingOptions(**metadata["options"])
    except (KeyError, TypeError, ValueError):  # no options saved, or not ours
        options = None
    made = f", learned on {metadata['input']}" if metadata.get("input") else ""
    size = f"{kernel.shape[-1]} × {kernel.shape[-1]}"
    return kernel, bias, options, f"Loaded a {size} kernel from {Path(path).name}{made}."


def export_loss_csv(path, history) -> str:
    """Write the loss history as CSV; the message the dock shows."""
    from ...training.kernel_io import save_history_csv

    if not history:
        return "Nothing to export yet: start a training run first."
    save_history_csv(path, history)
    return f"Saved the loss history to {path}."


def step_message(step) -> str | None:
    """What the dock says about a reported step: how the run ended, or None while it runs."""
    if step.status == "converged":
        return (
            f"Converged after {step.step} steps ({step.elapsed:.2f} s): the loss is within "
            "the tolerance of the closed-form optimum."
        )
    if step.status == "finished":
        return f"Finished {step.step} steps in {step.elapsed:.2f} s."
    return None


# --------------------------------------------------------------------------- workers


def training_steps(inputs, targets, options: TrainingOptions, held_out=None):
    """The training worker's generator: the steps of :func:`fit_kernel`, no widget, no layer."""
    from ...training import fit_kernel

    yield from fit_kernel(inputs, targets, held_out, **options.__dict__)


def warm_up() -> None:
    """A tiny fit: imports torch's optimisers and sets up its kernels before the first run."""
    from ...training import fit_kernel

    images = np.random.default_rng(0).random((3, 9, 9))
    for _ in fit_kernel(images, "gx", steps=2, optimiser="adam"):
        pass
