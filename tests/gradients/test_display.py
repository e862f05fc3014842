"""The display helpers of the Sobel outputs, without Qt or napari."""

import numpy as np
import pytest

from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.gradients import (
    Gradients,
    available_devices,
    default_device,
    output_shape,
    sobel,
)
from napari_nuclei_edges.gradients.display import (
    COLORMAPS,
    NOISY,
    display_settings,
    gradient_arrows,
    magnitude_direction_rgb,
    noise_ratio,
    robust_limit,
    suggested_sigma,
)
from napari_nuclei_edges.gradients.pictures import MIN_STEP


@pytest.fixture(scope="module")
def metaphase():
    return sobel(synthetic_nuclei(n_per_class=3)["metaphase"])


def test_robust_limit_is_a_percentile_of_the_finite_absolute_values():
    values = np.array([[-10.0, 1.0, 2.0, 3.0, np.nan, np.inf, -np.inf]], np.float32)
    assert robust_limit(values, 100) == 10.0  # too thin to open: the plain percentile
    assert robust_limit(values, 50) == pytest.approx(2.5)
    assert robust_limit(np.full((3, 3), np.nan)) == 1.0  # nothing finite
    assert robust_limit(np.zeros((3, 3))) == 1.0  # a limit of 0 would be no range


def nucleus_with_hot_pixels(hot: int):
    """A bright disc on a dark background, and ``hot`` isolated saturated pixels."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:80, :80]
    image = np.where(np.hypot(yy - 40, xx - 40) < 20, 60.0, 10.0).astype(np.float32)
    spots = rng.choice(np.flatnonzero(np.hypot(yy - 40, xx - 40).ravel() > 25), hot, replace=False)
    image.ravel()[spots] = 255.0
    return image


@pytest.mark.parametrize("output", ["gx", "gy", "magnitude"])
def test_contrast_ignores_hot_pixels(output):
    clean = getattr(sobel(nucleus_with_hot_pixels(0)), output)
    for hot in (1, 40):  # 40 hot pixels: over 300 Sobel pixels, far above the top 0.5 %
        noisy = getattr(sobel(nucleus_with_hot_pixels(hot)), output)
        low, high = display_settings(output, noisy)["contrast_limits"]
        _, clean_high = display_settings(output, clean)["contrast_limits"]
        assert high == pytest.approx(clean_high, rel=0.1)  # the disc's edge sets the range
        assert low == (0.0 if output == "magnitude" else -high)
        assert np.abs(noisy).max() > 1.5 * high  # the hot pixels are what is clipped
    # a plain percentile of the stack would have followed the hot pixels
    assert np.percentile(np.abs(noisy), 99.5) > 1.3 * clean_high


def test_contrast_of_a_stack_comes_from_its_planes():
    planes = np.stack([nucleus_with_hot_pixels(0) * k for k in (1, 1, 1, 1, 30)])
    gx = sobel(planes).gx
    one = display_settings("gx", gx[0])["contrast_limits"][1]
    assert display_settings("gx", gx)["contrast_limits"][1] == pytest.approx(one)  # median
    assert display_settings("gx", gx, plane=4)["contrast_limits"][1] == pytest.approx(30 * one)


def test_robust_limit_reads_one_image_of_a_lazy_stack():
    da = pytest.importorskip("dask.array")
    stack = np.stack([np.full((4, 4), 2.0), np.full((4, 4), 100.0)])
    read = []

    def counted(block):
        read.append(block.shape)
        return block

    lazy = da.from_array(stack, chunks=(1, 4, 4)).map_blocks(counted, dtype=stack.dtype)
    read.clear()  # dask may call it on an empty block to learn the output type
    assert robust_limit(lazy) == 2.0  # the first image only
    assert read == [(1, 4, 4)]
    read.clear()
    assert robust_limit(lazy, plane=1) == 100.0 and read == [(1, 4, 4)]


def test_colormaps_follow_the_theme(metaphase):
    from napari.utils import Colormap

    for theme, zero in (("dark", [0, 0, 0, 1]), ("light", [1, 1, 1, 1])):
        gx = display_settings("gx", metaphase.gx, theme=theme)
        cmap = Colormap(**gx["colormap"])
        np.testing.assert_allclose(cmap.map(np.array([0.5]))[0], zero)  # zero: the canvas
        low, high = gx["contrast_limits"]
        assert low == -high > -np.abs(metaphase.gx).max()
        magnitude = Colormap(
            **display_settings("magnitude", metaphase.magnitude, theme=theme)["colormap"]
        )
        start = magnitude.map(np.array([0.0]))[0][:3]
        assert (start.mean() < 0.1) == (theme == "dark")  # no edge: the canvas colour
    direction = display_settings("direction", None)  # the data is not read
    assert direction == {"colormap": "twilight_shifted", "contrast_limits": (-np.pi, np.pi)}
    assert COLORMAPS["gy"] == COLORMAPS["gx"] == "diverging"
    with pytest.raises(ValueError, match="output must be one of"):
        display_settings("rgb", metaphase.gx)


def test_sigma_suggested_only_for_noisy_images():
    clean = nucleus_with_hot_pixels(0)
    noisy = clean + np.random.default_rng(1).normal(0, 25, clean.shape).astype(np.float32)
    assert noise_ratio(clean) < 0.01 and suggested_sigma(clean) is None
    assert noise_ratio(noisy) > NOISY and suggested_sigma(noisy) == 1.0
    stack = np.stack([clean, noisy, noisy])
    assert suggested_sigma(stack) == 1.0 and suggested_sigma(stack, plane=0) is None


def test_hot_pixels_or_a_tiny_image_are_not_noise():
    square = np.full((64, 64), 10.0, np.float32)
    square[16:48, 16:48] = 60.0
    square += np.random.default_rng(2).normal(0, 0.02, square.shape).astype(np.float32)
    hot = square.copy()
    hot[[5, 30, 50], [7, 40, 12]] = 1e6
    assert suggested_sigma(square) is None and suggested_sigma(hot) is None
    assert noise_ratio(hot) < 0.01
    assert suggested_sigma(np.arange(9.0).reshape(3, 3) % 2 * 100) is None
    noisy = square + np.random.default_rng(3).normal(0, 10, square.shape).astype(np.float32)
    assert suggested_sigma(noisy) == 1.0


def test_magnitude_direction_rgb_hue_follows_the_direction():
    yy, xx = np.mgrid[-10:11, -10:11].astype(np.float32)
    g = sobel(np.hypot(yy, xx), padding="valid")  # a cone: gradients point outwards
    rgb = magnitude_direction_rgb(g)
    assert rgb.shape == (19, 19, 3) and rgb.dtype == np.float32
    right, below = rgb[9, 15], rgb[15, 9]
    assert right[0] > 0.9 and right[1] < 0.1  # +x: hue 0, red
    assert below[1] > 0.4 and below[0] < 0.6  # +y (π/2): a quarter of the wheel, green-yellow
    dark = magnitude_direction_rgb(Gradients(*(np.zeros((4, 4), np.float32) for _ in range(4))))
    assert not dark.any()  # no gradient, no brightness (and no division by 0)


def test_magnitude_direction_rgb_equals_scikit_image_hsv2rgb():
    from skimage.color import hsv2rgb

    rng = np.random.default_rng(5)
    direction = rng.uniform(-np.pi, np.pi, (3, 40, 50)).astype(np.float32)
    direction[0, 0, :4] = [-np.pi, np.pi, 0.0, -0.0]  # the ends of the wheel, and zero
    magnitude = rng.uniform(0, 300, direction.shape).astype(np.float32)
    g = Gradients(magnitude, magnitude, magnitude, direction)
    hsv = np.stack(
        [(direction / (2 * np.pi)) % 1.0, np.ones_like(direction), np.clip(magnitude / 200, 0, 1)],
        axis=-1,
    )
    rgb = magnitude_direction_rgb(g, scale=200.0)
    assert rgb.dtype == np.float32 and rgb.shape == (3, 40, 50, 3)
    np.testing.assert_allclose(rgb, hsv2rgb(hsv), atol=2e-6)


def test_gradient_arrows_on_a_ramp():
    ramp = np.tile(np.arange(40.0), (40, 1))  # brighter to the right: every arrow along +x
    arrows = gradient_arrows(sobel(ramp), max_vectors=100)
    step = 4  # 40 × 40 pixels / 100 arrows: one per 4 × 4
    assert arrows.dtype == np.float32 and arrows.shape == (100, 2, 2)
    positions, extents = arrows[:, 0], arrows[:, 1]
    assert set(positions[:, 0]) == set(positions[:, 1]) == set(range(step // 2, 40, step))
    interior = (positions > 1).all(1) & (positions < 38).all(1)  # reflect zeroes the border Gx
    np.testing.assert_array_equal(extents[interior], [[0.0, step]] * interior.sum())


def test_gradient_arrows_cover_every_image_of_a_stack(metaphase):
    arrows = gradient_arrows(metaphase, max_vectors=300)
    assert arrows.shape[1:] == (2, 3)
    assert set(arrows[:, 0, 0]) == {0.0, 1.0, 2.0} and not arrows[:, 1, 0].any()
    step = max(MIN_STEP, int(np.ceil(np.sqrt(3 * 80 * 80 / 300))))
    assert np.hypot(arrows[:, 1, 1], arrows[:, 1, 2]).max() == pytest.approx(step)
    assert len(arrows) <= 3 * int(np.ceil(80 / step)) ** 2
    flat = Gradients(*(np.zeros((2, 8, 8), np.float32) for _ in range(4)))
    assert not gradient_arrows(flat)[:, 1].any()  # no gradient: zero-length arrows
    assert len(gradient_arrows(flat, min_fraction=0.2)) == 0  # and none where there is no edge


def test_a_hot_pixel_does_not_shrink_the_other_arrows():
    image = nucleus_with_hot_pixels(0)
    clean = gradient_arrows(sobel(image), max_vectors=400)
    image[2, 2] = 1e6  # one far-out pixel, near a grid point
    arrows = gradient_arrows(sobel(image), max_vectors=400)
    lengths = np.hypot(*arrows[:, 1].T)
    assert lengths.max() == pytest.approx(MIN_STEP)  # none longer than a step
    np.testing.assert_allclose(np.hypot(*arrows[10:, 1].T), np.hypot(*clean[10:, 1].T), rtol=0.1)
    edges = gradient_arrows(sobel(image), max_vectors=400, min_fraction=0.2)
    assert 0 < len(edges) < len(arrows) / 3  # only on the disc's edge (and the hot pixel)
    unit = gradient_arrows(sobel(image), max_vectors=400, min_fraction=0.2, unit=True)
    np.testing.assert_array_equal(unit[:, 0], edges[:, 0])  # the same places
    np.testing.assert_allclose(np.hypot(*unit[:, 1].T), 0.9 * MIN_STEP, rtol=1e-5)


def test_output_shape():
    assert output_shape((2, 3, 10, 12), "valid") == (2, 3, 8, 10)
    for padding in ("reflect", "zeros", "replicate"):
        assert output_shape((10, 12), padding) == (10, 12)
    assert sobel(np.ones((7, 9)), padding="valid").gx.shape == output_shape((7, 9), "valid")
    with pytest.raises(ValueError, match="padding must be one of"):
        output_shape((4, 4), "wrap")


def test_devices():
    devices = available_devices()
    assert devices[:2] == ["auto", "cpu"] and set(devices) <= {"auto", "cpu", "cuda", "mps"}
    assert default_device() in devices
