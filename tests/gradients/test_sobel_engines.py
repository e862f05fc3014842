"""Every engine behind sobel() gives the same numbers: torch operations, native kernel, GPUs."""

import threading

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges.gradients import _native, sobel

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


@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
def test_each_engine_equals_scipy(engine, tile_pixels, padding):
    tile_pixels(1 << 12)  # many tiles of each kind
    rng = np.random.default_rng(11)
    for shape in [(5, 30, 40), (1, 150, 97), (2, 1, 90), (3, 70, 1), (1, 3, 17), (2, 40, 33)]:
        if padding == "valid" and min(shape[-2:]) < 3:
            continue
        stack = rng.integers(0, 255, shape).astype(np.uint8)
        assert_matches_scipy(sobel(stack, padding=padding), stack, padding)


def test_the_native_kernel_is_correctly_rounded_and_agrees_with_torch(tile_pixels):
    """Float input: Gx, Gy bit-equal to the torch operations; the magnitude is numpy's
    correctly rounded square root; the direction within an ulp of torch's atan2."""
    if not _native.warm_up(wait=True):
        pytest.skip(f"the native kernel cannot be built here ({_native.reason()})")
    tile_pixels(1 << 12)
    rng = np.random.default_rng(15)
    stack = (rng.standard_normal((3, 61, 75)) * 1000).astype(np.float32)
    stack[0, 10, 10] = np.nan
    stack[1, 20, 30] = np.inf
    native = sobel(stack)
    _native_kernel = _native.kernel
    try:
        _native.kernel = lambda: None
        eager = sobel(stack)
    finally:
        _native.kernel = _native_kernel
    np.testing.assert_array_equal(native.gx, eager.gx)
    np.testing.assert_array_equal(native.gy, eager.gy)
    gx, gy = native.gx, native.gy
    np.testing.assert_array_equal(native.magnitude, np.sqrt(gx * gx + gy * gy))
    np.testing.assert_allclose(native.direction, eager.direction, rtol=3e-7, atol=1e-7)
    assert np.isnan(native.magnitude).sum() == np.isnan(eager.magnitude).sum() > 0


def test_the_native_kernel_from_several_threads(engine):
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


def test_the_native_kernel_refuses_tiles_it_cannot_address():
    if not _native.warm_up(wait=True):
        pytest.skip(f"the native kernel cannot be built here ({_native.reason()})")
    kernel = _native.kernel()
    padded = torch.zeros((2, 7, 12))
    plain = [torch.empty((2, 5, 10)) for _ in range(4)]
    transposed = [torch.empty((2, 10, 5)).transpose(1, 2) for _ in range(4)]
    mixed = [*plain[:3], torch.empty((2, 5, 20))[..., ::2]]
    assert kernel(padded, plain) is True
    assert kernel(padded, transposed) is False
    assert kernel(padded, mixed) is False
    assert kernel(padded.double(), plain) is False
    assert kernel(torch.zeros((2, 7, 13)), plain) is False


@pytest.fixture
def fresh_native(monkeypatch, tmp_path):
    """A process that has not looked for the kernel yet, with an empty cache."""
    monkeypatch.setattr(_native, "_STATE", {})
    monkeypatch.delenv("NAPARI_NUCLEI_EDGES_COMPILE", raising=False)
    monkeypatch.setenv("NAPARI_NUCLEI_EDGES_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_built_once_in_the_background_then_loaded_from_the_cache(fresh_native, monkeypatch):
    if _native._plan() is None or isinstance(_native._plan(), str):
        pytest.skip(f"the native kernel cannot be built here ({_native._plan()})")
    stack = np.random.default_rng(16).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")  # never waits for the build
    assert _native._STATE["thread"].name == "sobel-native-build"
    assert _native.warm_up(wait=True) is True
    assert [p.suffix for p in fresh_native.iterdir()] == [".so"]  # no partial file left
    # a new process: loaded from the cache at its first call, no build
    monkeypatch.setattr(_native, "_STATE", {})
    assert _native.kernel() is not None and "thread" not in _native._STATE
    assert_matches_scipy(sobel(stack), stack, "reflect")


def test_the_avx2_build_on_a_cpu_without_avx512(fresh_native, monkeypatch):
    """Built for what torch says the CPU has: here an AVX2 CPU (8 lanes, not 16)."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("this CPU cannot run the AVX2 build")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    if isinstance(_native._plan(), str):
        pytest.skip(f"the native kernel cannot be built here ({_native._plan()})")
    assert _native.warm_up(wait=True) is True
    stack = np.random.default_rng(17).integers(0, 255, (3, 41, 53)).astype(np.uint8)
    for padding in ("reflect", "zeros"):
        assert_matches_scipy(sobel(stack, padding=padding), stack, padding)


def test_a_broken_cached_library_is_replaced(fresh_native):
    plan = _native._plan()
    if isinstance(plan, str):
        pytest.skip(f"the native kernel cannot be built here ({plan})")
    fresh_native.mkdir()
    plan[1].write_bytes(b"not a library")
    assert _native.warm_up(wait=True) is True
    assert plan[1].read_bytes()[:4] == b"\x7fELF"


def test_a_kernel_that_disagrees_with_torch_is_not_used():
    class Wrong:
        def __call__(self, padded, outputs):
            for out in outputs:
                out.zero_()
            return True

    assert "disagreed" in _native._check(Wrong())


def test_without_gcc_the_torch_operations_do_the_work(fresh_native, monkeypatch):
    monkeypatch.setattr(_native.shutil, "which", lambda name: None)
    stack = np.random.default_rng(13).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")
    assert _native.kernel() is None and _native.reason() == "no gcc on this machine"
    assert not fresh_native.exists()


def test_a_failed_build_is_reported_and_torch_does_the_work(fresh_native, monkeypatch):
    flags = {key: (*value, "-mno-such-option") for key, value in _native.FLAGS.items()}
    monkeypatch.setattr(_native, "FLAGS", flags)
    if isinstance(_native._plan(), str):
        pytest.skip(f"the native kernel cannot be built here ({_native._plan()})")
    assert _native.warm_up(wait=True) is False
    assert _native.reason().startswith("gcc failed:")
    stack = np.random.default_rng(13).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")
    assert list(fresh_native.iterdir()) == []  # the partial file is gone


def test_a_package_without_its_c_source_still_works(fresh_native, monkeypatch):
    if isinstance(_native._plan(), str):
        pytest.skip(f"the native kernel cannot be built here ({_native._plan()})")

    def missing(package):
        raise FileNotFoundError("_sobel.c is not in this installation")

    monkeypatch.setattr(_native.resources, "files", missing)
    stack = np.random.default_rng(13).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")
    assert _native.kernel() is None and "_sobel.c is not in this installation" in _native.reason()


def test_no_building_when_turned_off(fresh_native, monkeypatch):
    monkeypatch.setenv("NAPARI_NUCLEI_EDGES_COMPILE", "0")
    stack = np.random.default_rng(13).integers(0, 255, (2, 20, 30)).astype(np.uint8)
    assert_matches_scipy(sobel(stack), stack, "reflect")
    assert _native.warm_up() is False and "thread" not in _native._STATE
    assert _native.reason() == "NAPARI_NUCLEI_EDGES_COMPILE=0"
    assert not fresh_native.exists()


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
