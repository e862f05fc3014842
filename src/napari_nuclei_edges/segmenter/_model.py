"""A trained segmenter: its U-Net with what it needs to label new images, tile by tile.

torch, numpy and scikit-image; no Qt, no napari.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ._data import normalise
from ._unet import UNet, for_inference
from .options import SegmenterOptions

#: Feature maps channels last: twice as fast a pass on the CPU (oneDNN's own layout).
LAYOUT = torch.channels_last


@dataclass
class Segmenter:
    """What :func:`~napari_nuclei_edges.segmenter.segment_with` needs: the network (in eval
    mode), its options and the intensity range of its training images."""

    net: UNet
    options: SegmenterOptions
    intensity: dict | None = None  # the training images' dtype and percentiles
    _fused: UNet | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def receptive_field(self) -> int:
        """Side in pixels of the square of the image one output pixel sees."""
        return self.options.receptive_field

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (the CPU unless :meth:`to` moved a copy)."""
        return next(self.net.parameters()).device

    def to(self, device: str | None) -> Segmenter:
        """This segmenter on ``device`` (``"auto"``: a GPU when there is one): a copy when it
        moves, ``self`` when it is there already; a sentence for a device this machine lacks."""
        from ..classification._classifier import torch_device

        target = torch_device(device)
        if target == self.device:
            return self
        return replace(self, net=copy.deepcopy(self.net).to(target))

    def tiles(self, plane: np.ndarray, tile: int | None = None) -> Iterator[tuple]:
        """``((rows, columns), probabilities)`` of each tile of one raw 2D image.

        The image is normalised whole, mirrored by :attr:`SegmenterOptions.margin` on
        every side, and cut into ``tile``-sized pieces (the options' by default), each
        predicted with its margin of context and cropped back: as long as the margin
        covers half the receptive field, the tiles together equal one pass over the
        whole image. ``probabilities``: (3, h, w) float32, background, interior,
        boundary.
        """
        opts = self.options
        tile = tile or opts.tile
        if tile % opts.factor:
            raise ValueError(f"tile must be a multiple of {opts.factor}, not {tile}.")
        m, (h, w) = opts.margin, plane.shape
        low, high = opts.low_percentile, opts.high_percentile
        padded = np.pad(normalise(plane, low, high), m, mode="reflect")
        net, device = self.inference_net(), self.device
        for y in range(0, h, tile):
            for x in range(0, w, tile):
                th, tw = min(tile, h - y), min(tile, w - x)
                piece = torch.from_numpy(padded[y : y + th + 2 * m, x : x + tw + 2 * m])
                with torch.inference_mode():
                    scores = forward(net, piece[None, None].to(device, memory_format=LAYOUT))
                    p = torch.softmax(scores[0, :, m : m + th, m : m + tw], 0).cpu().numpy()
                yield (slice(y, y + th), slice(x, x + tw)), p

    def probabilities(self, plane, tile: int | None = None) -> np.ndarray:
        """The class probabilities (3, H, W) float32 of one raw 2D image, tile by tile.

        Examples
        --------
        >>> from napari_nuclei_edges.segmenter._unet import build
        >>> model = Segmenter(build(SegmenterOptions(depth=2, channels=4)).eval(),
        ...                   SegmenterOptions(depth=2, channels=4))
        >>> p = model.probabilities(np.random.default_rng(0).random((40, 30)))
        >>> p.shape, bool(np.allclose(p.sum(0), 1))
        ((3, 40, 30), True)
        """
        plane = np.asarray(plane, np.float32)
        out = np.empty((3, *plane.shape), np.float32)
        for (rows, columns), p in self.tiles(plane, tile):
            out[:, rows, columns] = p
        return out

    def label(self, plane, tile: int | None = None) -> np.ndarray:
        """Instance labels (int32) of one raw 2D image: the tiles' classes and interior
        probability (6 bytes a pixel, whatever the tile), then :func:`instances`."""
        plane = np.asarray(plane, np.float32)
        nucleus = np.empty(plane.shape, bool)
        seeds = np.empty(plane.shape, bool)
        interior = np.empty(plane.shape, np.float32)
        for (rows, columns), p in self.tiles(plane, tile):
            nucleus[rows, columns], seeds[rows, columns] = decide(p)
            interior[rows, columns] = p[1]
        return instances(nucleus, seeds, interior, self.options)

    @torch.no_grad()
    def inference_net(self) -> UNet:
        """The network with its batch normalisations folded in, its feature maps channels
        last (made once, then kept)."""
        if self._fused is None or next(self._fused.parameters()).device != self.device:
            self.net.eval()
            self._fused = for_inference(self.net).to(memory_format=LAYOUT)
        return self._fused


def forward(net: UNet, x: torch.Tensor) -> torch.Tensor:
    """``net`` on (B, 1, h, w) of any size: padded at the bottom and right to a multiple of
    the deepest level's size, and cropped back."""
    h, w = x.shape[-2:]
    f = 2 ** (len(net.down) - 1)
    pad_h, pad_w = -h % f, -w % f
    if pad_h or pad_w:
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return net(x)[..., :h, :w]


def decide(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From probabilities (3, ...): the nucleus pixels (background under 0.5) and the
    seeds (interior the most likely class)."""
    return p[0] < 0.5, (p[1] > p[0]) & (p[1] >= p[2])


def labels_of(p: np.ndarray, opts: SegmenterOptions) -> np.ndarray:
    """Instance labels (int32) of probabilities (3, H, W): :func:`decide`, :func:`instances`."""
    return instances(*decide(p), p[1], opts)


def instances(nucleus, seeds, interior, opts: SegmenterOptions) -> np.ndarray:
    """Instance labels (int32) from per-pixel predictions.

    ``nucleus``: pixels whose background probability is under 0.5; ``seeds``: those
    most likely interior; ``interior``: the interior probability. Each connected
    interior region of at least ``min_size // 2`` pixels is a nucleus, grown over
    the nucleus pixels by a watershed of the interior probability (so touching
    nuclei meet along their boundary). A model trained on scribbles learned
    nucleus against background only: its nuclei are the connected nucleus regions,
    touching ones split by the project's distance-transform watershed
    (:func:`~napari_nuclei_edges.segmentation._split.split_touching`). Objects of
    fewer than ``min_size`` pixels are dropped; labels are 1..n.

    Examples
    --------
    >>> nucleus = np.zeros((9, 20), bool); nucleus[2:7, 1:19] = True
    >>> seeds = np.zeros_like(nucleus); seeds[3:6, 3:7] = seeds[3:6, 12:17] = True
    >>> labels = instances(nucleus, seeds, seeds.astype(np.float32),
    ...                    SegmenterOptions(min_size=4))
    >>> int(labels.max()), int(labels[4, 2]), int(labels[4, 18])
    (2, 1, 2)
    """
    from scipy import ndimage
    from skimage.segmentation import relabel_sequential, watershed

    from ..segmentation._split import split_touching

    if opts.sparse:
        labels = split_touching(nucleus)
    else:
        markers, _ = ndimage.label(seeds, output=np.int32)
        markers = _without_small(markers, max(1, opts.min_size // 2))
        labels = watershed(1.0 - interior, markers, mask=nucleus).astype(np.int32, copy=False)
    labels = _without_small(labels, opts.min_size)
    return relabel_sequential(labels)[0].astype(np.int32, copy=False)


def _without_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """``labels`` with every object of fewer than ``min_size`` pixels set to 0 (in place)."""
    if min_size > 1 and labels.max() > 0:
        small = np.bincount(labels.ravel()) < min_size
        small[0] = False
        if small.any():
            labels[small[labels]] = 0
    return labels
