"""What the training dock does with layers and files: its data, Apply, Save and Load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..common.layers import is_lazy
from ..common.outputs import put_layer

#: Most images taken from a stack for training (evenly spaced beyond that).
MAX_IMAGES = 1000


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
        if tuple(target_layer.data.shape) != tuple(source.data.shape):
            raise ValueError(
                f"The target {target_name} {tuple(target_layer.data.shape)} does not pair with "
                f"the input {input_name} {tuple(source.data.shape)}: one target image of the "
                "same size per input image is needed."
            )
        targets = _stack(target_layer, index)[0]
    tests = None
    if held_out:
        if target_name is not None:
            raise ValueError(
                "Testing on other layers needs a Sobel target (computed for each of them); "
                "with a target layer, the validation split is the held-out test."
            )
        others = _held_out_layers(viewer, source)
        if not others:
            raise ValueError(
                f"No other image layer of {inputs.shape[-2]} × {inputs.shape[-1]} images to "
                "test on: add one, or untick 'test on the other image layers'."
            )
        tests = np.concatenate([_stack(layer)[0] for layer in others])
        names = ", ".join(layer.name for layer in others)
        note = (note + " " if note else "") + f"Testing on {names}."
    return inputs, targets, tests, note


def _held_out_layers(viewer, source):
    from napari.layers import Image

    from ..common.outputs import OWNER_KEY

    size = tuple(source.data.shape[-2:])
    return [
        layer
        for layer in viewer.layers
        if isinstance(layer, Image)
        and layer is not source
        and OWNER_KEY not in layer.metadata
        and not getattr(layer, "rgb", False)
        and tuple(layer.data.shape[-2:]) == size
        and layer.data.ndim in (2, 3)
    ]


def _stack(layer, index: np.ndarray | None = None):
    """The layer as an ``(N, H, W)`` numpy stack, sampling at most MAX_IMAGES images."""
    if getattr(layer, "rgb", False):
        raise ValueError(
            f"{layer.name} is an RGB image: split it into channels (right-click ▸ Split RGB) "
            "and train on one channel."
        )
    data = layer.data
    if np.dtype(data.dtype).kind not in "buif":
        raise ValueError(f"{layer.name} holds {data.dtype} values: a kernel needs real numbers.")
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(
            f"{layer.name} is {data.ndim}D {tuple(data.shape)}: training needs a stack of 2D "
            "images (N, H, W); take one channel or time point first."
        )
    note = None
    if index is None:
        index = np.arange(len(data))
        if len(data) > MAX_IMAGES:
            index = np.linspace(0, len(data) - 1, MAX_IMAGES).round().astype(int)
            note = (
                f"{layer.name} has {len(data)} images: training on {MAX_IMAGES} of them, "
                "evenly spaced."
            )
    picked = data[index] if len(index) < len(data) else data
    if is_lazy(picked):
        picked = picked.compute() if hasattr(picked, "compute") else np.asarray(picked)
    return np.asarray(picked), index, note


def apply_kernel(widget):
    """``<input>_learned``: the input layer filtered by the widget's kernel (and bias)."""
    import torch
    import torch.nn.functional as F

    kernel = widget.kernel
    name = widget.input_name
    model = widget._options.model if widget._options is not None else "linear"
    if kernel is None:
        return widget._say("No kernel yet: train one or load one first.")
    if model == "cnn":
        return widget._say(
            "Apply kernel is for single-layer models: a cnn is more than its first-layer "
            "kernels shown here."
        )
    if name not in widget._viewer.layers:
        return widget._say("Choose an input image layer first.")
    try:
        images = _stack(widget._viewer.layers[name], None)[0]
    except ValueError as exc:
        return widget._say(str(exc))
    layer_data = widget._viewer.layers[name].data
    k = kernel.shape[-1]
    r = k // 2
    x = torch.from_numpy(images.astype(np.float32))[:, None]
    mode = "reflect" if min(images.shape[-2:]) > r else "replicate"
    x = F.pad(x, (r, r, r, r), mode=mode) if r else x
    bias = None if widget.bias is None else torch.from_numpy(np.asarray(widget.bias, np.float32))
    out = F.conv2d(x, torch.from_numpy(kernel.astype(np.float32)), bias).numpy()
    if model == "gradient_pair":  # the fixed head: the magnitude of (a, b)
        out = np.hypot(out[:, :1], out[:, 1:2])
    out = out[:, 0] if out.shape[1] == 1 else out
    if layer_data.ndim == 2:
        out = out[0]
    params = {
        "kernel": kernel.tolist(),
        "bias": None if widget.bias is None else np.asarray(widget.bias).tolist(),
        "padding": mode,
        "options": widget._options.__dict__ if widget._options is not None else None,
    }
    limit = float(np.abs(out).max()) or 1.0
    # a magnitude is never negative: the Sobel magnitude layer's look, not a diverging one
    look = ({"colormap": "magma", "contrast_limits": (0, limit)} if model == "gradient_pair"
            else {"colormap": "PiYG", "contrast_limits": (-limit, limit)})  # fmt: skip
    layer = put_layer(widget._viewer, "image", name, "learned", out, params, **look)
    widget._say(f"{layer.name}: {name} filtered with the learned kernel.")
    return layer


def save_kernel(widget, path) -> None:
    """``.npy`` + ``.json``, or Fiji Convolve text when ``path`` ends in ``.txt``."""
    from ...training.kernel_io import fiji_kernel_text
    from ...training.kernel_io import save_kernel as save

    kernel, path = widget.kernel, Path(path)
    if kernel is None:
        return widget._say("No kernel yet: train one or load one first.")
    if path.suffix == ".txt":
        written = []
        for out in range(kernel.shape[0]):
            target = path if kernel.shape[0] == 1 else path.with_name(f"{path.stem}_{out}.txt")
            target.write_text(fiji_kernel_text(kernel[out, 0]))
            written.append(target.name)
        return widget._say(f"Saved for Fiji's Convolve: {', '.join(written)}.")
    last = widget.history[-1] if widget.history else None
    metadata = {
        "input": widget._input_name,
        "target": widget.target,
        "options": widget._options.__dict__ if widget._options is not None else None,
        "steps": last.step if last else None,
        "loss": last.loss if last else None,
        "val_loss": last.val_loss if last else None,
        "error": last.error if last else None,
    }
    saved = save(path, kernel, bias=widget.bias, metadata=metadata)
    widget._say(f"Saved the kernel to {saved} (and its metadata beside it).")


def load_kernel(widget, path) -> None:
    """Show a saved kernel in the dock, ready to apply."""
    from ...training.kernel_io import load_kernel as load

    try:
        kernel, bias, metadata = load(path)
    except (OSError, ValueError) as exc:
        return widget._say(f"Cannot load {Path(path).name}: {exc}")
    widget.reset()
    widget.bias = bias
    widget._kernel_view.show_kernels(kernel, None)
    widget._update_buttons()
    made = f", learned on {metadata['input']}" if metadata.get("input") else ""
    size = f"{kernel.shape[-1]} × {kernel.shape[-1]}"
    widget._say(f"Loaded a {size} kernel from {Path(path).name}{made}.")
