"""The small 2D U-Net: encoder, decoder, skip connections.

torch only; no Qt, no napari.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .options import CLASSES, SegmenterOptions


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3 × 3 convolutions, each followed by batch normalisation and ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A U-Net of ``depth`` levels, ``channels`` filters at the first (doubling per level).

    Down: a block, then 2 × 2 max pooling; at the bottom a block; up: a 2 × 2
    transposed convolution (stride 2), the skip connection of the same level
    joined, a block; then a 1 × 1 convolution to one score per class
    (:data:`~.options.CLASSES`). The input's sides must be multiples of
    2^(depth-1).

    Examples
    --------
    >>> net = UNet(depth=2, channels=4)
    >>> tuple(net(torch.zeros(1, 1, 16, 16)).shape)
    (1, 3, 16, 16)
    """

    def __init__(self, depth: int = 3, channels: int = 16) -> None:
        super().__init__()
        widths = [channels * 2**i for i in range(depth)]
        self.down = nn.ModuleList()
        c_in = 1
        for width in widths:
            self.down.append(_block(c_in, width))
            c_in = width
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(width * 2, width, 2, stride=2))
            self.merge.append(_block(width * 2, width))
        self.head = nn.Conv2d(widths[0], len(CLASSES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = nn.functional.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


def build(opts: SegmenterOptions) -> UNet:
    """The network for ``opts``, its weights drawn from ``opts.seed`` (torch's global random
    state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(opts.seed)
        return UNet(opts.depth, opts.channels)


def for_inference(net: UNet) -> UNet:
    """A copy of ``net`` (in eval mode) with each batch normalisation folded into the
    convolution before it: the same outputs, fewer passes over the feature maps."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(net).eval()
    for block in (*fused.down, *fused.merge):
        for i in (0, 3):
            block[i] = fuse_conv_bn_eval(block[i], block[i + 1])
            block[i + 1] = nn.Identity()
    return fused
