"""Models beyond one linear kernel, for the gradient's magnitude and direction.

- ``"linear"``: one ``Conv2d`` (the kernel-training model);
- ``"gradient_pair"``: ``Conv2d(1, 2, k)`` giving ``(a, b)``, then the fixed
  ``sqrt(a² + b² + ε)`` for the magnitude and the angle of ``(a, b)`` for the
  direction: 18 weights that can represent Sobel's answer exactly;
- ``"cnn"``: a few ``Conv2d`` + ReLU layers, the generic learner to compare.

The direction loss is ``1 − cos(θ̂ − θ)`` averaged with the target magnitude as
weight. It respects the wrap-around at ±π (a prediction of +π for a target of
−π costs nothing), it is computed as ``(u·cos θ + v·sin θ) / |(u, v)|`` without
``atan2`` (whose gradient is infinite at ``u = v = 0``), and pixels with no edge,
where the direction is undefined, weigh nothing instead of adding noise or NaN.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

#: Targets built from the Sobel gradient of the inputs, for the non-linear models.
POLAR_TARGETS = ("magnitude", "direction", "polar")
#: Keeps sqrt differentiable at 0, far below any magnitude in normalised units.
EPS = 1e-12
#: Precomputed patches for the gradient pair up to this many bytes; conv2d beyond.
PATCH_BYTES = 512 << 20


def polar_target(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float64: magnitude, cos θ and sin θ of the gradient (1, 0 where flat)."""
    gx, gy = gx.astype(np.float64), gy.astype(np.float64)
    magnitude = np.hypot(gx, gy)
    safe = np.where(magnitude > 0, magnitude, 1.0)
    cos = np.where(magnitude > 0, gx / safe, 1.0)
    sin = np.where(magnitude > 0, gy / safe, 0.0)
    return np.stack([magnitude, cos, sin], 1)


def output_channels(model: str, target: str, c_out: int) -> int:
    """Channels the network itself outputs before its fixed head."""
    if model == "gradient_pair":
        return 2
    if model == "cnn" and target in POLAR_TARGETS:
        return {"magnitude": 1, "direction": 2, "polar": 3}[target]
    return c_out


def build(model: str, c_in: int, c_out: int, k: int, bias: bool, layers: int, channels: int,
          generator: torch.Generator, dtype) -> torch.nn.Module:  # fmt: skip
    """The network for ``model`` with Conv2d's default initialisation drawn from ``generator``."""
    if model == "cnn":
        widths = [c_in, *([channels] * (layers - 1)), c_out]
        parts: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            parts.append(torch.nn.Conv2d(a, b, k, bias=True, dtype=dtype))
            if i < len(widths) - 2:
                parts.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*parts)
    else:
        net = torch.nn.Conv2d(c_in, c_out, k, bias=bias, dtype=dtype)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.in_channels * k * k
                bound = 1 / np.sqrt(fan_in)
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.uniform_(-bound, bound, generator=generator)
        if model == "gradient_pair":
            # two orthogonal kernels of equal size: from a lopsided random pair, training on
            # magnitudes alone often settles in a rank-1 minimum (one kernel does all the work)
            w = net.weight.reshape(2, -1)
            q = torch.linalg.qr(w.T).Q.T * w.norm(dim=1).mean()
            net.weight.copy_(q.reshape(net.weight.shape))
    return net


def first_conv(net: torch.nn.Module) -> torch.nn.Conv2d:
    return net if isinstance(net, torch.nn.Conv2d) else next(
        m for m in net.modules() if isinstance(m, torch.nn.Conv2d)
    )  # fmt: skip


def polar_loss(model: str, target: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of network output ``out`` against ``y`` = (magnitude, cos θ, sin θ)."""
    if model == "gradient_pair":
        u, v = out[:, 0], out[:, 1]
        magnitude = torch.sqrt(u * u + v * v + EPS)
    else:  # cnn channels: magnitude, then (u, v) when a direction is asked for
        magnitude = out[:, 0]
        u, v = (out[:, -2], out[:, -1]) if target != "magnitude" else (None, None)
    loss = out.new_zeros(())
    if target in ("magnitude", "polar"):
        loss = loss + F.mse_loss(magnitude, y[:, 0])
    if target in ("direction", "polar"):
        weight = y[:, 0]
        cos_delta = (u * y[:, 1] + v * y[:, 2]) / torch.sqrt(u * u + v * v + EPS)
        loss = loss + (weight * (1 - cos_delta)).sum() / weight.sum().clamp_min(EPS)
    return loss


def pair_alignment(weight: np.ndarray, reference: np.ndarray) -> dict:
    """How a learned pair of kernels relates to a reference pair (Sobel Gx, Gy).

    The magnitude ``sqrt(a² + b²)`` does not change when the pair ``(a, b)`` is
    rotated or reflected, so a pair learned from magnitudes alone equals Sobel
    only up to an orthogonal 2 × 2 mix. This finds the best such mix and scale
    (orthogonal Procrustes): ``weight ≈ scale · R · reference``.

    Returns
    -------
    dict
        ``rotation_deg`` (angle of R), ``reflection`` (det R < 0), ``scale``,
        ``gram`` (the learned pair's 2 × 2 Gram matrix over the reference's
        squared norm: the identity for an exact rotated Sobel pair), and
        ``aligned`` (the learned pair mapped back onto the reference).
    """
    k = weight.reshape(2, -1).astype(np.float64)
    s = reference.reshape(2, -1).astype(np.float64)
    u, sigma, vt = np.linalg.svd(k @ s.T)
    rotation = u @ vt
    norm = float(np.sum(s * s) / 2)
    scale = float(sigma.sum() / (2 * norm))
    aligned = (rotation.T @ k / (scale or 1.0)).reshape(weight.shape)
    return {
        "rotation_deg": float(np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))),
        "reflection": bool(np.linalg.det(rotation) < 0),
        "scale": scale,
        "gram": (k @ k.T / norm).tolist(),
        "aligned": aligned,
    }


class Patches:
    """``k × k`` patches of images, unfolded once, so a single-layer forward is one matmul."""

    def __init__(self, x: torch.Tensor, k: int, rows: torch.Tensor | None = None):
        self.shape = (x.shape[2] - k + 1, x.shape[3] - k + 1)
        chosen = x if rows is None else x[rows]
        # (C_in·k·k, n, L): one GEMM per forward instead of a batched matmul per image
        self.data = F.unfold(chosen, k).permute(1, 0, 2).contiguous()
        # where each image of ``x`` sits in ``data``, so batches index it without a copy of all
        self.position = torch.full((x.shape[0],), -1, dtype=torch.long)
        self.position[torch.arange(x.shape[0]) if rows is None else rows] = torch.arange(
            chosen.shape[0]
        )

    @staticmethod
    def affordable(x: torch.Tensor, k: int) -> bool:
        n, c, h, w = x.shape
        return n * c * k * k * (h - k + 1) * (w - k + 1) * x.element_size() <= PATCH_BYTES

    def forward(self, conv: torch.nn.Conv2d, index: torch.Tensor | None = None) -> torch.Tensor:
        """The convolution of the images ``index`` of ``x`` (all the chosen rows by default)."""
        data = self.data if index is None else self.data[:, self.position[index]]
        p, n, length = data.shape
        out = conv.weight.reshape(conv.out_channels, p) @ data.reshape(p, n * length)
        if conv.bias is not None:
            out = out + conv.bias[:, None]
        return out.reshape(conv.out_channels, n, *self.shape).transpose(0, 1)
