"""*Show augmentation*'s layer: every image of a layer beside 8 augmented copies of itself.

The layer was 8 copies of the shown image as a stack of its own: in the tile
beneath a class it showed nothing at image 24 (it had 8 images) and, at image 3,
copies of image 24 under image 3. Here the layer has an image for each image of
its source, on the source's slider: at image k, a 3 × 3 grid of image k (top
left) and 8 augmented copies, drawn at a third of the scale so that the grid
fills exactly the tile of one image. No Qt.
"""

from __future__ import annotations

import numpy as np

from ..common.outputs import owned_output, put_layer

#: The grid of one image: itself and GRID² - 1 augmented copies.
GRID = 3
#: Stacks up to this many images are augmented at once; a longer one image by
#: image as napari shows it (a dask array).
AT_ONCE = 256


def gap_of(size: int) -> int:
    """Pixels between two copies of an image ``size`` pixels tall (or wide)."""
    return max(1, size // 20)


def mosaic(image, index: int, options) -> np.ndarray:
    """Image ``index`` of a layer and its augmented copies, ``GRID × GRID`` (float32).

    The copies are drawn with ``options`` (a :class:`ClassifierOptions`) and a seed
    of their own per image, so that an image shows the same copies each time.

    Examples
    --------
    >>> from napari_nuclei_edges.classification import ClassifierOptions
    >>> mosaic(np.eye(40), 0, ClassifierOptions(model="cnn", shift=2)).shape
    (124, 124)
    """
    from ...classification import augmentation_examples

    values = {**options.to_dict(), "seed": (options.seed + index) % 2**31}
    copies = augmentation_examples(np.asarray(image), GRID * GRID, **values)
    h, w = copies.shape[1:]
    gy, gx = gap_of(h), gap_of(w)
    low, high = float(copies.min()), float(copies.max())
    # the gaps mid-grey: a line between the dark backgrounds of two copies
    out = np.full((GRID * h + (GRID - 1) * gy, GRID * w + (GRID - 1) * gx),
                  (low + high) / 2, np.float32)  # fmt: skip
    for i, copy in enumerate(copies):
        r, c = divmod(i, GRID)
        out[r * (h + gy) : r * (h + gy) + h, c * (w + gx) : c * (w + gx) + w] = copy
    return out


def tiles(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The ``GRID²`` images of one :func:`mosaic` of images of ``shape`` (the image first).

    Examples
    --------
    >>> from napari_nuclei_edges.classification import ClassifierOptions
    >>> tiles(mosaic(np.eye(40), 0, ClassifierOptions(model="cnn")), (40, 40)).shape
    (9, 40, 40)
    """
    h, w = shape
    gy, gx = gap_of(h), gap_of(w)
    return np.stack([grid[r * (h + gy) : r * (h + gy) + h, c * (w + gx) : c * (w + gx) + w]
                     for r in range(GRID) for c in range(GRID)])  # fmt: skip


def augmented_stack(data, options):
    """A mosaic for each image of ``data`` (2D or a stack): numpy, or dask when long."""
    stack = data if data.ndim == 3 else data[None]
    if len(stack) <= AT_ONCE:
        out = np.stack([mosaic(stack[i], i, options) for i in range(len(stack))])
    else:
        import dask.array as da

        h, w = stack.shape[1:]
        shape = (GRID * h + (GRID - 1) * gap_of(h), GRID * w + (GRID - 1) * gap_of(w))

        def block(images, block_info=None):
            first = block_info[None]["array-location"][0][0]
            return np.stack([mosaic(image, first + i, options) for i, image in enumerate(images)])

        lazy = da.asarray(stack).rechunk((1, h, w))
        out = lazy.map_blocks(block, chunks=(1, *shape), dtype=np.float32)
    return out if data.ndim == 3 else out[0]


def put_augmented(viewer, name: str, data, index: int, options):
    """Create or update ``<name>_augmented``: each image's mosaic in the image's place."""
    source = viewer.layers[name]
    stack = augmented_stack(data, options)
    shown = np.asarray(stack[index] if data.ndim == 3 else stack)
    parameters = {"image": index, "augment": options.augment, "shift": options.shift,
                  "rotate": options.rotate, "jitter": options.jitter, "grid": GRID}  # fmt: skip
    # inserted with a placeholder of one pixel an image, so that it takes the tile
    # of one image beneath its source (a tile is sized by its data), then given the
    # mosaics at the scale that makes each one that size
    new = owned_output(viewer, name, "augmented") is None
    placeholder = np.zeros((*data.shape[:-2], 1, 1), np.float32)
    out = put_layer(viewer, "image", name, "augmented", placeholder if new else stack,
                    parameters, colormap="gray")  # fmt: skip
    if new:
        out.data = stack
    scale = np.array(source.scale, dtype=float)
    scale[-2:] *= np.asarray(data.shape[-2:], float) / np.asarray(shown.shape, float)
    out.scale = scale
    low, high = float(shown.min()), float(shown.max())
    out.contrast_limits = (low, high if high > low else low + 1)
    return out
