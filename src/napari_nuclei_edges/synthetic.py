"""A synthetic look-alike of the reference nuclei dataset, with ground-truth masks.

The reference dataset (CELL0027 course data, MIT licence) is not shipped with the
plugin; :func:`synthetic_nuclei` draws images of the same classes, shapes and
dtype so that everything works with no file at all, and its masks give a ground
truth to score segmentations against.

numpy and scipy only: no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._synthetic_field import synthetic_field
from .data import CLASS_NAMES

__all__ = ["synthetic_field", "synthetic_nuclei"]


def synthetic_nuclei(
    n_per_class: int = 50,
    size: int = 80,
    seed: int = 0,
    *,
    masks: bool | str = False,
) -> dict[str, np.ndarray] | tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Draw a synthetic look-alike of the reference nuclei dataset.

    Each image is ``size × size`` uint8 with a dark noisy background, one
    nucleus at the centre drawn in the shape typical of its class, and zero to
    three neighbouring nuclei cut by the border:

    - *interphase*: a large, dim, textured ellipse;
    - *prometaphase*: a bright irregular blob of condensed chromosomes;
    - *metaphase*: a bright bar (the metaphase plate) at a random angle;
    - *anaphase*: two parallel bars moving apart;
    - *apoptosis*: a few small, very bright fragments.

    Brightness and background vary from image to image, so one global
    threshold is visibly imperfect, as on the real data.

    Parameters
    ----------
    n_per_class : int
        Number of images per class.
    size : int
        Height and width of each image in pixels (at least 16).
    seed : int
        Seed of the random generator: the same seed gives the same images.
    masks : bool or "labels"
        Also return the ground truth: ``True`` the foreground masks, ``"labels"``
        instance labels (one id per nucleus in each image).

    Returns
    -------
    dict of str to numpy.ndarray
        Class name to a uint8 ``(n_per_class, size, size)`` stack, in
        :data:`CLASS_NAMES` order.
    tuple of (dict, dict)
        With ``masks=True``: the images and, per class, the bool foreground
        masks of the same shape (every nucleus, centre and neighbours). With
        ``masks="labels"``: int32 instance labels instead, numbered 1, 2, … in
        each image, where the centre nucleus covers the neighbours it overlaps;
        a nucleus seen in separate pieces (anaphase's two plates, apoptotic
        fragments) has one id per piece, as a segmentation sees them. The
        images are the same whatever ``masks`` is.

    Examples
    --------
    >>> images, truth = synthetic_nuclei(n_per_class=4, masks=True)
    >>> images["metaphase"].shape, images["metaphase"].dtype
    ((4, 80, 80), dtype('uint8'))
    >>> truth["metaphase"].dtype
    dtype('bool')
    >>> _, labels = synthetic_nuclei(n_per_class=4, masks="labels")
    >>> bool(np.array_equal(labels["metaphase"] > 0, truth["metaphase"]))
    True
    """
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be 0 or more, not {n_per_class}.")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, not {size}.")
    if masks not in (False, True, "labels"):
        raise ValueError(f'masks must be False, True or "labels", not {masks!r}.')
    rng = np.random.default_rng(seed)
    images: dict[str, np.ndarray] = {}
    truths: dict[str, np.ndarray] = {}
    for name in CLASS_NAMES:
        stack = np.empty((n_per_class, size, size), np.uint8)
        truth = np.empty((n_per_class, size, size), np.int32)
        for i in range(n_per_class):
            stack[i], truth[i] = _draw_image(name, size, rng, instances=masks == "labels")
        images[name], truths[name] = stack, truth if masks == "labels" else truth > 0
    return (images, truths) if masks else images


class _Canvas:
    """A float image and its nuclei's labels that shapes are painted onto."""

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        self.rng = rng
        self.y, self.x = np.mgrid[0:size, 0:size].astype(np.float32)
        self.signal = np.zeros((size, size), np.float32)
        self.labels = np.zeros((size, size), np.int32)
        self.nucleus = 0  # the id painted: every shape until the next `new_nucleus`
        self._texture: np.ndarray | None = None

    def ellipse(
        self,
        cy: float,
        cx: float,
        ry: float,
        rx: float,
        angle: float,
        brightness: float,
        texture: float = 0.0,
        edge: float = 1.5,
    ) -> None:
        """Paint a soft-edged ellipse; it is the nucleus's where it is at least half on."""
        cos, sin = np.cos(angle), np.sin(angle)
        dy, dx = self.y - cy, self.x - cx
        u = (dx * cos + dy * sin) / rx
        v = (-dx * sin + dy * cos) / ry
        r = np.sqrt(u * u + v * v)
        # distance to the outline in pixels, approximately, for a soft edge
        inside = np.clip((1.0 - r) * min(rx, ry) / edge + 0.5, 0.0, 1.0)
        # chromatin is brighter towards the middle of a nucleus
        profile = inside * (0.8 + 0.2 * np.clip(1.0 - r, 0.0, 1.0))
        if texture:
            profile = profile * (1.0 + texture * self.texture)
        # overlapping shapes do not add up: DNA does not stack in a 2D projection
        np.maximum(self.signal, brightness * profile, out=self.signal)
        self.labels[inside >= 0.5] = self.nucleus

    def new_nucleus(self) -> None:
        """The shapes that follow belong to a new nucleus."""
        self.nucleus += 1

    def instance_labels(self) -> np.ndarray:
        """One id per nucleus, 1, 2, …; a nucleus in separate pieces: one per piece."""
        from scipy.ndimage import label

        out = np.zeros_like(self.labels)
        count = 0
        for nucleus in range(1, self.nucleus + 1):
            # 8-connected, as the scores label a mask (skimage connectivity=2)
            pieces, n = label(self.labels == nucleus, structure=np.ones((3, 3), bool))
            out[pieces > 0] = pieces[pieces > 0] + count
            count += n
        return out

    @property
    def texture(self) -> np.ndarray:
        """Smooth unit-variance noise, drawn once per image: the chromatin texture."""
        if self._texture is None:
            from scipy.ndimage import gaussian_filter

            noise = gaussian_filter(self.rng.standard_normal(self.signal.shape), 1.5)
            self._texture = (noise / (noise.std() + 1e-12)).astype(np.float32)
        return self._texture


def _draw_image(
    name: str, size: int, rng: np.random.Generator, instances: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import gaussian_filter

    canvas = _Canvas(size, rng)
    scale = size / 80.0
    c = (size - 1) / 2.0
    # neighbours first, so the centre nucleus is painted on top of any overlap
    for _ in range(rng.choice(4, p=[0.3, 0.35, 0.25, 0.1])):
        canvas.new_nucleus()
        _draw_neighbour(canvas, scale)
    canvas.new_nucleus()
    _DRAW_CENTRE[name](canvas, c + rng.normal(0, 2 * scale), c + rng.normal(0, 2 * scale), scale)
    blurred = gaussian_filter(canvas.signal, 1.0)
    # the microscope's gain and the background differ between images
    gain = rng.uniform(0.45, 1.35)
    background = rng.uniform(6.0, 45.0)
    noise_sd = rng.uniform(2.0, 7.0)
    image = background + gain * blurred
    image = image + rng.normal(0.0, 1.0, image.shape) * np.sqrt(noise_sd**2 + 0.15 * image)
    # the pieces are counted only when asked for: the images alone stay as fast
    labels = canvas.instance_labels() if instances else canvas.labels
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), labels


def _draw_neighbour(canvas: _Canvas, scale: float) -> None:
    rng = canvas.rng
    radius = rng.uniform(10, 16) * scale
    # centre just inside or outside a random side, so the border cuts it
    along = rng.uniform(0, canvas.size)
    across = rng.uniform(-0.6, 0.5) * radius
    side = rng.integers(4)
    cy, cx = [
        (across, along),
        (canvas.size - 1 - across, along),
        (along, across),
        (along, canvas.size - 1 - across),
    ][side]
    canvas.ellipse(
        cy,
        cx,
        radius * rng.uniform(0.75, 1.0),
        radius,
        rng.uniform(0, np.pi),
        rng.uniform(40, 110),
        texture=0.15,
    )


def _interphase(canvas: _Canvas, cy: float, cx: float, scale: float) -> None:
    rng = canvas.rng
    rx = rng.uniform(13, 20) * scale
    canvas.ellipse(
        cy,
        cx,
        rx * rng.uniform(0.65, 0.95),
        rx,
        rng.uniform(0, np.pi),
        rng.uniform(45, 110),
        texture=0.25,
    )


def _prometaphase(canvas: _Canvas, cy: float, cx: float, scale: float) -> None:
    rng = canvas.rng
    brightness = rng.uniform(140, 220)
    spread = rng.uniform(5, 8) * scale
    for _ in range(rng.integers(8, 14)):
        r = rng.uniform(3.0, 5.5) * scale
        canvas.ellipse(
            cy + rng.normal(0, spread / 2),
            cx + rng.normal(0, spread / 2),
            r * rng.uniform(0.5, 0.9),
            r,
            rng.uniform(0, np.pi),
            brightness * rng.uniform(0.6, 0.9),
            texture=0.2,
            edge=1.0,
        )


def _bar(canvas: _Canvas, cy: float, cx: float, angle: float, brightness: float, s: float):
    rng = canvas.rng
    canvas.ellipse(
        cy,
        cx,
        rng.uniform(11, 16) * s,
        rng.uniform(3.5, 5.5) * s,
        angle,
        brightness,
        texture=0.2,
        edge=1.0,
    )


def _metaphase(canvas: _Canvas, cy: float, cx: float, scale: float) -> None:
    rng = canvas.rng
    _bar(canvas, cy, cx, rng.uniform(0, np.pi), rng.uniform(140, 220), scale)


def _anaphase(canvas: _Canvas, cy: float, cx: float, scale: float) -> None:
    rng = canvas.rng
    angle = rng.uniform(0, np.pi)
    half_gap = rng.uniform(5, 11) * scale
    # the plates lie along the ellipse's long (v) axis; they move apart along u
    dy, dx = half_gap * np.sin(angle), half_gap * np.cos(angle)
    brightness = rng.uniform(130, 210)
    for sign in (-1, 1):
        canvas.ellipse(
            cy + sign * dy,
            cx + sign * dx,
            rng.uniform(8, 12) * scale,
            rng.uniform(2.5, 3.5) * scale,
            angle + rng.normal(0, 0.1),
            brightness * rng.uniform(0.85, 1.0),
            texture=0.2,
            edge=1.0,
        )


def _apoptosis(canvas: _Canvas, cy: float, cx: float, scale: float) -> None:
    rng = canvas.rng
    brightness = rng.uniform(190, 260)
    for _ in range(rng.integers(1, 5)):
        r = rng.uniform(2.5, 5.0) * scale
        canvas.ellipse(
            cy + rng.normal(0, 5 * scale),
            cx + rng.normal(0, 5 * scale),
            r,
            r * rng.uniform(0.8, 1.0),
            0.0,
            brightness * rng.uniform(0.7, 1.0),
            edge=0.8,
        )


_DRAW_CENTRE: dict[str, Callable[[_Canvas, float, float, float], None]] = {
    "interphase": _interphase,
    "prometaphase": _prometaphase,
    "metaphase": _metaphase,
    "anaphase": _anaphase,
    "apoptosis": _apoptosis,
}
