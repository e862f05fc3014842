"""The magnitude is always hypot(Gx, Gy): no race, no stale buffer, no unwritten pixel.

A magnitude that differed from ``np.hypot`` of scipy's Gx and Gy was once seen
while other processes loaded the machine. These tests load torch's thread pool
from other threads, call ``sobel`` from several threads at once on pooled
(recycled) and unpooled outputs, hold some results while dropping others, and
check every pixel of every output each time.
"""

import threading

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.gradients import _tiles, output_shape, sobel

REPEATS = 25


@pytest.fixture(scope="module")
def anaphase(reference_path):
    with np.load(reference_path) as npz:
        return npz["anaphase"]


@pytest.fixture(scope="module")
def stacks(request):
    """The reference anaphase images when present (else the synthetic ones), and a stack
    large enough (≥ 4 MiB of outputs) for its outputs to come from the recycling pool."""
    try:
        small = request.getfixturevalue("anaphase")
    except pytest.skip.Exception:
        small = synthetic_nuclei(n_per_class=50)["anaphase"]
    large = np.concatenate([small] * 5)  # 250 × 80 × 80: 6.4 MB per output
    return small, large


def expected(stack):
    as_float = stack.astype(np.float32)
    gx = np.stack([ndimage.sobel(im, axis=-1, mode="mirror") for im in as_float])
    gy = np.stack([ndimage.sobel(im, axis=-2, mode="mirror") for im in as_float])
    return gx, gy, np.hypot(gx, gy), np.arctan2(gy, gx)


def wrong(result, truth) -> str | None:
    """What differs, or None."""
    gx, gy, magnitude, direction = truth
    if not (np.array_equal(result.gx, gx) and np.array_equal(result.gy, gy)):
        return "gx/gy"
    if not np.abs(result.magnitude - magnitude).max() <= 1e-3:
        return f"magnitude by {np.abs(result.magnitude - magnitude).max()}"
    if not np.abs(result.direction - direction).max() <= 1e-5:
        return "direction"
    return None


def test_concurrent_calls_under_a_loaded_thread_pool(stacks):
    small, large = stacks
    truths = {id(small): expected(small), id(large): expected(large)}
    problems: list[str] = []
    stop = threading.Event()

    def load():
        # keeps torch's intra-op threads busy, as another process or a training run does
        a = torch.rand(256, 256)
        while not stop.is_set():
            a @ a

    def work(worker: int):
        held = []
        for repeat in range(REPEATS):
            stack = large if (repeat + worker) % 2 else small
            result = sobel(stack)
            problem = wrong(result, truths[id(stack)])
            if problem:
                problems.append(f"thread {worker}, repeat {repeat}: {problem}")
            if repeat % 3 == 0:
                held.append((stack, result))  # kept: must never be overwritten
            if len(held) > 2:
                stack, kept = held.pop(0)
                problem = wrong(kept, truths[id(stack)])
                if problem:
                    problems.append(f"thread {worker}, a held result changed: {problem}")

    loader = threading.Thread(target=load)
    workers = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    loader.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    loader.join()
    assert problems == []


@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
@pytest.mark.parametrize("shape", [(3, 50, 70), (1, 130, 41), (5, 9, 300)])
def test_every_output_pixel_is_written(padding, shape, tile_pixels, monkeypatch):
    """NaN-filled outputs, cut into many tiles of every geometry: none is left behind."""
    tile_pixels(1000)
    image = np.random.default_rng(4).integers(0, 255, shape).astype(np.uint8)
    arrays = [np.full(output_shape(shape, padding), np.nan, np.float32) for _ in range(4)]
    sobel(image, padding=padding, out=arrays)
    assert not any(np.isnan(a).any() for a in arrays)
    monkeypatch.setattr(_tiles, "TILE_PIXELS", 1 << 19)  # one tile per image group
    reference = sobel(image, padding=padding)
    np.testing.assert_array_equal(arrays[0], reference.gx)
    np.testing.assert_array_equal(arrays[1], reference.gy)
    # torch's vectorised and scalar atan2 (the tail of a row) differ by at most 1 ulp
    np.testing.assert_allclose(arrays[2], reference.magnitude, rtol=3e-7)
    np.testing.assert_allclose(arrays[3], reference.direction, rtol=3e-7, atol=1e-7)


def test_same_results_whatever_the_thread_count():
    stack = np.concatenate(list(synthetic_nuclei(n_per_class=4).values()))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [a.copy() for a in sobel(stack)]
        torch.set_num_threads(max(2, threads))
        many = sobel(stack)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(one[0], many.gx)
    np.testing.assert_array_equal(one[1], many.gy)
    for a, b in zip(one[2:], (many.magnitude, many.direction), strict=True):
        np.testing.assert_allclose(a, b, rtol=3e-7, atol=1e-7)  # 1 ulp: vector vs scalar tails
