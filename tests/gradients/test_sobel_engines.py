"""Every engine behind sobel() gives the same numbers: eager tiles, the compiled kernel, GPUs."""

import threading

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges.gradients import _tiles, sobel

SCIPY_MODE = {"reflect": "mirror", "replicate": "nearest", "zeros": "constant", "valid": "mirror"}


def scipy_outputs(stack, padding):
    as_float = stack.astype(np.float32)
    mode = SCIPY_MODE[padding]
    gx = np.stack([ndimage.sobel(im, axis=-1, mode=mode) for im in as_float])
    gy = np.stack([ndimage.sobel(im, axis=-2, mode=mode) for im in as_float])
    if padding == "valid":
        gx, gy = gx[:, 1:-1, 1:-1], gy[:, 1:-1, 1:-1]
    return gx, gy


def assert_matches_scipy(result, stack, padding):
    gx, gy = scipy_outputs(stack, padding)
    np.testing.assert_array_equal(np.asarray(result.gx).reshape(gx.shape), gx)
    np.testing.assert_array_equal(np.asarray(result.gy).reshape(gy.shape), gy)
    magnitude = np.asarray(result.magnitude).reshape(gx.shape)
    np.testing.assert_allclose(magnitude, np.hypot(gx, gy), rtol=1e-6)
    direction = np.asarray(result.direction).reshape(gx.shape)
    np.testing.assert_allclose(direction, np.arctan2(gy, gx), rtol=1e-6, atol=1e-6)


@pytest.fixture
def compiled(monkeypatch):
    """The compiled kernel, as a large call would start it (compiling takes seconds)."""
    monkeypatch.delenv("NAPARI_NUCLEI_EDGES_COMPILE", raising=False)
    if not _tiles.warm_up(wait=True):
        pytest.skip("torch.compile is not available here (no C++ compiler?): eager only")
    monkeypatch.setattr(_tiles, "COMPILED_TILE_PIXELS", 1 << 12)  # many tiles of each kind
    return _tiles._COMPILED["kernel"]


@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
def test_compiled_kernel_equals_scipy(compiled, padding):
    rng = np.random.default_rng(11)
    for shape in [(5, 30, 40), (1, 150, 97), (2, 1, 90), (3, 70, 1)]:
        if padding == "valid" and min(shape[-2:]) < 3:
            continue
        stack = rng.integers(0, 255, shape).astype(np.uint8)
        assert_matches_scipy(sobel(stack, padding=padding), stack, padding)


def test_compiled_kernel_from_several_threads(compiled):
    stack = np.random.default_rng(12).integers(0, 255, (6, 64, 96)).astype(np.uint8)
    expected = scipy_outputs(stack, "reflect")
    problems = []

    def work():
        for _ in range(10):
            g = sobel(stack)
            if not (np.array_equal(g.gx, expected[0]) and np.array_equal(g.gy, expected[1])):
                problems.append("gx/gy")
            if np.abs(g.magnitude - np.hypot(*expected)).max() > 1e-3:
                problems.append("magnitude")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []


def test_no_compiling_when_turned_off(monkeypatch):
    monkeypatch.setenv("NAPARI_NUCLEI_EDGES_COMPILE", "0")
    monkeypatch.setattr(_tiles, "_WARMING", {})
    monkeypatch.setattr(_tiles, "_COMPILED", {})
    monkeypatch.setattr(_tiles, "COMPILE_PIXELS", 1)  # any call would start it
    stack = np.random.default_rng(13).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")
    assert _tiles.warm_up() is False and "thread" not in _tiles._WARMING


def _gpu(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


@pytest.mark.parametrize("kind", ["cuda", "mps"])
@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
def test_gpu_equals_scipy(kind, padding):
    if not _gpu(kind):
        pytest.skip(f"no {kind} device on this machine")
    stack = np.random.default_rng(14).integers(0, 255, (4, 65, 129)).astype(np.uint8)
    from_numpy = sobel(stack, padding=padding, device=kind)  # numpy in, numpy out
    assert isinstance(from_numpy.gx, np.ndarray)
    assert_matches_scipy(from_numpy, stack, padding)
    tensor = torch.from_numpy(stack).to(kind)
    on_device = sobel(tensor, padding=padding)
    assert on_device.gx.device.type == kind
    cpu = type(on_device)(*(t.cpu().numpy() for t in on_device))
    assert_matches_scipy(cpu, stack, padding)
