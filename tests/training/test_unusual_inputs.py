"""Inputs a file can hold that once raised raw library errors: big-endian and denormal images."""

import numpy as np
import pytest

from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.training import fit_kernel, least_squares_kernel


@pytest.fixture(scope="module")
def images():
    return synthetic_nuclei(n_per_class=3, size=32)["metaphase"].astype(np.float32)


@pytest.mark.parametrize("dtype", [">f4", ">u2", ">f8"])
def test_big_endian_inputs_learn_what_native_ones_do(images, dtype):
    big = images.astype(dtype)  # what a FITS or a big-endian TIFF gives
    native = big.astype(big.dtype.newbyteorder("="))
    np.testing.assert_allclose(least_squares_kernel(big, "gx"), least_squares_kernel(native, "gx"))
    *_, last = fit_kernel(big, "gx", steps=5)
    *_, reference = fit_kernel(native, "gx", steps=5)
    np.testing.assert_allclose(last.weight, reference.weight)


def test_big_endian_image_targets_too(images):
    from napari_nuclei_edges.gradients import sobel

    targets = np.asarray(sobel(images).gx).astype(">f4")
    np.testing.assert_allclose(
        least_squares_kernel(images, targets), least_squares_kernel(images, "gx"), atol=1e-5
    )


@pytest.mark.parametrize(("dtype", "scale"), [(np.float32, 1e-43), (np.float64, 1e-310)])
def test_denormal_images_learn_sobel(images, dtype, scale):
    tiny = (images.astype(np.float64) * scale).astype(dtype)
    kernel = least_squares_kernel(tiny, "gx")
    assert np.isfinite(kernel).all()
    *_, last = fit_kernel(tiny, "gx", steps=20)
    assert np.isfinite(last.loss)
