"""The "Synthetic nuclei (5 classes)" sample data contribution."""

from __future__ import annotations

from ..synthetic import synthetic_nuclei
from .layers import TRUTH_SUFFIX, class_image_layers


def synthetic_nuclei_sample(n_per_class: int = 50, seed: int = 0) -> list[tuple]:
    """Layer data for napari: one image layer per class and its ground truth.

    The truths are Labels layers named ``<class>_truth``, one id per nucleus in
    each image (see :func:`~napari_nuclei_edges.synthetic.synthetic_nuclei`), hidden
    at first, for scoring a segmentation against the truth nucleus by nucleus. Each
    follows its image, so napari's grid view with a stride of 2 overlays every truth
    on its class.
    """
    images, truths = synthetic_nuclei(n_per_class=n_per_class, seed=seed, masks="labels")
    metadata = {
        "source": "synthetic_nuclei",
        "synthetic_parameters": {"n_per_class": n_per_class, "size": 80, "seed": seed},
    }
    layers = []
    for image_layer, (name, truth) in zip(
        class_image_layers(images, metadata), truths.items(), strict=True
    ):
        layers.append(image_layer)
        layers.append(
            (
                # a few ids per image: uint8 holds them in a quarter of the memory
                truth.astype("uint8") if truth.max(initial=0) < 256 else truth,
                {
                    "name": f"{name}{TRUTH_SUFFIX}",
                    "visible": False,
                    "metadata": {**metadata, "class_name": name, "ground_truth_of": name},
                },
                "labels",
            )
        )
    return layers


def synthetic_focus_sample(slices: int = 21, seed: int = 0) -> list[tuple]:
    """Layer data for napari: a focus series of the sample's nuclei, sharp at its middle slice.

    The true best slice is recorded in the layer's metadata (``best_slice``).
    """
    from ..focus import synthetic_focus_stack

    stack, best = synthetic_focus_stack(slices=slices, seed=seed)
    metadata = {
        "source": "synthetic_focus_stack",
        "best_slice": best,
        "synthetic_parameters": {"slices": slices, "seed": seed},
    }
    return [(stack, {"name": "focus_stack", "metadata": metadata}, "image")]


def synthetic_field_sample(size: int = 512, n_nuclei: int = 120, seed: int = 0) -> list[tuple]:
    """Layer data for napari: a crowded 12-bit field of nuclei and its instance truth.

    The image is ``field`` (uint16, 0..4095); its truth ``field_truth`` is a Labels
    layer with one id per nucleus, hidden at first.
    """
    from ..synthetic import synthetic_field

    image, labels = synthetic_field(size=size, n_nuclei=n_nuclei, seed=seed)
    metadata = {
        "source": "synthetic_field",
        "synthetic_parameters": {"size": size, "n_nuclei": n_nuclei, "seed": seed},
    }
    truth = {"name": f"field{TRUTH_SUFFIX}", "visible": False,
             "metadata": {**metadata, "ground_truth_of": "field"}}  # fmt: skip
    return [
        (image, {"name": "field", "contrast_limits": (0, 4095), "metadata": metadata}, "image"),
        (labels, truth, "labels"),
    ]
