"""Where does a CNN look? Saliency maps: gradient × input and Grad-CAM.

torch and numpy; no Qt, no napari. Each function takes a trained network and its
input tensors, and returns one non-negative map per image, the size of the image.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .options import SALIENCY_METHODS

__all__ = ["SALIENCY_METHODS", "saliency_maps"]

NO_PIXELS = (
    "The feature model reads measurements, not pixels: a saliency map needs a CNN "
    "model (cnn or cnn+features)."
)


def saliency_maps(net: nn.Module, x: torch.Tensor, f: torch.Tensor | None = None,
                  target=None, method: str = "gradient × input") -> np.ndarray:  # fmt: skip
    """One saliency map per image for the class ``target`` (each image's predicted class).

    Parameters
    ----------
    net : torch.nn.Module
        A trained network ``net(x, f) -> scores (N, C)`` (put in eval mode here);
        Grad-CAM needs convolutions with ReLUs in ``net.features``.
    x : torch.Tensor
        Normalised images (N, 1, H, W), on the network's device.
    f : torch.Tensor, optional
        The standardised measurements (N, F) for a model that reads them too.
    target : int, optional
        The class to explain; None: each image's predicted class.
    method : str
        ``"gradient × input"``: |∂score/∂pixel × pixel|, pixel by pixel — which
        pixels move the score; ``"Grad-CAM"``: the last convolution block's
        feature maps weighted by the score's mean gradient over each, positive
        part, up-sampled to the image and scaled to a maximum of 1 per image —
        which regions the network's features fire on for that class.

    Returns
    -------
    np.ndarray
        float32 (N, H, W), non-negative.

    Examples
    --------
    >>> import torch
    >>> from napari_nuclei_edges.classification._models import StageNet
    >>> net = StageNet(2, layers=2, channels=4, n_features=0, dropout=0.0)
    >>> x = torch.rand(3, 1, 16, 16)
    >>> saliency_maps(net, x, method="Grad-CAM").shape
    (3, 16, 16)
    """
    if method not in SALIENCY_METHODS:
        raise ValueError(f"method must be one of {SALIENCY_METHODS}, not {method!r}.")
    if not getattr(net, "uses_images", True):
        raise ValueError(NO_PIXELS)
    net.eval()
    if method == "Grad-CAM":
        return _grad_cam(net, x, f, target)
    x = x.detach().clone().requires_grad_(True)
    scores = net(x, f)
    _chosen_scores(scores, target).backward()
    return (x.grad * x).detach().abs()[:, 0].cpu().numpy().astype(np.float32)


def _chosen_scores(scores: torch.Tensor, target) -> torch.Tensor:
    """The sum over the images of each one's score for its class to explain."""
    if target is None:
        chosen = scores.argmax(1)
    else:
        chosen = torch.full((len(scores),), int(target), device=scores.device)
    return scores.gather(1, chosen[:, None]).sum()


def _last_activation(net: nn.Module) -> nn.Module:
    """The module whose output Grad-CAM weighs: the last ReLU (else convolution) of the CNN."""
    modules = list(getattr(net, "features", nn.Sequential()).modules())
    for kind in (nn.ReLU, nn.Conv2d):
        found = [m for m in modules if isinstance(m, kind)]
        if found:
            return found[-1]
    raise ValueError(NO_PIXELS)


def _grad_cam(net: nn.Module, x: torch.Tensor, f, target) -> np.ndarray:
    captured = []

    def keep(module, inputs, output) -> None:
        captured.append(output)

    handle = _last_activation(net).register_forward_hook(keep)
    try:
        scores = net(x.detach(), f)
    finally:
        handle.remove()
    activation = captured[-1]  # (N, K, h, w)
    (gradient,) = torch.autograd.grad(_chosen_scores(scores, target), activation)
    weights = gradient.mean(dim=(-2, -1), keepdim=True)  # each feature map's importance
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear",
                                    align_corners=False)[:, 0]  # fmt: skip
    top = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)[:, None, None]
    return (cam / top).clamp_min(0).cpu().numpy().astype(np.float32)
