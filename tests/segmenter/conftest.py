"""Shared data for the segmenter's tests: tiny networks, small fields, one trained run."""

import numpy as np
import pytest

#: A network small enough to train in a second or two on one thread.
TINY = {"depth": 2, "channels": 8, "patch_size": 64, "batch_size": 8, "learning_rate": 0.01}


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Torch on one thread: a tiny U-Net's convolutions gain nothing from more, and on a
    machine shared with other work its threads' waits make a run ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def field():
    """A crowded 256² field and its instance truth."""
    from napari_nuclei_edges.data import synthetic_field

    return synthetic_field(size=256, n_nuclei=40, seed=0)


@pytest.fixture(scope="session")
def field_run(field):
    """The steps of 4 epochs of 10 steps of the tiny network on :func:`field`."""
    from napari_nuclei_edges.segmenter import fit_segmenter

    image, truth = field
    return list(fit_segmenter(image, truth, epochs=4, steps_per_epoch=10, **TINY))


@pytest.fixture(scope="session")
def tiny():
    """Options of a network small enough to train in a second or two on one thread."""
    return dict(TINY)


@pytest.fixture(scope="session")
def draw():
    """The drawing helpers: ``draw.discs(centres, size)``, ``draw.touching_pairs(size)``."""
    import types

    return types.SimpleNamespace(discs=discs, touching_pairs=touching_pairs)


def discs(centres, size: int, radius: float = 9.0, seed: int = 0):
    """Bright discs dimming towards their edge, as nuclei do, on a noisy background, with
    their instance labels (a pixel where two overlap belongs to the nearer centre)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    image = np.zeros((size, size), np.float32)
    labels = np.zeros((size, size), np.int32)
    nearest = np.full((size, size), np.inf, np.float32)
    for k, (y, x) in enumerate(centres, start=1):
        r = np.hypot(yy - y, xx - x) / radius
        inside = (r <= 1) & (r < nearest)
        labels[inside] = k
        nearest = np.where(inside, r, nearest)
        image = np.maximum(image, np.where(r <= 1, 1 - 0.6 * r**4, 0))
    noise = np.random.default_rng(seed).normal(0, 30, image.shape)
    return (1000 * image + 100 + noise).astype(np.float32), labels


def touching_pairs(size: int = 128, seed: int = 0):
    """A field of pairs of touching discs (centres 18 pixels apart, radius 9)."""
    rng = np.random.default_rng(seed)
    centres = []
    for y in range(16, size - 16, 32):
        for x in range(14, size - 30, 40):
            y0 = y + rng.uniform(-3, 3)
            centres += [(y0, x), (y0, x + 18)]
    return discs(centres, size, seed=seed)
