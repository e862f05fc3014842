"""The networks: a small network on measurements, a small CNN, and the two joined.

torch only; no Qt, no napari.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class StageNet(nn.Module):
    """A classifier over images and/or measurements.

    With ``layers`` > 0: blocks of 3 × 3 convolution, batch normalisation, ReLU and
    2 × 2 max pooling (channels doubling per block), then the average over the
    image (so any image size works), dropout, and one linear layer. Measurements
    (``n_features`` > 0) join the pooled image features before that last layer;
    without a CNN the model is multinomial logistic regression, or with ``hidden``
    units a network of one hidden layer (tanh) on the measurements.
    """

    def __init__(self, n_classes: int, *, layers: int, channels: int, n_features: int,
                 dropout: float, hidden: int = 0) -> None:  # fmt: skip
        super().__init__()
        blocks, c_in, width = [], 1, 0
        for i in range(layers):
            width = min(channels * 2**i, 128)
            blocks += [
                nn.Conv2d(c_in, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            c_in = width
        self.features = nn.Sequential(*blocks)
        self.n_image_features = width if layers else 0
        self.n_features = n_features
        self.dropout = dropout if layers else 0.0
        #: Draws the dropout masks while training (a seeded run never touches torch's global RNG).
        self.generator: torch.Generator | None = None
        self.hidden = nn.Linear(n_features, hidden) if hidden and n_features else None
        width = hidden if self.hidden is not None else n_features
        self.head = nn.Linear(self.n_image_features + width, n_classes)

    @property
    def uses_images(self) -> bool:
        return self.n_image_features > 0

    def forward(self, images: torch.Tensor | None, features: torch.Tensor | None):
        return self.classify(self.pool(images) if self.uses_images else None, features)

    def pool(self, images: torch.Tensor) -> torch.Tensor:
        """The CNN's features of each image (N, C): the blocks, then the mean over the image."""
        return self.features(images).mean(dim=(-2, -1))

    def classify(self, pooled: torch.Tensor | None, features: torch.Tensor | None):
        """The class scores from the pooled image features and/or the measurements."""
        parts = []
        if self.uses_images:
            parts.append(self._drop(pooled))
        if self.n_features:
            if self.hidden is not None:
                features = torch.tanh(self._linear(self.hidden, features))
            parts.append(features)
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return self._linear(self.head, x)

    def _linear(self, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return layer(x)
        # row by row: a matrix product's sums depend on the row's place in the batch
        return (x[:, None, :] * layer.weight).sum(-1) + layer.bias

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.dropout):
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.dropout
        return x * keep / (1 - self.dropout)

    def first_filters(self):
        """The first convolution's kernels (C, 3, 3), or None without a CNN."""
        if not self.uses_images:
            return None
        return self.features[0].weight.detach()[:, 0]

    def for_inference(self) -> StageNet:
        """A copy for prediction: eval mode, each batch normalisation folded into its
        convolution, ReLU after the pooling, weights in channels-last layout.

        The same function of the input as ``self.eval()`` (to float rounding), a few
        times faster on a CPU: fewer passes over the large first feature maps, and
        oneDNN's channels-last kernels. Give it ``x.contiguous(memory_format=
        torch.channels_last)``.
        """
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        net = copy.deepcopy(self).eval()
        fused = []
        for layer in net.features:
            if isinstance(layer, nn.BatchNorm2d) and fused and isinstance(fused[-1], nn.Conv2d):
                fused[-1] = fuse_conv_bn_eval(fused[-1], layer)
            elif isinstance(layer, nn.MaxPool2d) and fused and isinstance(fused[-1], nn.ReLU):
                # max pooling commutes with ReLU (monotone): pool first, ReLU a quarter
                fused.insert(len(fused) - 1, layer)
            else:
                fused.append(layer)
        net.features = nn.Sequential(*fused)
        return net.to(memory_format=torch.channels_last)


def build(n_classes: int, opts, n_features: int, seed: int) -> StageNet:
    """The network for ``opts``, its weights drawn from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return StageNet(
            n_classes,
            layers=opts.layers if opts.uses_images else 0,
            channels=opts.channels,
            n_features=n_features if opts.uses_features else 0,
            dropout=opts.dropout,
            hidden=opts.hidden_units,
        )


def augment(x: torch.Tensor, opts, generator: torch.Generator) -> torch.Tensor:
    """Random flips and 90° turns per image, optional small turns, shifts and intensity jitter.

    ``x``: (N, 1, H, W) on the CPU (``generator`` is a CPU generator, so a seed
    gives the same draws whatever the training device).
    """
    n = len(x)
    if opts.augment:
        turns = torch.randint(0, 4, (n,), generator=generator)
        flips = torch.randint(0, 2, (n,), generator=generator).bool()
        x = torch.where(flips[:, None, None, None], x.flip(-1), x)
        if x.shape[-1] == x.shape[-2]:
            out = x.clone()
            for k in range(1, 4):
                chosen = turns == k
                if chosen.any():
                    out[chosen] = torch.rot90(x[chosen], k, dims=(-2, -1))
            x = out
    if opts.rotate:
        angles = opts.rotate * (2 * torch.rand(n, generator=generator) - 1)
        x = rotate(x, angles)
    if opts.shift:
        s = opts.shift
        padded = nn.functional.pad(x, (s, s, s, s), mode="replicate")
        dy = torch.randint(0, 2 * s + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * s + 1, (n,), generator=generator)
        h, w = x.shape[-2:]
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if opts.jitter:
        scale = 1 + opts.jitter * (2 * torch.rand((n, 1, 1, 1), generator=generator) - 1)
        x = x * scale
    return x


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Each image of ``x`` (N, C, H, W) turned about its centre by its angle in ``degrees`` (N,).

    A positive angle turns the image anticlockwise as napari shows it (rows down).
    Bilinear interpolation; corners that come from outside the image repeat its
    border, as the shifts do.
    """
    h, w = x.shape[-2:]
    radians = torch.deg2rad(degrees.to(x.dtype))
    cos, sin = torch.cos(radians), torch.sin(radians)
    # affine_grid works in coordinates normalised to [-1, 1] per axis: the turn in
    # pixels, rescaled so that a non-square image is not sheared
    theta = torch.zeros(len(x), 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * h / w
    theta[:, 1, 0] = sin * w / h
    theta[:, 1, 1] = cos
    grid = nn.functional.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return nn.functional.grid_sample(
        x, grid, mode="bilinear", padding_mode="border", align_corners=False
    )
