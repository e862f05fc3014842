"""The fused CPU kernel of the tile loop (``_sobel.c``): built once per machine, then loaded.

The eager engine (:meth:`_tiles._Geometry.stencil`) makes ten passes over each
tile, one per torch operation; ``_sobel.c`` makes one, and is about twice as
fast on every shape. No library offers this: OpenCV's ``cartToPolar`` trades
accuracy for speed (0.3° angles), and ``torch.compile``'s kernel for the same
arithmetic took seconds of GIL-holding compilation and ran on one thread for a
single image. So the kernel is a few dozen lines of C that call torch's own vectorised
``atan2`` (SLEEF, the function ``torch.atan2`` uses), built by ``gcc`` in a
subprocess (no GIL held: a GUI stays responsive) the first time it is needed,
cached on disk, checked against the eager engine, and loaded with ``ctypes``.

Wherever any of that is not possible (no gcc, a CPU without AVX2, not Linux on
x86-64, a failed build or check), :func:`kernel` returns None and the eager
engine does the work: same Gx and Gy, magnitude and direction within one unit
in the last place. ``NAPARI_NUCLEI_EDGES_COMPILE=0`` forbids building and
loading; ``NAPARI_NUCLEI_EDGES_CACHE`` moves the cache (default
``$XDG_CACHE_HOME/napari-nuclei-edges``).

torch and the standard library.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path

import torch

SWITCH = "NAPARI_NUCLEI_EDGES_COMPILE"
CACHE = "NAPARI_NUCLEI_EDGES_CACHE"
#: Compiler flags per torch CPU capability (``torch.backends.cpu.get_cpu_capability``):
#: explicit instruction sets, not ``-march=native``, so that a cache shared between
#: machines never hands one a kernel its CPU cannot run.
FLAGS = {"AVX512": ("-mavx512f", "-mfma"), "AVX2": ("-mavx2", "-mfma")}

_LOCK = threading.Lock()
#: "kernel": the loaded :class:`NativeKernel`; "thread": the build; "reason": why
#: there is none (for messages and tests).
_STATE: dict = {}


class NativeKernel:
    """The loaded ``sobel_tile`` of ``_sobel.c``, called on torch tensors.

    ctypes releases the GIL for the call, and the kernel splits the rows of a
    tile over ``torch.get_num_threads()`` OpenMP threads (torch's own runtime).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        function = ctypes.CDLL(str(path)).sobel_tile
        function.restype = ctypes.c_int
        pointer, size = ctypes.c_void_p, ctypes.c_int64
        function.argtypes = [pointer, size, size, size, size, size]
        function.argtypes += [pointer] * 4 + [size, size, ctypes.c_int]
        self._function = function

    def __call__(self, padded: torch.Tensor, outputs) -> bool:
        """Write the four outputs of ``padded`` ``(images, rows + 2, width + 2)``;
        False (nothing written) where the strides are not the kernel's."""
        images, rows, width = outputs[0].shape
        strides = outputs[0].stride()
        if (
            strides[-1] != 1
            or padded.stride(-1) != 1
            or padded.dtype != torch.float32
            or tuple(padded.shape) != (images, rows + 2, width + 2)
            or any(
                out.stride() != strides
                or out.shape != outputs[0].shape
                or out.dtype != torch.float32
                for out in outputs
            )
        ):
            return False
        if images * rows * width == 0:
            return True
        self._function(
            padded.data_ptr(),
            images,
            rows,
            width,
            padded.stride(0),
            padded.stride(1),
            *(out.data_ptr() for out in outputs),
            strides[0],
            strides[1],
            torch.get_num_threads(),
        )
        return True


def kernel() -> NativeKernel | None:
    """The fused kernel, or None while it is being built or where it cannot be.

    The first call loads it from the cache (a millisecond) or starts building it
    in the background (under a second); it never waits for a build.
    """
    found = _STATE.get("kernel")
    if found is None and "thread" not in _STATE:
        warm_up()
        found = _STATE.get("kernel")
    return found


def warm_up(wait: bool = False) -> bool:
    """Load the kernel from the cache, or start building it off this thread (once).

    Returns True when it is ready. ``wait``: block until the build has ended
    (benchmarks, tests).
    """
    with _LOCK:
        thread = _STATE.get("thread")
        if thread is None and "kernel" not in _STATE:
            if os.environ.get(SWITCH) == "0":
                _STATE["reason"] = f"{SWITCH}=0"
                return False
            try:
                plan = _plan()
            except (OSError, RuntimeError, AttributeError) as error:  # a broken install
                plan = f"no native kernel: {error}"
            if isinstance(plan, str):
                _STATE["reason"] = plan
                _STATE["thread"] = None  # decided: never try again in this process
                return False
            if plan[1].exists() and _load(plan[1]):
                return True
            thread = _STATE["thread"] = threading.Thread(
                target=_build_and_load, args=plan, name="sobel-native-build", daemon=True
            )
            thread.start()
    if wait and thread is not None:
        thread.join()
    return "kernel" in _STATE


def reason() -> str | None:
    """Why the kernel is not in use, in a few words (None when it is, or not yet known)."""
    return None if "kernel" in _STATE else _STATE.get("reason")


def cache_dir() -> Path:
    """Where built kernels are kept."""
    if os.environ.get(CACHE):
        return Path(os.environ[CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "napari-nuclei-edges"


def _plan() -> tuple[list[str], Path, str] | str:
    """The gcc command (without its output path), the cached library's path and
    the C source, or why there is none here."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"no native kernel for {sys.platform} on {platform.machine()}"
    capability = torch.backends.cpu.get_cpu_capability()
    flags = FLAGS.get(capability)
    if flags is None:
        return f"no native kernel for a {capability} CPU"
    compiler = shutil.which("gcc")
    if compiler is None:
        return "no gcc on this machine"
    lib = Path(torch.__file__).parent / "lib"
    if not (lib / "libtorch_cpu.so").exists():
        return "torch's libtorch_cpu.so was not found"
    source = resources.files(__package__).joinpath("_sobel.c").read_bytes()
    options = ["-O3", *flags, "-ffp-contract=off", "-fopenmp", "-fPIC", "-shared"]
    key = hashlib.sha256(
        b"\0".join(
            [source, torch.__version__.encode(), str(lib).encode(), *map(str.encode, options)]
        )
    ).hexdigest()[:16]
    target = cache_dir() / f"sobel-{key}.so"
    command = [compiler, *options, "-x", "c", "-", f"-L{lib}", "-ltorch_cpu"]
    nice = shutil.which("nice")
    if nice:  # the build yields the CPU to the work it is meant to speed up
        command = [nice, "-n", "19", *command]
    command += [f"-Wl,-rpath,{lib}", "-o"]
    return command, target, str(source, "utf-8")


def _build_and_load(command: list[str], target: Path, source: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a private name, then an atomic rename: processes building at once never
        # load each other's half-written file
        handle, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(handle)
        try:
            run = subprocess.run(
                [*command, partial], input=source, capture_output=True, text=True, timeout=120
            )
            if run.returncode != 0:
                _STATE["reason"] = "gcc failed: " + (run.stderr.strip().splitlines() or ["?"])[-1]
                return
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    except (OSError, subprocess.SubprocessError) as error:
        _STATE["reason"] = f"could not build the native kernel: {error}"
        return
    _load(target)


def _load(path: Path) -> bool:
    """Load and check the library; a library that fails the check is removed."""
    try:
        loaded = NativeKernel(path)
        problem = _check(loaded)
    except (OSError, AttributeError) as error:
        problem = f"could not load {path.name}: {error}"
    if problem:
        _STATE["reason"] = problem
        path.unlink(missing_ok=True)
        return False
    _STATE["kernel"] = loaded
    return True


def _check(loaded: NativeKernel) -> str | None:
    """Compare with the eager engine on tiles with a vector body, a tail, NaN and ±inf."""
    from napari_nuclei_edges.gradients._tiles import _Geometry

    generator = torch.Generator().manual_seed(0)
    for images, rows, width in ((2, 5, 37), (1, 3, 1), (3, 1, 16)):
        padded = torch.randn((images, rows + 2, width + 2), generator=generator) * 100
        padded[0, 1, 1] = float("nan")
        padded[-1, -1, -1] = float("inf")
        native = [torch.empty((images, rows, width)) for _ in range(4)]
        eager = [torch.empty((images, rows, width)) for _ in range(4)]
        if not loaded(padded, native):
            return "the native kernel refused a plain tile"
        diff = torch.empty((images, rows + 2, width))
        summed = torch.empty((images, rows + 2, width))
        geometry = _Geometry(padded, diff, summed, images, rows, False, False, 0, 0, 0, "valid")
        geometry.stencil(*eager)
        gx_gy = all(
            torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)
            for a, b in zip(native[:2], eager[:2], strict=True)
        )
        rest = all(
            torch.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)
            for a, b in zip(native[2:], eager[2:], strict=True)
        )
        if not (gx_gy and rest):
            return "the native kernel disagreed with torch; it is not used"
    return None
