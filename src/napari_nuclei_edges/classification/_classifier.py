"""A trained classifier: its network with everything needed to apply it to new images.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch

from ._data import check_stack, measured, normalise_images, standardise_features
from ._models import StageNet
from .options import ClassifierOptions

#: Images per batch of the convolutions on the CPU (a batch's feature maps stay in the cache).
CPU_BATCH = 32


@dataclass
class Classifier:
    """What :func:`predict` needs: the network (in eval mode), classes and normalisation."""

    net: StageNet
    options: ClassifierOptions
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    feature_mean: np.ndarray  # (F,) training means of the measurements
    feature_std: np.ndarray
    image_size: tuple[int, int]
    intensity: dict | None = None  # the training images' dtype and percentiles (:mod:`._range`)

    def inputs(self, images: np.ndarray, features: np.ndarray | None = None):
        """The network's tensors for raw images (measured here when needed)."""
        x = f = None
        if self.options.uses_images:
            x = torch.from_numpy(normalise_images(images, self.options))[:, None]
        if self.options.uses_features:
            if features is None:
                features = measured(images, self.feature_names)
            f = torch.from_numpy(
                standardise_features(features, self.feature_mean, self.feature_std)
            )
        device = self.device
        if device.type != "cpu":
            x, f = (None if t is None else t.to(device) for t in (x, f))
        return x, f

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (the CPU unless :meth:`to` moved a copy)."""
        return next(self.net.parameters()).device

    def to(self, device: str | None) -> Classifier:
        """This classifier on ``device`` (``"auto"``: a GPU when there is one): a copy when
        it moves, ``self`` when it is there already; a sentence for a device this
        machine lacks."""
        target = torch_device(device)
        if target == self.device:
            return self
        return replace(self, net=copy.deepcopy(self.net).to(target))

    @torch.inference_mode()
    def probabilities(
        self, images, features: np.ndarray | None = None, batch_size: int | None = None
    ) -> np.ndarray:
        """Class probabilities (N, C) of a stack of raw images.

        The network runs as :meth:`StageNet.for_inference` makes it (batch
        normalisation folded in, channels-last), its convolutions ``batch_size``
        images at a time: on the CPU :data:`CPU_BATCH`, the last batch padded, so
        that an image's probabilities are bit for bit the same whatever images it
        comes with (a resumed batch run's equal an uninterrupted one's); all at
        once on a GPU.
        """
        images = check_stack("images", images)
        if images.shape[-2:] != tuple(self.image_size) and self.options.uses_images:
            h, w = self.image_size
            raise ValueError(
                f"This model was trained on {h} × {w} images, not "
                f"{images.shape[-2]} × {images.shape[-1]}: crop or resize the images to its size."
            )
        self.net.eval()
        x, f = self.inputs(images, features)
        if len(images) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        net, pooled = self.net, None
        if x is not None:  # the convolutions batch by batch, the last layer once
            net = self.net.for_inference()
            pooled = _pooled(net, x, batch_size or (CPU_BATCH if x.device.type == "cpu"
                                                    else len(images)))  # fmt: skip
        return torch.softmax(net.classify(pooled, f), dim=1).cpu().numpy()

    def first_filters(self) -> np.ndarray | None:
        """The first convolution's 3 × 3 kernels (C, 3, 3), None for the feature model."""
        filters = self.net.first_filters()
        return None if filters is None else filters.numpy().copy()

    def saliency(self, images, target: int | None = None,
                 method: str = "gradient × input") -> np.ndarray:  # fmt: skip
        """A saliency map per image for class ``target`` (each image's predicted class).

        ``method``: ``"gradient × input"`` (|gradient × input|: the pixels whose
        change moves the class score most) or ``"Grad-CAM"`` (the regions the last
        convolution block's features fire on for that class, scaled to 1 per
        image); see :func:`~napari_nuclei_edges.classification.saliency.saliency_maps`.
        Does the network look at the nucleus or at the background? ``images``: one
        2D image (a 2D map back) or a stack (a stack of maps), non-negative. The
        network is in eval mode, so each image's map depends on that image alone.

        Raises
        ------
        ValueError
            For the feature model, which reads measurements, not pixels.
        """
        from .saliency import NO_PIXELS, saliency_maps

        if not self.options.uses_images:
            raise ValueError(NO_PIXELS)
        single = np.ndim(images) == 2
        stack = check_stack("images", images)
        x, f = self.inputs(stack)
        maps = saliency_maps(self.net, x, f, target, method)
        return maps[0] if single else maps


def _pooled(net, x: torch.Tensor, step: int) -> torch.Tensor:
    """The pooled features of ``x``, ``step`` images at a time, always in batches of ``step``."""
    pooled = []
    for begin in range(0, len(x), step):
        batch = x[begin : begin + step]
        n = len(batch)
        if n < step:  # one shape for every batch: the convolution's sums are done alike
            batch = torch.cat([batch, batch.new_zeros((step - n, *batch.shape[1:]))])
        pooled.append(net.pool(batch.contiguous(memory_format=torch.channels_last))[:n])
    return torch.cat(pooled)


def torch_device(name: str | None) -> torch.device:
    """The torch device of an options' ``device``: None the CPU, ``"auto"`` a GPU when
    torch sees one; a ValueError with a sentence for one this machine lacks."""
    from ..gradients import default_device
    from ..gradients._checks import resolve_device

    if not name:
        return torch.device("cpu")
    return resolve_device(default_device() if name == "auto" else name)
