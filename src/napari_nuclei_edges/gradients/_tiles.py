"""The engine of :func:`~napari_nuclei_edges.gradients.sobel`, any device: four outputs per tile.

A tile is a group of whole small images, or a band of full-width rows of a large
one, of about :data:`TILE_PIXELS` output pixels. Each tile is converted to
float32 and padded into one reused buffer, and its Gx, Gy, magnitude and
direction are written straight into the outputs while the tile is still in the
cache: one pass over memory for the input and one for each output.

Python's cost per torch call (a few µs) is what limits small tiles, so every
view a tile geometry needs is made once per call (:class:`_Geometry`) and a
tile costs about 20 torch calls; torch's own threads split each operation.

torch only.
"""

from __future__ import annotations

import torch

#: Output pixels per tile: a tile's seven float32 planes (padded input, two
#: temporaries, four outputs) stay within the last-level cache, and a torch call's
#: fixed cost stays a small share (``python -m benchmarks.bench_sobel --tiles``).
TILE_PIXELS = 1 << 19


def tile_shape(n: int, oh: int, ow: int, tile_pixels: int | None = None) -> tuple[int, int]:
    """``(images, rows)`` of one tile for ``n`` outputs of ``oh × ow``.

    Whole images when one fits a tile, else bands of equal height, chosen from
    the pixel budget (not from the width), so that no thin last band is left.

    Examples
    --------
    >>> tile_shape(250, 80, 80)
    (81, 80)
    >>> tile_shape(1, 4080, 4080)           # 32 bands of 128 rows (the last 112)
    (1, 128)
    """
    tile_pixels = tile_pixels or TILE_PIXELS
    per_image = max(1, oh * ow)
    if per_image <= tile_pixels:
        return max(1, min(n, tile_pixels // per_image)), oh
    bands = -(-per_image // tile_pixels)
    return 1, -(-oh // bands)


def sobel_into(
    source: torch.Tensor, outputs, padding: str, tile_pixels: int | None = None
) -> None:
    """Write Gx, Gy, magnitude and direction of ``source`` ``(N, H, W)`` into ``outputs``.

    ``outputs`` are four float32 ``(N, OH, OW)`` tensors on one device that overlap
    neither each other nor ``source`` (the caller checks), or Gx and Gy and two
    None (the pair alone: no square root, no arctangent); ``source`` has any
    real dtype, on that device. ``tile_pixels``: :data:`TILE_PIXELS` by default;
    0 for one tile (a GPU, where a launch costs more than memory).
    """
    n, h, w = source.shape
    oh, ow = outputs[0].shape[-2:]
    if n == 0 or oh == 0 or ow == 0:
        return
    device = outputs[0].device
    if tile_pixels == 0:
        images, rows = n, oh
    else:
        images, rows = tile_shape(n, oh, ow, tile_pixels)
    margin = 0 if padding == "valid" else 1
    # zeros: the border columns of the buffer are never written, so they stay 0
    padded = torch.zeros((images, rows + 2, ow + 2), dtype=torch.float32, device=device)
    diff = torch.empty((images, rows + 2, ow), dtype=torch.float32, device=device)
    summed = torch.empty((images, rows + 2, ow), dtype=torch.float32, device=device)
    geometries: dict[tuple, _Geometry] = {}
    for first in range(0, n, images):
        last = min(n, first + images)
        for top in range(0, oh, rows):
            bottom = min(oh, top + rows)
            key = (last - first, bottom - top, top == 0, bottom == oh)
            geometry = geometries.get(key)
            if geometry is None:
                geometry = geometries[key] = _Geometry(
                    padded, diff, summed, *key, h, w, margin, padding
                )
            if margin:
                low, high = max(top - 1, 0), min(bottom + 1, h)
            else:
                low, high = top, bottom + 2
            geometry.fill(source[first:last, low:high])
            tiles = [None if out is None else out[first:last, top:bottom] for out in outputs]
            geometry.stencil(*tiles)


class _Geometry:
    """Every view that tiles of one shape and place (first band, last band) need."""

    def __init__(
        self, padded, diff, summed, images, rows, at_top, at_bottom, h, w, margin, padding
    ):
        p = self.p = padded[:images, : rows + 2]
        self.copies: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.zeros: list[torch.Tensor] = []
        if margin == 0:
            self.inner = p
        else:
            start = 1 if at_top else 0
            stop = rows + 1 if at_bottom else rows + 2
            self.inner = p[:, start:stop, 1:-1]
            if padding != "zeros":
                # columns first (on the rows read), then whole rows: corners mirror twice
                left, right = _mirror(w, padding)
                self.copies += [
                    (p[:, start:stop, 0], p[:, start:stop, 1 + left]),
                    (p[:, start:stop, w + 1], p[:, start:stop, 1 + right]),
                ]
            top_row, bottom_row = _mirror(h, padding)
            for is_edge, target, image_row in (
                (at_top, 0, top_row),
                (at_bottom, rows + 1, bottom_row),
            ):
                if not is_edge:
                    continue
                if padding == "zeros":
                    self.zeros.append(p[:, target])
                else:
                    # image row r is buffer row r + 1 in the first band, r - top + 1 in the last
                    offset = 1 if target == 0 else rows + 1 - h
                    self.copies.append((p[:, target], p[:, image_row + offset]))
        ow = p.shape[-1] - 2
        d = diff[:images, : rows + 2, :ow]
        s = summed[:images, : rows + 2, :ow]
        self.diff_args = (p[..., 2:], p[..., :-2], d)
        self.gx_args = (d[:, :-2], d[:, 2:], d[:, 1:-1])
        self.sum_args = (p[..., :-2], p[..., 2:], s, p[..., 1:-1])
        self.gy_args = (s[:, 2:], s[:, :-2])

    def fill(self, block: torch.Tensor) -> None:
        """Convert ``block`` into the buffer and pad it."""
        self.inner.copy_(block)
        for target, origin in self.copies:
            target.copy_(origin)
        for target in self.zeros:
            target.zero_()

    def stencil(self, gx, gy, magnitude, direction) -> None:
        """The four outputs of the buffer's tile, written into the given tensors."""
        high, low, d = self.diff_args
        torch.sub(high, low, out=d)  # a [-1, 0, 1] difference along x ...
        above, below, middle = self.gx_args
        torch.add(above, below, out=gx)  # ... then a [1, 2, 1] sum along y
        gx.add_(middle, alpha=2.0)
        left, right, s, centre = self.sum_args
        torch.add(left, right, out=s)  # a [1, 2, 1] sum along x ...
        s.add_(centre, alpha=2.0)
        torch.sub(*self.gy_args, out=gy)  # ... then a [-1, 0, 1] difference along y
        if magnitude is None:  # the gradient pair alone (sobel_pair)
            return
        # sqrt(gx² + gy²) in three in-place passes: torch's hypot is slower on CPUs
        torch.mul(gx, gx, out=magnitude)
        magnitude.addcmul_(gy, gy).sqrt_()
        torch.atan2(gy, gx, out=direction)


def _mirror(n: int, padding: str) -> tuple[int, int]:
    """The image index copied into the pad before index 0 and after index ``n - 1``.

    ``reflect`` mirrors without repeating the edge (scipy's ``mirror``, OpenCV's
    ``BORDER_REFLECT_101``); on a 1-pixel axis that is the pixel itself.
    """
    if padding == "reflect" and n > 1:
        return 1, n - 2
    return 0, n - 1
