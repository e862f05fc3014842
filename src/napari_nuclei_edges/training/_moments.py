"""Second moments of image patches: the whole MSE loss of a linear convolution.

For a linear ``Conv2d`` the mean squared error over every valid pixel is a
quadratic form in the weights::

    L(W) = (tr(Wᵀ G W) - 2 tr(Wᵀ B) + c) / (n · C_out)

with ``G = Σ patches·patchesᵀ``, ``B = Σ patches·targetsᵀ`` and ``c = Σ targets²``
summed over the ``n`` pixel positions where the kernel sees only real pixels.
Collecting ``G``, ``B`` and ``c`` once per image (one pass over the data, in
float64) makes every later loss and gradient cost microseconds instead of a
convolution over all images, with the same value: the optimiser takes the same
steps as full-pixel training, only faster. Per-image sums keep mini-batches and
a held-out validation set exact.

torch; no Qt, no napari.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Images unfolded at a time, to bound memory on large stacks.
CHUNK_PIXELS = 1 << 22


@dataclass(frozen=True)
class Moments:
    """Per-image second moments of patches (and a constant 1 when there is a bias)."""

    gram: torch.Tensor  # (N, p, p)
    cross: torch.Tensor  # (N, p, C_out)
    square: torch.Tensor  # (N, C_out)
    count: int  # valid pixel positions per image

    def total(self, index: torch.Tensor | None = None) -> Moments:
        """The moments summed over the images ``index`` (all by default), as a 1-image set."""
        pick = (lambda t: t) if index is None else (lambda t: t[index])
        n = self.gram.shape[0] if index is None else len(index)
        return Moments(
            pick(self.gram).sum(0, keepdim=True),
            pick(self.cross).sum(0, keepdim=True),
            pick(self.square).sum(0, keepdim=True),
            self.count * n,
        )

    def loss(self, weight: torch.Tensor) -> torch.Tensor:
        """Mean squared error of ``weight`` ``(p, C_out)`` over a 1-image (summed) set."""
        g, b, c = self.gram[0], self.cross[0], self.square[0]
        value = (weight * (g @ weight)).sum() - 2 * (b * weight).sum() + c.sum()
        return value / (self.count * weight.shape[1])


def moments(inputs: torch.Tensor, targets: torch.Tensor, k: int, bias: bool) -> Moments:
    """Per-image moments of ``k × k`` patches of ``inputs`` against cropped ``targets``.

    Parameters
    ----------
    inputs : torch.Tensor
        ``(N, C_in, H, W)`` float64.
    targets : torch.Tensor
        ``(N, C_out, H, W)`` float64, aligned with the inputs; only the pixels
        ``[r:H-r, r:W-r]`` (``r = k // 2``) are used, where the kernel sees no padding.
    """
    n, _, h, w = inputs.shape
    r = k // 2
    count = (h - 2 * r) * (w - 2 * r)
    per_chunk = max(1, CHUNK_PIXELS // (h * w * k * k))
    # a large image in bands of rows (each with its r rows of context): the patches of a
    # 20000² image would take k² times its float64 size at once
    rows = max(1, CHUNK_PIXELS // (w * k * k)) if per_chunk == 1 else h - 2 * r
    grams, crosses, squares = [], [], []
    for start in range(0, n, per_chunk):
        parts = [
            _band(inputs[start : start + per_chunk], targets[start : start + per_chunk],
                  k, bias, top, min(top + rows, h - 2 * r))
            for top in range(0, h - 2 * r, rows)
        ]  # fmt: skip
        grams.append(sum(part[0] for part in parts))
        crosses.append(sum(part[1] for part in parts))
        squares.append(sum(part[2] for part in parts))
    return Moments(torch.cat(grams), torch.cat(crosses), torch.cat(squares), count)


def _band(x: torch.Tensor, targets: torch.Tensor, k: int, bias: bool, top: int, bottom: int):
    """The moments of output rows ``top:bottom`` (the valid region's) of images ``x``."""
    r, w = k // 2, x.shape[-1]
    patches = F.unfold(x[:, :, top : bottom + 2 * r], k)  # (n, C_in·k·k, L): weight's order
    if bias:
        ones = torch.ones_like(patches[:, :1])
        patches = torch.cat([patches, ones], 1)
    y = targets[:, :, r + top : r + bottom, r : w - r].flatten(2)
    return patches @ patches.transpose(1, 2), patches @ y.transpose(1, 2), (y * y).sum(2)
