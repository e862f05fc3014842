"""The crowded field: the stand-in for a user's own image."""

import numpy as np
import pytest

from napari_nuclei_edges.data import synthetic_field


def test_a_12_bit_field_with_one_id_per_nucleus():
    image, labels = synthetic_field()
    assert image.shape == labels.shape == (512, 512)
    assert image.dtype == np.uint16 and labels.dtype == np.int32
    assert image.min() >= 0 and image.max() <= 4095 and image.max() > 2000  # 12-bit, used
    ids = np.unique(labels)
    assert ids.tolist() == list(range(121))  # 120 nuclei, ids 1..120, background 0
    areas = np.bincount(labels.ravel())[1:]
    assert areas.min() > 60 and areas.max() / areas.min() > 3  # several sizes
    inside = [image[labels == i].mean() for i in range(1, 121)]
    assert max(inside) / min(inside) > 2  # several brightnesses


def test_many_nuclei_touch():
    _, labels = synthetic_field()
    pairs = set()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        meet = (a != b) & (a > 0) & (b > 0)
        pairs |= {tuple(sorted(p)) for p in zip(a[meet].tolist(), b[meet].tolist(), strict=True)}
    assert len(pairs) >= 40


def test_the_background_is_uneven_and_noisy():
    image, labels = synthetic_field()
    background = np.where(labels == 0, image.astype(float), np.nan)
    quarters = [np.nanmedian(q) for half in np.array_split(background, 2)
                for q in np.array_split(half, 2, axis=1)]  # fmt: skip
    assert max(quarters) - min(quarters) > 40  # uneven
    assert np.nanstd(background[:64, :64]) > 10  # noisy


def test_the_same_seed_gives_the_same_field_and_sizes_scale():
    a, la = synthetic_field(size=128, n_nuclei=10, seed=3)
    b, lb = synthetic_field(size=128, n_nuclei=10, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, synthetic_field(size=128, n_nuclei=10, seed=4)[0])
    _, large = synthetic_field(size=1024, n_nuclei=480)
    assert large.max() == 480  # the same nuclei's size, four times the area


def test_bad_sizes_get_a_sentence():
    with pytest.raises(ValueError, match="at least 64"):
        synthetic_field(size=10)
    with pytest.raises(ValueError, match="0 or more"):
        synthetic_field(n_nuclei=-1)
