"""sobel() checks its arguments before writing: a bad one is a sentence, an odd one works."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges.gradients import Gradients, sobel

RNG = np.random.default_rng(7)
IMAGE = RNG.integers(0, 255, (9, 11)).astype(np.uint8)


def scipy_sobel(image, mode="mirror"):
    as_float = np.asarray(image, np.float32)
    return ndimage.sobel(as_float, axis=-1, mode=mode), ndimage.sobel(as_float, axis=-2, mode=mode)


def outputs(shape, count=4):
    return [np.full(shape, np.nan, np.float32) for _ in range(count)]


def test_read_only_out_is_refused_in_a_subprocess(tmp_path):
    """Read-only memmaps as out= once crashed Python (exit 139): a subprocess survives that."""
    code = textwrap.dedent(
        f"""
        import numpy as np
        from napari_nuclei_edges.gradients import Gradients, sobel
        image = np.random.default_rng(0).integers(0, 255, (600, 700)).astype(np.uint8)
        paths = [r"{tmp_path}/o" + str(i) for i in range(4)]
        for path in paths:
            np.zeros(image.shape, np.float32).tofile(path)
        arrays = [np.memmap(p, np.float32, "r", shape=image.shape) for p in paths]
        try:
            sobel(image, out=Gradients(*arrays))
        except ValueError as exc:
            print("REFUSED", exc)
        print("UNCHANGED", all(not a.any() for a in arrays))
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "REFUSED out= gx is read-only" in run.stdout
    assert "UNCHANGED True" in run.stdout


def test_read_only_out_is_refused_before_any_write():
    arrays = outputs(IMAGE.shape)
    arrays[3].flags.writeable = False  # the last one: the first three must stay untouched
    with pytest.raises(ValueError, match="out= direction is read-only"):
        sobel(IMAGE, out=arrays)
    assert all(np.isnan(a).all() for a in arrays)


@pytest.mark.parametrize("shape", [(9, 11), (700, 900)], ids=["small", "tiled"])
def test_out_overlapping_the_input_is_still_right(shape):
    image = RNG.random(shape, dtype=np.float32) * 255
    expected = sobel(image.copy())
    arrays = outputs(shape)
    arrays[1] = image  # gy written over the input itself
    result = sobel(image, out=arrays)
    for name in ("gx", "gy", "magnitude", "direction"):
        np.testing.assert_array_equal(getattr(result, name), getattr(expected, name))
    # out= a view that starts one row further into the input's memory
    buffer = RNG.random((shape[0] + 1, *shape[1:]), dtype=np.float32)
    image, shifted = buffer[:-1], buffer[1:]
    expected = sobel(image.copy())
    result = sobel(image, out=[shifted, *outputs(shape, 3)])
    np.testing.assert_array_equal(result.gx, expected.gx)


def test_aliased_outputs_are_refused():
    same = np.empty(IMAGE.shape, np.float32)
    with pytest.raises(ValueError, match="gx and magnitude share memory"):
        sobel(IMAGE, out=[same, np.empty_like(same), same, np.empty_like(same)])
    big = np.empty((2, *IMAGE.shape), np.float32)
    overlapping = np.empty((IMAGE.size + 5,), np.float32)
    with pytest.raises(ValueError, match="share memory"):
        sobel(
            IMAGE,
            out=[
                overlapping[: IMAGE.size].reshape(IMAGE.shape),
                overlapping[5:].reshape(IMAGE.shape),
                big[0],
                big[1],
            ],
        )


def test_out_of_the_wrong_kind_is_a_sentence():
    with pytest.raises(ValueError, match=r"four arrays.*not 3 arrays"):
        sobel(IMAGE, out=outputs(IMAGE.shape, 3))
    with pytest.raises(ValueError, match=r"four arrays.*not ndarray"):
        sobel(IMAGE, out=np.empty(IMAGE.shape, np.float32))
    with pytest.raises(ValueError, match="float32 numpy arrays of shape \\(9, 11\\); gy is"):
        sobel(
            IMAGE, out=[*outputs(IMAGE.shape, 1), np.empty(IMAGE.shape), *outputs(IMAGE.shape, 2)]
        )
    with pytest.raises(ValueError, match="out= is for numpy input; for torch tensors"):
        sobel(torch.from_numpy(IMAGE), out=outputs(IMAGE.shape))
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="for dask arrays"):
        sobel(da.from_array(IMAGE), out=outputs(IMAGE.shape))


@pytest.mark.parametrize(
    "view",
    [
        np.fliplr,
        np.flipud,
        lambda a: a[::2, ::3],
        lambda a: a.T,
        lambda a: np.broadcast_to(a, (3, *a.shape)),
    ],
    ids=["fliplr", "flipud", "step", "transpose", "broadcast"],
)
def test_any_strides(view):
    image = view(IMAGE)
    g = sobel(image)
    for index, plane in enumerate(image.reshape(-1, *image.shape[-2:])):
        gx, gy = scipy_sobel(plane)
        np.testing.assert_array_equal(g.gx.reshape(-1, *gx.shape)[index], gx)
        np.testing.assert_array_equal(g.gy.reshape(-1, *gy.shape)[index], gy)
    t = sobel(torch.from_numpy(np.ascontiguousarray(image)).transpose(-1, -2))
    np.testing.assert_array_equal(t.gy.numpy(), sobel(np.swapaxes(image, -1, -2)).gy)


@pytest.mark.parametrize(
    "dtype",
    [
        np.longdouble,
        np.float16,
        ">f4",
        ">u2",
        np.uint16,
        np.uint32,
        np.uint64,
        np.int8,
        np.int64,
        bool,
    ],
)
def test_any_real_dtype(dtype):
    image = (IMAGE % 2 if dtype is bool else IMAGE).astype(dtype)
    gx, gy = scipy_sobel(image.astype(np.float64))
    g = sobel(image)
    np.testing.assert_array_equal(g.gx, gx)
    np.testing.assert_array_equal(g.gy, gy)
    assert g.gx.dtype == np.float32


def test_a_read_only_input_works_without_a_warning(recwarn):
    image = IMAGE.copy()
    image.flags.writeable = False
    np.testing.assert_array_equal(sobel(image).gx, scipy_sobel(IMAGE)[0])
    assert not [w for w in recwarn if "not writable" in str(w.message)]


def test_requires_grad_is_differentiated_through():
    x = torch.tensor(IMAGE, dtype=torch.float64, requires_grad=True)
    g = sobel(x)
    np.testing.assert_array_equal(g.gx.detach().numpy(), scipy_sobel(IMAGE)[0])
    np.testing.assert_allclose(
        g.magnitude.detach().numpy(), np.hypot(*scipy_sobel(IMAGE)), rtol=1e-6
    )
    weights = torch.rand(2, *IMAGE.shape, dtype=torch.float32)
    (g.gx * weights[0] + g.gy * weights[1]).sum().backward()
    # the same loss through conv2d of the mirrored image: the same gradient
    from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y

    y = torch.tensor(IMAGE, dtype=torch.float32, requires_grad=True)
    padded = torch.nn.functional.pad(y[None, None], (1, 1, 1, 1), mode="reflect")
    conv = torch.nn.functional.conv2d(padded, torch.stack([SOBEL_X, SOBEL_Y])[:, None])[0]
    (conv * weights).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), atol=1e-4)
    with torch.no_grad():  # no grad wanted: the fast path, same values
        np.testing.assert_array_equal(sobel(x).gx.numpy(), g.gx.detach().numpy())


@pytest.mark.parametrize("device", ["nonsense", "cuda:99", "npu", 3.5])
def test_bad_device_is_the_same_sentence_as_an_absent_one(device):
    if isinstance(device, str) and device.startswith("cuda") and torch.cuda.device_count() > 99:
        pytest.skip("a machine with 100 GPUs")
    for images in (IMAGE, torch.from_numpy(IMAGE)):
        with pytest.raises(ValueError, match=r"is not available here.*use one of 'cpu'"):
            sobel(images, device=device)


@pytest.mark.parametrize(
    ("shape", "padding", "expected"),
    [
        ((0, 5), "reflect", (0, 5)),
        ((3, 0, 5), "reflect", (3, 0, 5)),
        ((0, 6, 6), "zeros", (0, 6, 6)),
        ((0, 6, 6), "valid", (0, 4, 4)),
        ((2, 5, 0), "replicate", (2, 5, 0)),
    ],
)
def test_empty_dimensions_give_empty_outputs(shape, padding, expected):
    for images in (np.zeros(shape, np.uint8), torch.zeros(shape)):
        g = sobel(images, padding=padding)
        assert all(tuple(out.shape) == expected for out in g)
    with pytest.raises(ValueError, match="smaller than the 3 × 3 kernel"):
        sobel(np.zeros((3, 0, 5)), padding="valid")


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (1, 1), (4, 1, 300_000)])
def test_reflect_on_a_one_pixel_axis_equals_scipy_mirror(shape):
    image = RNG.integers(0, 255, shape).astype(np.float32)
    stack = image.reshape(-1, *shape[-2:])
    for padding, mode in (("reflect", "mirror"), ("replicate", "nearest"), ("zeros", "constant")):
        g = sobel(image, padding=padding)
        for index, plane in enumerate(stack):
            gx, gy = scipy_sobel(plane, mode)
            np.testing.assert_array_equal(g.gx.reshape(stack.shape)[index], gx)
            np.testing.assert_array_equal(g.gy.reshape(stack.shape)[index], gy)
    torch_g = sobel(torch.from_numpy(image))
    np.testing.assert_array_equal(torch_g.gy.numpy(), sobel(image).gy)


def test_out_on_another_device_is_a_sentence():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device: out= is refused only where one is present")
    with pytest.raises(ValueError, match="out= is for the CPU"):
        sobel(IMAGE, device="cuda", out=outputs(IMAGE.shape))


def test_gradients_from_a_tuple():
    arrays = outputs(IMAGE.shape)
    result = sobel(IMAGE, out=tuple(arrays))
    assert isinstance(result, Gradients)
    assert np.shares_memory(result.gx, arrays[0]) and np.shares_memory(result.direction, arrays[3])
