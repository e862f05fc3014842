"""Each focus measure against its formula, computed by hand in numpy on small arrays."""

import numpy as np
import pytest
import torch

from napari_nuclei_edges.focus import (
    FOCUS_MEASURES,
    best_focus,
    focus_measures,
    iter_focus_measures,
    synthetic_focus_stack,
)


def brenner(g):
    g = g.astype(np.float64)
    height, width = g.shape
    return sum((g[i, j] - g[i + 2, j]) ** 2 for i in range(height - 2) for j in range(width))


def normalised_variance(g):
    g = g.astype(np.float64)
    mean = g.mean()
    return 0.0 if mean == 0 else ((g - mean) ** 2).sum() / (g.size * abs(mean))


def sobel_valid(g):
    g = g.astype(np.float64)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    height, width = g.shape
    gx = np.zeros((height - 2, width - 2))
    gy = np.zeros_like(gx)
    for i in range(height - 2):
        for j in range(width - 2):
            window = g[i : i + 3, j : j + 3]
            gx[i, j] = (window * kx).sum()
            gy[i, j] = (window * kx.T).sum()
    return gx, gy


def tenengrad(g):
    gx, gy = sobel_valid(g)
    return (gx**2 + gy**2).sum()


def laplacian_variance(g):
    g = g.astype(np.float64)
    k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    height, width = g.shape
    lap = [
        (g[i : i + 3, j : j + 3] * k).sum() for i in range(height - 2) for j in range(width - 2)
    ]
    return np.var(lap)


def spectral(g):
    power = np.abs(np.fft.fft2(g.astype(np.float64))) ** 2
    fy = np.fft.fftfreq(g.shape[0])[:, None]
    fx = np.fft.fftfreq(g.shape[1])[None, :]
    radius = np.hypot(fy, fx)
    total = power.sum() - power[0, 0]
    return 0.0 if total <= 0 else (radius * power).sum() / total


BY_HAND = {
    "brenner": brenner,
    "normalised_variance": normalised_variance,
    "tenengrad": tenengrad,
    "laplacian_variance": laplacian_variance,
    "spectral": spectral,
}


@pytest.fixture
def small():
    return np.random.default_rng(1).integers(0, 256, (4, 7, 9)).astype(np.uint8)


@pytest.mark.parametrize("name", FOCUS_MEASURES)
@pytest.mark.parametrize("shape", [(4, 7, 9), (3, 8, 6), (2, 3, 3)])
def test_each_measure_is_its_formula(name, shape):
    stack = np.random.default_rng(2).normal(100, 30, shape)
    got = focus_measures(stack, name)[name]
    expected = [BY_HAND[name](g) for g in stack]
    assert got.dtype == np.float64 and got.shape == (shape[0],)
    # float64 input is measured in float64, except the Sobel (float32, like the Sobel dock)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if name == "tenengrad" else 1e-9)


@pytest.mark.parametrize("name", FOCUS_MEASURES)
def test_integer_input_matches_the_formula(name, small):
    got = focus_measures(small, name)[name]
    np.testing.assert_allclose(got, [BY_HAND[name](g) for g in small], rtol=2e-5)


def test_brenner_differences_run_down_the_rows():
    g = np.zeros((1, 5, 4))
    g[0, :, 1] = [0, 1, 2, 3, 4]  # changes down the rows: (2)² for 3 pairs
    assert focus_measures(g, "brenner")["brenner"][0] == 12.0
    # across the rows: only row 1 (0, 1, 2, 3, 4) differs from row 3 (zeros)
    assert focus_measures(np.swapaxes(g, 1, 2), "brenner")["brenner"][0] == 0 + 1 + 4 + 9 + 16


def test_constant_slices_measure_zero():
    stack = np.full((3, 6, 6), 1000, np.uint16)
    stack[1] = 0
    values = focus_measures(stack)
    for name in FOCUS_MEASURES:
        np.testing.assert_array_equal(values[name], 0.0)
    assert best_focus(stack) == 0


def test_all_measures_in_the_order_asked():
    stack, _ = synthetic_focus_stack(slices=3)
    assert list(focus_measures(stack, ["spectral", "brenner"])) == ["spectral", "brenner"]
    assert list(focus_measures(stack)) == list(FOCUS_MEASURES)


@pytest.mark.parametrize("name", FOCUS_MEASURES)
def test_best_focus_finds_the_true_slice_at_low_noise(name):
    for best in (0, 6, 13, 20):
        stack, true_best = synthetic_focus_stack(slices=21, best=best, noise=1.0)
        assert best_focus(stack, name) == true_best == best


def test_given_image_and_negative_best():
    image = np.random.default_rng(0).integers(0, 4000, (40, 50)).astype(np.uint16)
    stack, best = synthetic_focus_stack(image, slices=9, best=-2, noise=0.0)
    assert best == 7 and stack.shape == (9, 40, 50)
    np.testing.assert_array_equal(stack[7], image.astype(np.float32))
    assert best_focus(stack, "laplacian_variance") == 7


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_any_axis(axis):
    stack, _ = synthetic_focus_stack(slices=7, best=2, noise=0.5)
    moved = np.moveaxis(stack, 0, axis)
    expected = focus_measures(stack)
    got = focus_measures(moved, axis=axis)
    for name in FOCUS_MEASURES:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6)
    assert best_focus(moved, axis=axis) == 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64, bool])
def test_dtypes(dtype):
    stack, _ = synthetic_focus_stack(slices=5, best=1, noise=0.5)
    data = (stack > 100) if dtype is bool else np.clip(stack, 0, 255).astype(dtype)
    expected = focus_measures(data.astype(np.float64))
    for name, values in focus_measures(data).items():
        np.testing.assert_allclose(values, expected[name], rtol=1e-4)


def test_negative_int16_values():
    stack = (np.random.default_rng(3).normal(0, 500, (3, 16, 16))).astype(np.int16)
    got = focus_measures(stack, "normalised_variance")["normalised_variance"]
    np.testing.assert_allclose(got, [normalised_variance(g) for g in stack], rtol=1e-5)
    assert (got >= 0).all()


def test_torch_and_dask_equal_numpy():
    da = pytest.importorskip("dask.array")
    stack, _ = synthetic_focus_stack(slices=6, best=3)
    expected = focus_measures(stack)
    lazy = da.from_array(stack, chunks=(2, -1, -1))
    for other in (torch.from_numpy(stack), lazy, np.moveaxis(stack, 0, 2)):
        axis = 2 if isinstance(other, np.ndarray) else 0
        got = focus_measures(other, axis=axis)
        for name in FOCUS_MEASURES:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-6)
    assert isinstance(lazy, da.Array)  # never computed whole in place of the caller


def test_the_input_is_not_modified():
    stack, _ = synthetic_focus_stack(slices=4)
    before = stack.copy()
    focus_measures(stack)
    np.testing.assert_array_equal(stack, before)


def test_chunks_report_progress(monkeypatch):
    from napari_nuclei_edges.focus import _measures

    monkeypatch.setattr(_measures, "CHUNK_PIXELS", 2 * 320 * 400)
    stack, _ = synthetic_focus_stack(slices=5)
    steps = iter_focus_measures(stack)
    done = []
    try:
        while True:
            done.append(next(steps))
    except StopIteration as end:
        values = end.value
    assert done == [2, 4, 5]
    np.testing.assert_allclose(values["brenner"], focus_measures(stack)["brenner"])
