import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_nuclei_edges import gradients
from napari_nuclei_edges.data import CLASS_NAMES, synthetic_nuclei
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, release_buffers, sobel

SCIPY_MODE = {"reflect": "mirror", "replicate": "nearest", "zeros": "constant"}


@pytest.fixture(scope="module")
def reference(reference_path):
    with np.load(reference_path) as npz:
        return np.concatenate([npz[n] for n in CLASS_NAMES])


def _scipy(stack, mode):
    as_float = stack.astype(np.float32)
    gx = np.stack([ndimage.sobel(im, axis=-1, mode=mode) for im in as_float])
    gy = np.stack([ndimage.sobel(im, axis=-2, mode=mode) for im in as_float])
    return gx, gy


def test_kernels():
    assert SOBEL_X.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert torch.equal(SOBEL_Y, SOBEL_X.T)


def _assert_equals_scipy(stack, padding):
    g = sobel(stack, padding=padding)
    gx, gy = _scipy(stack, SCIPY_MODE[padding])
    np.testing.assert_array_equal(g.gx, gx)
    np.testing.assert_array_equal(g.gy, gy)
    np.testing.assert_allclose(g.magnitude, np.hypot(gx, gy), rtol=1e-6)
    np.testing.assert_allclose(g.direction, np.arctan2(gy, gx), atol=1e-6)
    assert all(out.dtype == np.float32 and out.shape == stack.shape for out in g)


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zeros"])
def test_equals_scipy_on_reference_data(reference, padding):
    _assert_equals_scipy(reference, padding)


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zeros"])
def test_equals_scipy_on_synthetic_data(padding):
    """The reference test's twin, for a machine without ../shared/data."""
    stack = np.concatenate(list(synthetic_nuclei(n_per_class=10).values()))
    _assert_equals_scipy(stack, padding)


def test_equals_conv2d_and_other_libraries():
    import cv2
    from skimage.filters import sobel_h, sobel_v

    image = synthetic_nuclei(n_per_class=1)["metaphase"][0].astype(np.float32)
    g = sobel(image, padding="zeros")
    weight = torch.stack([SOBEL_X, SOBEL_Y])[:, None]
    conv = torch.nn.functional.conv2d(torch.from_numpy(image)[None, None], weight, padding=1)[0]
    np.testing.assert_allclose(g.gx, conv[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(g.gy, conv[1].numpy(), atol=1e-4)
    valid = sobel(image, padding="valid")
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(valid.gx, sobel_v(image)[inner] * 4, atol=1e-3)
    np.testing.assert_allclose(valid.gy, sobel_h(image)[inner] * 4, atol=1e-3)
    reflect = sobel(image)
    np.testing.assert_array_equal(
        reflect.gx, cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    )
    np.testing.assert_array_equal(
        reflect.gy, cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    )


def test_padding_shapes_and_borders():
    ramp = np.tile(np.arange(6, dtype=np.float32), (5, 1))  # x increases by 1 per column
    assert sobel(ramp, padding="valid").gx.shape == (3, 4)
    np.testing.assert_array_equal(sobel(ramp, padding="valid").gx, 8)
    replicate = sobel(ramp, padding="replicate").gx
    assert replicate[2, 0] == 4 and replicate[2, -1] == 4  # one-sided difference at the edge
    reflect = sobel(ramp, padding="reflect").gx
    assert reflect[2, 0] == 0 and reflect[2, -1] == 0  # mirrored: symmetric around the edge
    zeros = sobel(ramp, padding="zeros").gx
    assert zeros[2, 0] == 4 * 1 and zeros[2, -1] == -4 * 4  # 0 outside the image
    g = sobel(ramp)
    assert g.direction[2, 2] == 0.0 and g.magnitude[2, 2] == 8.0


def test_direction_range_and_meaning():
    yy, xx = np.mgrid[-8:9, -8:9].astype(np.float32)
    g = sobel(np.hypot(yy, xx), padding="valid")  # a cone: gradients point outwards
    assert g.direction.max() <= np.pi and g.direction.min() > -np.pi
    assert g.direction[11, 7] == pytest.approx(np.pi / 2, abs=1e-3)  # below the centre: +y
    assert g.direction[7, 11] == pytest.approx(0.0, abs=1e-3)  # right of the centre: +x


def test_any_leading_axes_and_dtypes():
    rng = np.random.default_rng(0)
    stack = rng.integers(-300, 300, (2, 3, 12, 10)).astype(np.int16)
    g = sobel(stack)
    assert g.gx.shape == (2, 3, 12, 10)
    flat = sobel(stack.reshape(6, 12, 10))
    np.testing.assert_array_equal(g.gx.reshape(6, 12, 10), flat.gx)
    for dtype in (np.uint8, np.uint16, np.float64, bool):
        image = rng.integers(0, 2, (8, 9)).astype(dtype)
        np.testing.assert_allclose(sobel(image).gx, sobel(image.astype(np.float32)).gx)


def test_input_is_not_modified():
    image = np.random.default_rng(1).random((9, 9)).astype(np.float32)
    copy = image.copy()
    sobel(image)
    tensor = torch.from_numpy(image.copy())
    sobel(tensor)
    np.testing.assert_array_equal(image, copy)
    np.testing.assert_array_equal(tensor.numpy(), copy)


def test_torch_in_torch_out():
    image = torch.rand(2, 7, 7)
    g = sobel(image)
    assert isinstance(g.gx, torch.Tensor) and g.gx.shape == (2, 7, 7)
    np.testing.assert_allclose(g.gx.numpy(), sobel(image.numpy()).gx)


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zeros", "valid"])
@pytest.mark.parametrize(
    "shape",
    [(700, 2100), (3, 333, 1001), (7, 100, 90)],
    ids=["bands-of-one-large-image", "bands-uneven-last", "groups-of-small-images"],
)
def test_large_images_are_tiled_exactly(padding, shape, tile_pixels):
    from napari_nuclei_edges.gradients import _tiles

    tile_pixels(1 << 15)  # many tiles, whatever the shape
    image = np.random.default_rng(2).integers(0, 255, shape).astype(np.uint8)
    images, rows = _tiles.tile_shape(*image.reshape(-1, *shape[-2:]).shape)
    assert images > 1 or rows < shape[-2]  # more than one tile per stack
    g = sobel(image, padding=padding)
    stack = image.reshape(-1, *shape[-2:])
    gx, gy = _scipy(stack, SCIPY_MODE.get(padding, "mirror"))
    if padding == "valid":
        gx, gy = gx[:, 1:-1, 1:-1], gy[:, 1:-1, 1:-1]
    np.testing.assert_array_equal(g.gx.reshape(gx.shape), gx)
    np.testing.assert_array_equal(g.gy.reshape(gy.shape), gy)
    np.testing.assert_allclose(g.magnitude.reshape(gx.shape), np.hypot(gx, gy), rtol=1e-6)
    np.testing.assert_allclose(g.direction.reshape(gx.shape), np.arctan2(gy, gx), atol=1e-6)


def test_nan_spreads_only_locally():
    image = np.ones((9, 9), np.float32)
    image[4, 4] = np.nan
    g = sobel(image)
    # Gx's kernel has zero weight on its middle column: the NaN reaches 6 neighbours
    assert np.argwhere(np.isnan(g.gx)).tolist() == [[r, c] for r in (3, 4, 5) for c in (3, 5)]
    assert np.argwhere(np.isnan(g.gy)).tolist() == [[r, c] for r in (3, 5) for c in (3, 4, 5)]
    assert np.isnan(g.magnitude).sum() == 8  # where either is NaN


def test_dask_is_lazy_and_equal():
    da = pytest.importorskip("dask.array")
    stack = synthetic_nuclei(n_per_class=4)["anaphase"].astype(np.float32)
    calls = []

    def counted(block):
        calls.append(block.shape)
        return block

    for chunks in ((1, 80, 80), (2, 40, 30)):  # whole images per block, then split images
        lazy = da.from_array(stack, chunks=chunks).map_blocks(counted, dtype=np.float32)
        calls.clear()
        g = sobel(lazy)
        assert isinstance(g.gx, da.Array) and not calls  # nothing computed yet
        expected = sobel(stack)
        for name in ("gx", "gy", "magnitude", "direction"):
            np.testing.assert_allclose(
                getattr(g, name).compute(), getattr(expected, name), atol=1e-5
            )
        assert calls


def test_device_fallback_with_a_message(monkeypatch):
    original = gradients.sobel_into

    def unsupported_off_cpu(source, outputs, *args, **kwargs):
        if source.device.type != "cpu":
            raise NotImplementedError("atan2 is not implemented for this device")
        return original(source, outputs, *args, **kwargs)

    monkeypatch.setattr(gradients, "sobel_into", unsupported_off_cpu)
    image = torch.rand(6, 6)
    with pytest.warns(RuntimeWarning, match="not supported on meta"):
        g = sobel(image, device="meta")
    np.testing.assert_allclose(g.gx.numpy(), sobel(image.numpy()).gx)


def test_bad_input():
    with pytest.raises(TypeError, match="complex"):
        sobel(np.ones((4, 4), complex))
    with pytest.raises(TypeError, match="real-valued"):
        sobel(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sobel(np.ones(5))
    with pytest.raises(ValueError, match="smaller than the 3 × 3 kernel"):
        sobel(np.ones((2, 5)), padding="valid")
    with pytest.raises(ValueError, match="padding must be one of"):
        sobel(np.ones((4, 4)), padding="wrap")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            sobel(np.ones((4, 4)), device="cuda")
    assert sobel(np.ones((0, 5, 5))).gx.shape == (0, 5, 5)  # an empty stack gives empty outputs


def test_out_buffers_are_reused():
    stack = synthetic_nuclei(n_per_class=2)["metaphase"]
    fresh = sobel(stack)
    out = gradients.Gradients(*(np.full(stack.shape, np.nan, np.float32) for _ in range(4)))
    result = sobel(stack, out=out)
    for name in ("gx", "gy", "magnitude", "direction"):
        assert getattr(result, name).base is getattr(out, name) or getattr(
            result, name
        ) is getattr(out, name)
        np.testing.assert_array_equal(getattr(out, name), getattr(fresh, name))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        sobel(stack, out=gradients.Gradients(*(np.empty((1, 2)) for _ in range(4))))
    as_list = [np.empty(stack.shape, np.float32) for _ in range(4)]
    sobel(stack, out=as_list)  # a plain sequence of four works too
    np.testing.assert_array_equal(as_list[2], fresh.magnitude)


def test_magnitude_direction_rgb():
    from napari_nuclei_edges.gradients import magnitude_direction_rgb

    yy, xx = np.mgrid[-10:11, -10:11].astype(np.float32)
    g = sobel(np.hypot(yy, xx), padding="valid")
    rgb = magnitude_direction_rgb(g)
    assert rgb.shape == (19, 19, 3) and rgb.dtype == np.float32
    assert rgb.min() >= 0 and rgb.max() <= 1
    right = rgb[9, 15]  # gradient points along +x: hue 0, red
    assert right[0] > 0.9 and right[1] < 0.1 and right[2] < 0.1
    assert rgb[9, 9].max() < 0.5  # the apex of the cone has a small gradient: dark


def test_recycled_outputs_never_overwrite_a_result_still_held():
    rng = np.random.default_rng(3)
    first_input = rng.integers(0, 255, (2, 1024, 1024), dtype=np.uint8)
    first = sobel(first_input)
    expected = first.gx.copy()
    second = sobel(rng.integers(0, 255, (2, 1024, 1024), dtype=np.uint8))
    assert np.array_equal(first.gx, expected)
    assert not np.shares_memory(first.gx, second.gx)
    where = second.magnitude.__array_interface__["data"][0]
    del second
    third = sobel(first_input)  # the dropped result's memory comes back
    assert where in {a.__array_interface__["data"][0] for a in third}
    assert np.array_equal(third.gx, expected)
    assert release_buffers() > 0


def test_relation_to_scikit_image_depends_on_the_dtype():
    """As the README says: Gx / 4 on floats; 1020 × sobel_v on uint8 (rescaled to [0, 1])."""
    from skimage.filters import sobel_v

    image = synthetic_nuclei(n_per_class=1)["metaphase"][0]
    assert image.dtype == np.uint8
    inner = (slice(1, -1), slice(1, -1))
    gx = sobel(image, padding="valid").gx
    np.testing.assert_allclose(gx, sobel_v(image.astype(np.float32))[inner] * 4, atol=1e-3)
    np.testing.assert_allclose(gx, sobel_v(image)[inner] * 1020, atol=1e-2)
