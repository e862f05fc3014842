"""sobel()'s one engine, torch: the same numbers as scipy on every device, from any
thread, lazily one pass per block, and nothing compiled, loaded or written at run time."""

import ast
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges import gradients
from napari_nuclei_edges.gradients import sobel

SCIPY_MODE = {"reflect": "mirror", "replicate": "nearest", "zeros": "constant", "valid": "mirror"}
PACKAGE = Path(gradients.__file__).resolve().parents[1]


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
def test_equals_scipy_in_tiles_of_every_kind(tile_pixels, padding):
    tile_pixels(1 << 12)  # many tiles of each kind
    rng = np.random.default_rng(11)
    for shape in [(5, 30, 40), (1, 150, 97), (2, 1, 90), (3, 70, 1), (1, 3, 17), (2, 40, 33)]:
        if padding == "valid" and min(shape[-2:]) < 3:
            continue
        stack = rng.integers(0, 255, shape).astype(np.uint8)
        assert_matches_scipy(sobel(stack, padding=padding), stack, padding)


def test_magnitude_and_direction_within_an_ulp_of_torch_hypot_and_atan2(tile_pixels):
    tile_pixels(1 << 12)
    rng = np.random.default_rng(15)
    stack = (rng.standard_normal((3, 61, 75)) * 1000).astype(np.float32)
    stack[0, 10, 10] = np.nan
    stack[1, 20, 30] = np.inf
    g = sobel(stack)
    gx, gy = torch.from_numpy(g.gx), torch.from_numpy(g.gy)
    hypot, atan2 = torch.hypot(gx, gy).numpy(), torch.atan2(gy, gx).numpy()
    finite = np.isfinite(hypot)
    ulp = np.spacing(np.abs(hypot[finite]))
    assert np.all(np.abs(g.magnitude[finite] - hypot[finite]) <= ulp)
    assert np.isnan(g.magnitude).sum() == np.isnan(hypot).sum() > 0
    ulp = np.spacing(np.abs(atan2[finite]))
    assert np.all(np.abs(g.direction[finite] - atan2[finite]) <= ulp)


def test_from_several_threads():
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


@pytest.mark.parametrize("chunks", [(1, 50, 70), (2, 20, 30), (3, 50, 9)])
@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
def test_a_lazy_stack_is_convolved_once_per_block_for_all_four_outputs(
    chunks, padding, monkeypatch
):
    """8 blocks, 4 outputs computed together: 8 Sobel passes, not 32."""
    da = pytest.importorskip("dask.array")
    import dask

    stack = np.random.default_rng(3).integers(0, 4095, (4, 50, 70)).astype(np.uint16)
    passes = []
    tiled = gradients._sobel_numpy

    def counted(images, *args, **kwargs):
        passes.append(images.shape)
        return tiled(images, *args, **kwargs)

    monkeypatch.setattr(gradients, "_sobel_numpy", counted)
    lazy = da.from_array(stack, chunks=chunks)
    g = sobel(lazy, padding=padding)
    assert passes == []  # nothing computed yet
    computed = dask.compute(*g, scheduler="synchronous")
    # "valid" first joins each image's blocks: one block per group of whole images
    blocks = int(np.prod(lazy.numblocks[:-2] if padding == "valid" else lazy.numblocks))
    assert len(passes) == blocks
    passes.clear()
    expected = tiled(stack, padding, torch.device("cpu"))
    assert len(passes) == 0
    for name, got, want in zip(("gx", "gy"), computed, expected, strict=False):
        np.testing.assert_array_equal(got, want, err_msg=name)
    np.testing.assert_allclose(computed[2], expected.magnitude, rtol=3e-7)
    np.testing.assert_allclose(computed[3], expected.direction, rtol=3e-7, atol=1e-7)


def test_dask_threads_leave_torch_to_one_thread_of_its_own(monkeypatch):
    """A dask thread that ran torch would start an OpenMP team of its own, slowing every
    later torch call in the process: every block's Sobel runs on one thread instead."""
    da = pytest.importorskip("dask.array")
    import dask

    stack = np.random.default_rng(5).integers(0, 255, (6, 40, 50)).astype(np.uint8)
    threads = []
    tiled = gradients._sobel_numpy

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return tiled(*args, **kwargs)

    monkeypatch.setattr(gradients, "_sobel_numpy", recorded)
    g = sobel(da.from_array(stack, chunks=(1, 20, 50)))
    gx, *_ = dask.compute(*g, scheduler="threads")
    assert len(threads) == 12 and set(threads) == {"sobel-blocks_0"}
    np.testing.assert_array_equal(gx, scipy_outputs(stack, "reflect")[0])


#: Run in a fresh process: sobel's first calls on new shapes, with an audit hook that
#: records every process started, library loaded or file opened for writing.
_FIRST_CALLS = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np, torch
    from napari_nuclei_edges.gradients import sobel
    seen = []
    WATCHED = {"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork",
               "os.spawn", "ctypes.dlopen", "ctypes.dlsym", "compile", "exec"}
    def hook(event, args):
        if event in WATCHED:
            seen.append(event)
        elif event == "open" and args[1] is not None and any(c in str(args[1]) for c in "wax+"):
            seen.append(f"open {args[0]} {args[1]}")
        elif event == "open" and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR):
            seen.append(f"open {args[0]} flags {args[2]}")
    sys.addaudithook(hook)
    for shape, dtype in (((3, 777, 555), np.uint8), ((1, 1999, 2001), np.float32),
                         ((2, 64, 64), np.int16)):
        g = sobel(np.ones(shape, dtype))
        assert float(np.abs(g.gx).max()) == 0.0
    sobel(torch.ones(5, 40, 40))
    print(json.dumps(seen))
    """
)


def test_sobel_compiles_loads_and_writes_nothing(tmp_path):
    """Its first calls in a new process start no process, load no library, open no file
    for writing: a home and a cache folder of its own stay empty."""
    home, cache, work = (tmp_path / name for name in ("home", "cache", "work"))
    for folder in (home, cache, work):
        folder.mkdir()
    environment = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_CALLS],
        capture_output=True,
        text=True,
        env=environment,
        cwd=work,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
    assert [p for folder in (home, cache, work) for p in folder.rglob("*")] == []


PURE = ("data", "synthetic", "intensity", "segmentation", "gradients", "training",
        "classification", "batch", "focus")  # fmt: skip
#: What would compile, build or load code at run time.
FORBIDDEN_IMPORTS = {"ctypes", "cffi", "subprocess", "torch.utils.cpp_extension", "numba"}
FORBIDDEN_CALLS = {"compile", "exec", "eval", "torch.compile", "torch.jit.script",
                   "torch.jit.trace", "torch.jit.load", "torch.ops.load_library"}  # fmt: skip


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return getattr(node, "id", "?")


def _sources():
    for name in PURE:
        path = PACKAGE / name
        yield from ([path.with_suffix(".py")] if not path.is_dir() else path.rglob("*.py"))


def test_the_computing_packages_compile_and_load_no_code():
    problems, files = [], list(_sources())
    assert len(files) > 20
    assert not [p for p in PACKAGE.rglob("*") if p.suffix in (".c", ".cpp", ".cu", ".so")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call):
                called = _dotted(node.func)
                if called in FORBIDDEN_CALLS:
                    problems.append(f"{path.name}:{node.lineno} calls {called}()")
                continue
            else:
                continue
            problems += [
                f"{path.name}:{node.lineno} imports {name}"
                for name in names
                if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IMPORTS)
            ]
    assert problems == []


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


@pytest.mark.parametrize("padding", ["reflect", "zeros", "replicate", "valid"])
def test_the_pair_alone_is_sobels_gx_and_gy_without_the_arctangent(padding, monkeypatch):
    from napari_nuclei_edges.gradients import sobel_pair

    stack = np.random.default_rng(6).integers(0, 65535, (3, 45, 61)).astype(np.uint16)
    full = sobel(stack, padding=padding)

    def no_atan2(*args, **kwargs):
        raise AssertionError("the pair needs no direction")

    monkeypatch.setattr(torch, "atan2", no_atan2)
    for source in (stack, torch.from_numpy(stack.astype(np.float32))):
        gx, gy = sobel_pair(source, padding=padding)
        assert isinstance(gx, torch.Tensor) and gx.dtype == torch.float32
        np.testing.assert_array_equal(gx.numpy(), full.gx)
        np.testing.assert_array_equal(gy.numpy(), full.gy)
    with pytest.raises(TypeError, match="real-valued"):
        sobel_pair(np.ones((4, 4), complex))
    with pytest.raises(ValueError, match="padding"):
        sobel_pair(stack, padding="wrap")
