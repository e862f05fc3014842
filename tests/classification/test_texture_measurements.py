"""measure's intensity distribution, shape moments and texture: values on constructed
objects, and scikit-image's / scipy's definitions object by object."""

import numpy as np
import pytest

from napari_nuclei_edges.classification import FEATURES, MODEL_FEATURES, measure
from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
from napari_nuclei_edges.segmentation import segment_nuclei

NEW = ("intensity_p10", "intensity_median", "intensity_p90", "intensity_skewness",
       "intensity_kurtosis", "bright_fraction", "mass_displacement", "circularity", "extent",
       *(f"moments_hu_{i}" for i in range(7)), "glcm_contrast", "glcm_homogeneity",
       "glcm_energy", "glcm_correlation", "granularity")  # fmt: skip


def _square(values, shape=(30, 30), corner=(10, 10)):
    """An image holding ``values`` (2D) at ``corner``, 0 around, and its label."""
    image = np.zeros(shape)
    labels = np.zeros(shape, np.int32)
    h, w = np.shape(values)
    image[corner[0] : corner[0] + h, corner[1] : corner[1] + w] = values
    labels[corner[0] : corner[0] + h, corner[1] : corner[1] + w] = 1
    return image, labels


def _one(image, labels) -> dict:
    table = measure(image, labels)
    assert len(table["label"]) == 1
    return {key: float(value[0]) for key, value in table.items()}


def test_the_new_measurements_are_columns_and_the_model_reads_all_but_position():
    assert set(NEW) <= set(FEATURES)
    position = {"orientation", "distance_to_centre", "centroid_y", "centroid_x"}
    assert set(MODEL_FEATURES) == set(FEATURES) - position - {"intensity_integrated"}


def test_intensity_distribution_of_values_0_to_99():
    row = _one(*_square(np.arange(100.0).reshape(10, 10)))
    assert row["intensity_p10"] == pytest.approx(9.9)  # numpy's linear percentile
    assert row["intensity_median"] == pytest.approx(49.5)
    assert row["intensity_p90"] == pytest.approx(89.1)
    assert row["intensity_skewness"] == pytest.approx(0, abs=1e-12)  # symmetric
    # a discrete uniform distribution of n values: excess kurtosis -6 (n² + 1) / (5 (n² - 1))
    assert row["intensity_kurtosis"] == pytest.approx(-6 * 10001 / (5 * 9999))
    # above mean + std = 49.5 + sqrt(9999 / 12) = 78.4: the values 79 to 99
    assert row["bright_fraction"] == pytest.approx(0.21)


def test_one_bright_spot_is_skewed_heavy_tailed_and_a_small_bright_fraction():
    values = np.full((10, 10), 50.0)
    values[3, 4] = 250.0  # condensed chromatin in one pixel
    row = _one(*_square(values))
    p = 0.01  # a two-valued distribution, share p at the high value: its excess kurtosis
    assert row["intensity_skewness"] == pytest.approx((1 - 2 * p) / np.sqrt(p * (1 - p)))
    assert row["intensity_kurtosis"] == pytest.approx((1 - 6 * p * (1 - p)) / (p * (1 - p)))
    assert row["bright_fraction"] == pytest.approx(p)
    assert row["intensity_median"] == 50 and row["intensity_p90"] == 50


def test_an_even_object_has_no_mass_displacement_a_lopsided_one_has():
    assert _one(*_square(np.full((10, 10), 7.0)))["mass_displacement"] == pytest.approx(0)
    values = np.ones((10, 10))
    values[:, 5:] = 3  # the right half three times brighter
    # weighted column mean (1·(0+…+4) + 3·(5+…+9)) / 20 = 5.75 against 4.5, over sqrt(100 / pi)
    expected = 1.25 / np.sqrt(100 / np.pi)
    assert _one(*_square(values))["mass_displacement"] == pytest.approx(expected)


def test_extent_and_circularity_of_a_square_and_an_l():
    square = _one(*_square(np.ones((10, 10))))
    assert square["extent"] == 1
    # skimage's perimeter of a 10 × 10 square is 36
    assert square["circularity"] == pytest.approx(4 * np.pi * 100 / 36**2)
    image = np.zeros((30, 30))
    image[5:20, 5:8] = 1  # an L: 45 + 36 pixels in a 15 × 15 box
    image[17:20, 8:20] = 1
    row = _one(image, image.astype(np.int32))
    assert row["extent"] == pytest.approx(81 / 225)
    assert row["circularity"] < square["circularity"] / 2


def test_hu_moments_of_a_rectangle():
    """A 4 × 10 rectangle: nu20 = (h² - 1) / (12 h w) along the rows, nu02 = (w² - 1) / (12 h w),
    nu11 = 0 and no third moments (it is centrally symmetric)."""
    row = _one(*_square(np.ones((4, 10))))
    nu20, nu02 = 15 / 480, 99 / 480
    assert row["moments_hu_0"] == pytest.approx(nu20 + nu02)
    assert row["moments_hu_1"] == pytest.approx((nu20 - nu02) ** 2)
    for i in range(2, 7):
        assert row[f"moments_hu_{i}"] == pytest.approx(0, abs=1e-15)
    turned = _one(*_square(np.ones((10, 4))))  # invariant to a quarter turn
    for i in range(7):
        assert turned[f"moments_hu_{i}"] == pytest.approx(row[f"moments_hu_{i}"], abs=1e-15)


def test_glcm_of_vertical_stripes():
    """Columns alternating 10 and 200 (levels 0 and 7): every horizontal and diagonal pair
    differs by 7 levels, every vertical pair is equal."""
    values = np.tile([10.0, 200.0], (10, 5))
    row = _one(*_square(values))
    assert row["glcm_contrast"] == pytest.approx((49 + 49 + 0 + 49) / 4)
    assert row["glcm_homogeneity"] == pytest.approx((1 / 50 + 1 / 50 + 1 + 1 / 50) / 4)
    assert row["glcm_energy"] == pytest.approx(np.sqrt(0.5))  # two cells of 1/2 each way
    assert row["glcm_correlation"] == pytest.approx((-1 - 1 + 1 - 1) / 4)
    flat = _one(*_square(np.full((10, 10), 80.0)))  # one level: no contrast, no variance
    assert (flat["glcm_contrast"], flat["glcm_homogeneity"], flat["glcm_energy"],
            flat["glcm_correlation"]) == (0, 1, 1, 1)  # fmt: skip


def test_granularity_of_a_flat_image_and_of_stripes_of_known_period():
    image = np.full((80, 80), 120.0)
    labels = np.zeros((80, 80), np.int32)
    labels[20:60, 20:60] = 1
    assert _one(image, labels)["granularity"] == pytest.approx(0, abs=1e-6)
    # a sine of period P: each Gaussian keeps exp(-2 pi² sigma² / P²) of its amplitude
    period, amplitude, offset = 16, 50.0, 100.0
    cols = np.arange(200)
    image = offset + amplitude * np.sin(2 * np.pi * cols / period)[None, :].repeat(200, 0)
    labels = np.zeros((200, 200), np.int32)
    labels[60:140, 52:148] = 1  # six whole periods, far from the edges
    kept = [np.exp(-2 * np.pi**2 * s**2 / period**2) for s in (2, 4)]
    expected = amplitude * (kept[0] - kept[1]) / np.sqrt(2) / offset  # the band's std / mean
    assert _one(image, labels)["granularity"] == pytest.approx(expected, rel=0.01)


# --- object by object against scikit-image and scipy --------------------------------------


def _reference_row(image, mask) -> dict:
    from scipy import stats
    from skimage.feature import graycomatrix, graycoprops
    from skimage.filters import difference_of_gaussians
    from skimage.measure import regionprops

    v = image[mask].astype(float)
    rp = regionprops(mask.astype(np.uint8), intensity_image=image.astype(float))[0]
    row = dict(zip(("intensity_p10", "intensity_median", "intensity_p90"),
                   np.percentile(v, [10, 50, 90]), strict=True))  # fmt: skip
    with np.errstate(all="ignore"):
        row["intensity_skewness"] = stats.skew(v)
        row["intensity_kurtosis"] = stats.kurtosis(v)
        displacement = np.subtract(rp.centroid_weighted, rp.centroid)
        row["mass_displacement"] = np.hypot(*displacement) / np.sqrt(rp.area / np.pi)
        row["circularity"] = 4 * np.pi * rp.area / rp.perimeter**2 if rp.perimeter else np.nan
    row["bright_fraction"] = np.mean(v > v.mean() + v.std())
    row["extent"] = rp.extent
    row.update((f"moments_hu_{i}", value) for i, value in enumerate(rp.moments_hu))
    levels = np.zeros(image.shape, np.uint8)  # 0 outside the object: left out below
    span = v.max() - v.min()
    if span > 0:
        levels[mask] = 1 + np.minimum((v - v.min()) / span * 8, 7).astype(np.uint8)
    else:
        levels[mask] = 1
    glcm = graycomatrix(levels, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=9,
                        symmetric=True)[1:, 1:]  # fmt: skip
    angles = glcm.sum(axis=(0, 1))[0] > 0  # angles with a pair inside the object
    for name in ("contrast", "homogeneity", "energy", "correlation"):
        values = graycoprops(glcm, name)[0][angles]
        row[f"glcm_{name}"] = values.mean() if len(values) else np.nan
    band = difference_of_gaussians(image.astype(float), 2, 4, truncate=3)  # mode "nearest"
    with np.errstate(all="ignore"):
        row["granularity"] = band[mask].std() / v.mean()
    return row


def _assert_equal_to_reference(images, labels):
    table = measure(images, labels)
    rows = [_reference_row(images[i], labels[i] == label)
            for i, label in zip(table["image"], table["label"], strict=True)]  # fmt: skip
    for key in NEW:
        want = np.array([row[key] for row in rows], float)
        # the granularity is filtered in float32; the highest Hu moments are differences
        # of products (cancellation): an absolute tolerance far below their spread
        rtol = 1e-4 if key == "granularity" else 1e-7
        np.testing.assert_allclose(table[key], want, rtol=rtol, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("kind", ["uint8", "uint16", "float32"])
def test_the_new_measurements_equal_skimage_and_scipy(kind):
    stack = np.concatenate(list(synthetic_nuclei(n_per_class=3, seed=3).values()))
    stack = {"uint8": stack, "uint16": stack.astype(np.uint16) * 250 + 17,
             "float32": (stack / 255).astype(np.float32)}[kind]  # fmt: skip
    _assert_equal_to_reference(stack, segment_nuclei(stack))


def test_the_new_measurements_of_scattered_labels_equal_skimage_and_scipy():
    rng = np.random.default_rng(7)  # objects in pieces, single pixels, lines
    labels = rng.integers(0, 4, (3, 25, 30)) * (rng.random((3, 25, 30)) < 0.4)
    _assert_equal_to_reference(rng.random(labels.shape) * 1000, labels)


def test_the_new_measurements_equal_skimage_on_the_reference_data(reference_path):
    data = load_dataset(reference_path)
    stack = np.concatenate([stack[::5] for stack in data.values()])  # 50 images
    _assert_equal_to_reference(stack, segment_nuclei(stack, keep_centre=True))


def test_an_images_row_is_the_same_alone_and_in_any_stack_filtered_in_any_chunks(monkeypatch):
    from napari_nuclei_edges.classification import _region_extra

    stack = np.concatenate(list(synthetic_nuclei(n_per_class=2, seed=8).values()))
    whole = measure(stack)
    for i in (0, 4, 9):
        alone = measure(stack[i])
        for key in FEATURES:
            np.testing.assert_array_equal(alone[key], whole[key][i : i + 1], err_msg=key)
    # the granularity's boxes a few images at a time, or each image in strips of a few rows
    for chunk in (20_000, 2_000):
        monkeypatch.setattr(_region_extra, "_CHUNK", chunk)
        np.testing.assert_array_equal(measure(stack)["granularity"], whole["granularity"])
