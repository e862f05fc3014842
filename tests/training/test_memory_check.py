"""fit_kernel and fit_classifier say, before any work, when a run would not fit in memory."""

import numpy as np
import pytest

from napari_nuclei_edges import data as data_module
from napari_nuclei_edges.classification import fit_classifier
from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.training import _data, _moments, fit_kernel, least_squares_kernel

GIB = 1 << 30


@pytest.fixture
def laptop(monkeypatch):
    """16 GiB free, and any work started before the check fails the test."""
    monkeypatch.setattr(data_module, "available_memory", lambda: 16 * GIB)

    def started(*args, **kwargs):
        raise AssertionError("the work started before the memory check")

    monkeypatch.setattr(_data, "_pairs", started)
    return started


def test_a_20000_square_image_is_refused_at_once_with_the_sizes(laptop):
    huge = np.broadcast_to(np.uint8(7), (1, 20000, 20000))  # the shape is all it reads
    with pytest.raises(ValueError) as refused:
        next(fit_kernel(huge, "gx"))  # once 75 s, then torch asking for 28.8 GB
    assert str(refused.value) == (
        "Training on 1 image of 20000 × 20000 needs about 26.8 GiB of memory and 16.0 GiB "
        "is free: crop the images or train on fewer (a region of a large image teaches the "
        "same kernel), or close other programs."
    )
    with pytest.raises(ValueError, match=r"needs about 26\.8 GiB"):
        least_squares_kernel(huge, "gx")
    with pytest.raises(ValueError, match=r"needs about \d+\.\d GiB"):  # the CNN needs more
        next(fit_kernel(huge, "magnitude", model="cnn"))


def test_a_run_that_fits_is_not_refused(monkeypatch):
    monkeypatch.setattr(data_module, "available_memory", lambda: 16 * GIB)
    images = synthetic_nuclei(n_per_class=3)["metaphase"]
    *_, last = fit_kernel(images, "gx", steps=5)
    assert np.isfinite(last.loss)


def test_the_classifier_is_refused_before_measuring(monkeypatch):
    monkeypatch.setattr(data_module, "available_memory", lambda: 64 << 20)
    from napari_nuclei_edges.classification import _data as classifier_data

    def measured(*args, **kwargs):
        raise AssertionError("measured before the memory check")

    monkeypatch.setattr(classifier_data, "measured", measured)
    big = np.broadcast_to(np.uint8(3), (4, 2000, 2000))
    with pytest.raises(ValueError, match=r"Training on 8 images of 2000 × 2000 needs about "
                                         r"1\.2 GiB of memory and 64\.0 MiB is free: crop "
                                         r"each nucleus"):  # fmt: skip
        next(fit_classifier({"a": big, "b": big}))


def test_a_large_image_s_moments_in_bands_equal_the_whole_ones(monkeypatch):
    rng = np.random.default_rng(0)
    image = rng.random((1, 300, 257)) * 255
    monkeypatch.setattr(_moments, "CHUNK_PIXELS", 1 << 30)  # one unfold of the whole image
    whole = least_squares_kernel(image, "gx", kernel_size=5)
    monkeypatch.setattr(_moments, "CHUNK_PIXELS", 25 * 257 * 3)  # bands of three rows
    np.testing.assert_allclose(least_squares_kernel(image, "gx", kernel_size=5), whole,
                               rtol=1e-9, atol=1e-12)  # fmt: skip
