"""A focus stack with a known best slice: a nuclei image defocused with distance from it.

numpy and scipy; no Qt, no napari.
"""

from __future__ import annotations

import numpy as np

#: Blur (Gaussian sigma, pixels) added per slice of distance from the best one.
DEFOCUS_PER_SLICE = 0.6
#: Nuclei tiles in the default image: a 4 × 5 mosaic of the sample's 80 × 80 crops.
_MOSAIC = (4, 5)


def sample_image(seed: int = 0) -> np.ndarray:
    """The default sharp image: a mosaic of the synthetic sample's nuclei (float32, 0..255).

    Examples
    --------
    >>> sample_image().shape
    (320, 400)
    """
    from ..synthetic import synthetic_nuclei

    rows, columns = _MOSAIC
    images = synthetic_nuclei(n_per_class=rows * columns // 5, seed=seed)
    crops = np.concatenate(list(images.values()))  # every class in every mosaic
    rng = np.random.default_rng(seed)
    crops = crops[rng.permutation(len(crops))]
    size = crops.shape[-1]
    mosaic = crops.reshape(rows, columns, size, size).transpose(0, 2, 1, 3)
    return mosaic.reshape(rows * size, columns * size).astype(np.float32)


def synthetic_focus_stack(
    image=None,
    slices: int = 21,
    best: int | None = None,
    noise: float = 2.0,
    seed: int = 0,
    *,
    defocus: float = DEFOCUS_PER_SLICE,
) -> tuple[np.ndarray, int]:
    """A focus series of a nuclei image: slice ``best`` is sharp, the others blurred.

    Slice ``k`` is the image blurred by a Gaussian of sigma ``defocus × |k − best|``
    pixels (slice ``best`` is the image itself), plus Gaussian noise of standard
    deviation ``noise`` grey levels, drawn anew for every slice.

    Parameters
    ----------
    image : array_like, optional
        A 2D grey image, at least 3 × 3 (any real dtype). Default: a 320 × 400
        mosaic of the synthetic sample's nuclei (grey levels 0..255).
    slices : int
        Number of slices (at least 1).
    best : int, optional
        The sharp slice; default the middle one. Negative counts from the end.
    noise : float
        Standard deviation of the added noise, in the image's grey levels.
    seed : int
        Seed of the noise (and of the default image).
    defocus : float
        Blur sigma added per slice of distance from ``best``.

    Returns
    -------
    stack : numpy.ndarray
        float32 ``(slices, H, W)``.
    best : int
        The index of the sharp slice (non-negative).

    Examples
    --------
    >>> stack, best = synthetic_focus_stack(slices=9, best=2)
    >>> stack.shape, stack.dtype, best
    ((9, 320, 400), dtype('float32'), 2)
    """
    from scipy.ndimage import gaussian_filter

    sharp = sample_image(seed) if image is None else np.asarray(image)
    if sharp.ndim != 2 or np.dtype(sharp.dtype).kind not in "buif" or min(sharp.shape) < 3:
        raise ValueError(
            f"The image must be one 2D grey image of at least 3 × 3 real values; got shape "
            f"{sharp.shape} of {sharp.dtype}: take one slice or channel first."
        )
    if int(slices) < 1:
        raise ValueError(f"A focus stack needs at least 1 slice; {slices} were asked for.")
    if noise < 0 or defocus < 0:
        raise ValueError(f"noise ({noise}) and defocus ({defocus}) cannot be negative.")
    slices = int(slices)
    best = slices // 2 if best is None else int(best)
    if not -slices <= best < slices:
        raise ValueError(
            f"best = {best} is not a slice of a {slices}-slice stack (0 to {slices - 1})."
        )
    best %= slices
    sharp = sharp.astype(np.float32)
    rng = np.random.default_rng(seed)
    stack = np.empty((slices, *sharp.shape), np.float32)
    for k in range(slices):
        sigma = defocus * abs(k - best)
        stack[k] = gaussian_filter(sharp, sigma, mode="reflect") if sigma > 0 else sharp
        if noise > 0:
            stack[k] += rng.normal(0.0, noise, sharp.shape).astype(np.float32)
    return stack, best
