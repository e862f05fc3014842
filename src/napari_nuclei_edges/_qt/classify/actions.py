"""What the classifier dock does with layers: gather classes, show saliency and predictions.

No widget code: these take the viewer and names, and return layers and sentences.
The worker generators here call only pure functions (no layer, no widget).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data import CLASS_NAMES
from ..common.layers import layer_data, layer_problem, user_image_layers
from ..common.outputs import OWNER_KEY, output_metadata, owned_output, put_layer
from ..common.plots import layer_color

#: Saliency is computed for whole layers up to this many images (else the shown one only).
SALIENCY_WHOLE_LAYER = 1000
#: A prediction's label once a new model trains (its layer also fades to STALE_OPACITY).
STALE_TEXT = (
    "old model: {stage} {probability:.0%}"  # in front: a tile drawn after it hides its end
)
STALE_OPACITY = 0.4


@dataclass(frozen=True)
class Baseline:
    """The feature model's validation accuracy on the run's split (sent before epoch 1)."""

    accuracy: float


def default_class_layers(viewer) -> list[str]:
    """Image layers named by a class (all of them), else every user image layer that
    holds intensities (a mask or labels opened as an image is no stage class)."""
    from ...data import looks_like_labels

    layers = user_image_layers(viewer)
    named = [layer.name for layer in layers if layer.name in CLASS_NAMES]
    if len(named) >= 2:
        return named
    return [layer.name for layer in layers if not looks_like_labels(layer_data(layer))]


def class_images(viewer, names) -> dict[str, np.ndarray]:
    """The image stacks of the chosen class layers (one class per layer), checked."""
    if len(names) < 2:
        raise ValueError(
            "Tick at least two image layers, one per stage: a classifier needs two classes."
        )
    images = {}
    for name in names:
        if name not in viewer.layers:
            raise ValueError(f"{name} is no longer a layer: tick the class layers again.")
        layer = viewer.layers[name]
        problem = layer_problem(layer, "classifying", max_ndim=3)
        if problem:
            raise ValueError(problem)
        data = np.asarray(layer_data(layer))
        images[name] = data[None] if data.ndim == 2 else data
    return images


def training_steps(images_by_class, options, baseline: bool):
    """The worker: the baseline (for a CNN), then every step of ``fit_classifier``."""
    from ...classification import baseline_accuracy, fit_classifier

    values = options.to_dict()
    values["features"] = options.features
    if baseline and options.model != "features":
        yield Baseline(baseline_accuracy(images_by_class, **values))
    yield from fit_classifier(images_by_class, **values)


def warm_up() -> None:
    """Tiny fits of every model: torch, scikit-image's measurements, the optimisers
    (Adam's first use imports ``torch._dynamo``) and the augmentation, loaded once."""
    from ...classification import fit_classifier
    from ...synthetic import synthetic_nuclei

    data = synthetic_nuclei(n_per_class=3, size=32)
    for model in ("features", "cnn+features"):
        for _ in fit_classifier(data, model=model, layers=1, channels=2, epochs=1,
                                shift=1, rotate=10.0, jitter=0.1):  # fmt: skip
            pass


def cross_validation_folds(images_by_class, options, folds: int = 5):
    """The worker of the cross-validation button: one Fold as each finishes."""
    from ...classification import iter_cross_validation

    values = options.to_dict()
    values["features"] = options.features
    yield from iter_cross_validation(images_by_class, folds, **values)


def predict_blocks(model, data, device: str | None = None, block_size: int = 1024):
    """The worker of Predict: the blocks of ``iter_predict`` (a lazy stack block by block),
    the network on ``device`` (the dock's; a copy of the model goes there)."""
    from ...classification import iter_predict

    yield from iter_predict(model.to(device), data, block_size)


def saliency_of(model, layer_name: str, data, index: int, method: str = "gradient × input",
                device: str | None = None) -> tuple:  # fmt: skip
    """The worker of Saliency map: the maps of a layer, the map of image ``index`` (the
    one shown) and the words for which, the network on ``device``.

    The maps of a stack up to :data:`SALIENCY_WHOLE_LAYER` images are computed at
    once; a longer stack's are a dask array, each image's map computed as napari
    shows it (never a blank map beside another image).
    """
    model = model.to(device)
    stack = data[None] if data.ndim == 2 else data
    if len(stack) <= SALIENCY_WHOLE_LAYER:
        maps = np.asarray(model.saliency(np.asarray(stack), method=method), np.float32)
        shown = maps[index]
        note = f"for every image of {layer_name}"
    else:
        import dask.array as da

        shown = np.asarray(model.saliency(np.asarray(stack[index]), method=method), np.float32)

        def block(images, block_info=None):
            first = block_info[None]["array-location"][0][0]
            if first == index:
                return shown[None]
            return np.asarray(model.saliency(np.asarray(images), method=method), np.float32)

        lazy = da.asarray(stack).rechunk((1, *stack.shape[1:]))
        maps = lazy.map_blocks(block, dtype=np.float32)
        note = f"for image {index} of {layer_name}, and each other one as it is shown"
    return (maps[0] if data.ndim == 2 else maps), shown, note


def put_saliency(viewer, layer_name: str, maps, shown: np.ndarray, model_name: str,
                 method: str = "gradient × input"):  # fmt: skip
    """The ``<layer>_saliency`` layer over its image: bright where the class score is
    sensitive; its contrast from ``shown``, the map of the image on screen."""
    high = float(np.percentile(shown[shown > 0], 99.5)) if (shown > 0).any() else 1.0
    return put_layer(
        viewer, "image", layer_name, "saliency", maps,
        {"method": method, "model": model_name},
        colormap="inferno", blending="additive", opacity=0.8, contrast_limits=(0.0, high),
    )  # fmt: skip


def field_table(model, image, device: str | None = None, labels=None) -> tuple[dict, str]:
    """The worker of Predict on a field (an image larger than the model's crops): one row
    per nucleus (:func:`~napari_nuclei_edges.classification.classify_nuclei`), and the
    sentence when the image is unlike the training images."""
    from ...classification.field import classified_nuclei

    labels = None if labels is None else np.asarray(labels)
    return classified_nuclei(model.to(device), np.asarray(image), labels)


def scale_caveat(model, table: dict) -> str:
    """A sentence when a field's nuclei are much larger, smaller, brighter or dimmer than
    those the model learned from (the training means of its ``area`` and
    ``intensity_mean``): its stages are then guesses."""
    names = list(getattr(model, "feature_names", ()))
    said = []
    for feature, what in (("area", ("larger", "smaller")),
                          ("intensity_mean", ("brighter", "dimmer"))):  # fmt: skip
        values = np.asarray(table.get(feature, ()), dtype=float)
        if feature not in names or not values.size:
            continue
        learned = float(model.feature_mean[names.index(feature)])
        ratio = float(np.nanmedian(values)) / learned if learned > 0 else 1.0
        if not 0.5 <= ratio <= 2:
            said.append(f"{ratio:.1f}× {what[0]}" if ratio > 1 else f"{1 / ratio:.1f}× {what[1]}")
    if not said:
        return ""
    return (f" These nuclei are {' and '.join(said)} than those the model learned from: "
            "its stages here are guesses; train it on nuclei like these (the same size "
            "and bit depth).")  # fmt: skip


def put_predictions(viewer, layer_name: str, predictions, ndim: int, visible: bool = True,
                    per_nucleus: bool = False):  # fmt: skip
    """The ``<layer>_stage`` Points layer: one point per image at its nucleus, class as text
    (``per_nucleus``: one point per nucleus of a 2D field).

    ``visible=False`` inserts a new layer hidden (see :func:`show_layer`); a layer
    that is already there is updated as it is.
    """
    from napari.layers import Points

    from ..._plugin.grid import insert_after_source

    n = len(predictions.labels)
    if ndim == 3:
        coords = np.column_stack([np.arange(n), predictions.positions])
    else:
        coords = predictions.positions if per_nucleus else predictions.positions[:1]
    features = {
        "stage": np.asarray(predictions.labels, dtype=str),
        "probability": predictions.confidence.astype(float),
    }
    for i, name in enumerate(predictions.class_names):
        features[f"p_{name}"] = predictions.probabilities[:, i].astype(float)
    colors = {name: layer_color(name, i) for i, name in enumerate(predictions.class_names)}
    face = [colors.get(str(label), "gray") for label in predictions.labels]  # "": no class
    # a field's hundred labels would cover it: its points are coloured, their stage and
    # probability shown on hover (napari's status bar reads a point's features)
    text = None if per_nucleus else _text(ndim)
    metadata = output_metadata(layer_name, "stage", {"classes": list(predictions.class_names)})
    layer = owned_output(viewer, layer_name, "stage")
    if layer is not None and isinstance(layer, Points):
        layer.data = coords
        layer.features = features
        layer.face_color = face
        if text is not None:
            layer.text = text
        layer.opacity = 1.0  # no longer stale
        layer.metadata.update(metadata)
        return layer
    layer = Points(
        coords, features=features, face_color=face, border_color="white", size=8,
        text=text, name=f"{layer_name}_stage", metadata=metadata, out_of_slice_display=False,
        visible=visible,
    )  # fmt: skip
    insert_after_source(viewer, layer, layer_name)
    return layer


def _text(ndim: int, stale: bool = False) -> dict:
    return {"string": STALE_TEXT if stale else "{stage} {probability:.0%}",
            "color": "white", "size": 10,
            "translation": [-10, 0] if ndim == 2 else [0, -10, 0]}  # fmt: skip


def mark_predictions_stale(viewer) -> list[str]:
    """Say on every ``<layer>_stage`` layer that a previous model made it (a new one is
    training): its labels read "old model: …" and it fades. Returns their names."""
    marked = []
    for layer in viewer.layers:
        info = layer.metadata.get(OWNER_KEY)
        if isinstance(info, dict) and info.get("output") == "stage" and not info.get("stale"):
            info["stale"] = True
            layer.text = _text(layer.ndim, stale=True)
            layer.opacity = STALE_OPACITY
            marked.append(layer.name)
    return marked


def show_layer(viewer, name: str) -> None:
    """Show the layer ``name`` if it is still in ``viewer`` (inserted hidden a turn before)."""
    if name in viewer.layers:
        viewer.layers[name].visible = True


def prediction_scores(predictions, true_name: str) -> str:
    """A sentence of how well the predictions match a known class (a layer named by one)."""
    if true_name not in predictions.class_names:
        return ""
    right = float(np.mean(np.asarray(predictions.labels) == true_name))
    return f" {right:.0%} predicted as {true_name}."
