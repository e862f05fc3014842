"""Applying a learned kernel to images: no Qt, no napari."""

import numpy as np
import pytest
from scipy import ndimage

from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
from napari_nuclei_edges.training import apply_kernel, fit_kernel
from napari_nuclei_edges.training.apply import padding_mode

PAIR = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]


@pytest.fixture(scope="module")
def images():
    return synthetic_nuclei(n_per_class=3)["metaphase"]


def test_the_sobel_kernel_gives_sobel_gx_away_from_the_border(images):
    out = apply_kernel(images, SOBEL_X.numpy()[None, None])
    expected = sobel(images.astype(np.float32)).gx
    assert out.shape == images.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], atol=1e-3)
    # reflected borders, like scipy's "mirror"
    mirrored = np.stack([ndimage.sobel(i.astype(np.float64), -1, mode="mirror") for i in images])
    np.testing.assert_allclose(out, mirrored, atol=1e-3)


def test_the_gradient_pair_gives_the_magnitude(images):
    out = apply_kernel(images, PAIR, model="gradient_pair")
    assert out.shape == images.shape
    expected = sobel(images.astype(np.float32)).magnitude
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], rtol=1e-5, atol=1e-3)


def test_a_2d_image_gives_a_2d_result_and_two_kernels_two_channels(images):
    image = images[0]
    assert apply_kernel(image, SOBEL_X.numpy()).shape == image.shape
    assert apply_kernel(image, PAIR).shape == (2, *image.shape)
    assert apply_kernel(images, PAIR).shape == (len(images), 2, *image.shape)


def test_the_bias_is_added(images):
    plain = apply_kernel(images, PAIR)
    shifted = apply_kernel(images, PAIR, bias=[5.0, -1.0])
    np.testing.assert_allclose(shifted[:, 0] - plain[:, 0], 5.0, atol=1e-3)
    np.testing.assert_allclose(shifted[:, 1] - plain[:, 1], -1.0, atol=1e-3)


def test_images_smaller_than_the_radius_repeat_their_edge():
    assert padding_mode((40, 40), 5) == "reflect"
    assert padding_mode((2, 9), 5) == "replicate"
    tiny = np.arange(4.0).reshape(2, 2)
    box = np.ones((5, 5)) / 25
    out = apply_kernel(tiny, box)
    assert out.shape == (2, 2) and np.isfinite(out).all()


def test_a_learned_kernel_filters_like_the_one_it_learned(images):
    *_, final = fit_kernel(images, "gx", optimiser="lbfgs", steps=100)
    out = apply_kernel(images, final.weight, final.bias)
    expected = apply_kernel(images, SOBEL_X.numpy())
    np.testing.assert_allclose(out, expected, atol=1e-3 * np.abs(expected).max())


def test_the_input_is_not_modified(images):
    before = images.copy()
    apply_kernel(images, PAIR, bias=[1.0, 2.0], model="gradient_pair")
    assert np.array_equal(images, before)


@pytest.mark.parametrize(
    ("images", "kernel", "options", "error", "words"),
    [
        (np.ones((8, 8)), np.ones((4, 1, 3, 3)), {"model": "cnn"}, ValueError,
         "single-layer models"),
        (np.ones((8, 8)), np.ones((3, 3)), {"model": "mlp"}, ValueError, "model must be"),
        (np.ones((8, 8)), np.ones((4, 4)), {}, ValueError, "k odd"),
        (np.ones((8, 8)), np.ones((1, 2, 3, 3)), {}, ValueError, "input channels"),
        (np.ones((8, 8)), np.ones((1, 1, 3, 3)), {"model": "gradient_pair"}, ValueError,
         "two kernels"),
        (np.ones((8, 8)), np.ones((2, 1, 3, 3)), {"bias": [1.0]}, ValueError, "bias holds 1"),
        (np.ones((2, 2, 8, 8)), np.ones((3, 3)), {}, ValueError, "stack"),
        (np.ones((8, 8), complex), np.ones((3, 3)), {}, TypeError, "real numbers"),
    ],
)  # fmt: skip
def test_what_cannot_be_applied_gets_a_sentence(images, kernel, options, error, words):
    with pytest.raises(error, match=words):
        apply_kernel(images, kernel, **options)
