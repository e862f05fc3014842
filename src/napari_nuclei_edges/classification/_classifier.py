"""A trained classifier: its network with everything needed to apply it to new images.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._data import check_stack, measured, normalise_images, standardise_features
from ._models import StageNet
from .options import ClassifierOptions


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
        return x, f

    @torch.no_grad()
    def probabilities(self, images, features: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (N, C) of a stack of raw images."""
        images = check_stack("images", images)
        if images.shape[-2:] != tuple(self.image_size) and self.options.uses_images:
            h, w = self.image_size
            raise ValueError(
                f"This model was trained on {h} × {w} images, not "
                f"{images.shape[-2]} × {images.shape[-1]}: crop or resize the images to its size."
            )
        self.net.eval()
        x, f = self.inputs(images, features)
        return torch.softmax(self.net(x, f), dim=1).numpy()

    def first_filters(self) -> np.ndarray | None:
        """The first convolution's 3 × 3 kernels (C, 3, 3), None for the feature model."""
        filters = self.net.first_filters()
        return None if filters is None else filters.numpy().copy()

    def saliency(self, images, target: int | None = None) -> np.ndarray:
        """Gradient × input for class ``target`` (each image's predicted class by default).

        Large values mark the pixels whose change moves the class score most: does
        the network look at the nucleus or at the background? ``images``: one 2D
        image (a 2D map back) or a stack (a stack of maps). The network is in eval
        mode, so each image's map depends on that image alone.

        Raises
        ------
        ValueError
            For the feature model, which reads measurements, not pixels.
        """
        if not self.options.uses_images:
            raise ValueError(
                "The feature model reads measurements, not pixels: a saliency map needs "
                "a CNN model (cnn or cnn+features)."
            )
        single = np.ndim(images) == 2
        stack = check_stack("images", images)
        x, f = self.inputs(stack)
        x = x.clone().requires_grad_(True)
        self.net.eval()
        scores = self.net(x, f)
        chosen = scores.argmax(1) if target is None else torch.full((len(stack),), int(target))
        scores.gather(1, chosen[:, None]).sum().backward()
        maps = (x.grad * x).detach()[:, 0].numpy()
        return maps[0] if single else maps
