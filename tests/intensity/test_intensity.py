import numpy as np
import pytest
import skimage.filters

from napari_nuclei_edges.data import CLASS_NAMES
from napari_nuclei_edges.intensity import THRESHOLD_METHODS, auto_threshold, class_histograms


@pytest.fixture(scope="module", params=["synthetic", "reference"])
def classes(request):
    """``(source, stacks)``: the reference data, and its synthetic twin so that a machine
    without the reference file still tests every property that holds on both."""
    if request.param == "synthetic":
        from napari_nuclei_edges.synthetic import synthetic_nuclei

        return "synthetic", synthetic_nuclei()
    with np.load(request.getfixturevalue("reference_path")) as npz:
        return "reference", {name: npz[name] for name in CLASS_NAMES}


def test_histograms_of_reference_data(classes):
    source, reference = classes
    h = class_histograms(reference)
    assert h.unit_bins
    assert h.names == list(CLASS_NAMES)
    np.testing.assert_array_equal(h.centers, np.arange(256))
    for name, stack in reference.items():
        np.testing.assert_array_equal(h.counts[name], np.bincount(stack.ravel(), minlength=256))
        stats = h.statistics[name]
        assert stats.count == stack.size == 50 * 80 * 80
        assert stats.mean == pytest.approx(stack.mean())
        assert stats.std == pytest.approx(stack.std())
        assert stats.median == np.median(stack)
        assert (stats.p01, stats.p99) == tuple(np.percentile(stack, [1, 99]))
    if source == "reference":
        # systematic differences between classes: interphase is the brightest overall
        means = {name: s.mean for name, s in h.statistics.items()}
        assert max(means, key=means.get) == "interphase"


def test_separability(classes):
    _, reference = classes
    h = class_histograms(reference)
    same = h.separability("metaphase", "metaphase")
    assert same == {"auc": pytest.approx(0.5), "overlap": pytest.approx(1.0)}
    a, b = reference["metaphase"].ravel(), reference["interphase"].ravel()
    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, a.size, 200_000), rng.integers(0, b.size, 200_000)
    sampled = np.mean(b[ib] > a[ia]) + 0.5 * np.mean(b[ib] == a[ia])
    assert h.separability("metaphase", "interphase")["auc"] == pytest.approx(sampled, abs=0.01)
    matrix = h.separability_matrix()
    np.testing.assert_allclose(matrix + matrix.T, 1.0)


def test_disjoint_classes_separate_perfectly():
    h = class_histograms({"dark": np.full(10, 3, np.uint8), "bright": np.full(10, 9, np.uint8)})
    assert h.separability("dark", "bright") == {"auc": 1.0, "overlap": 0.0}


def test_fraction_above_threshold():
    h = class_histograms({"x": np.arange(100, dtype=np.uint8)}, threshold=89)
    assert h.statistics["x"].fraction_above == pytest.approx(0.10)


def test_float_with_nan_and_inf_are_counted_not_binned():
    x = np.array([0.0, 0.5, 1.0, np.nan, np.inf, -np.inf], np.float32)
    h = class_histograms({"x": x}, bins=4)
    assert not h.unit_bins
    assert h.counts["x"].tolist() == [1, 0, 1, 1]
    assert h.statistics["x"].nonfinite == 3
    assert h.statistics["x"].count == 3
    assert (h.edges[0], h.edges[-1]) == (0.0, 1.0)


def test_integer_images_get_one_bin_per_value_and_only_int32_spans_get_256_bins():
    x = np.array([-1000, 0, 3000], np.int16)
    h = class_histograms({"x": x})
    assert h.unit_bins and h.edges.size == 4002
    assert h.counts["x"].sum() == 3 and h.counts["x"][[0, 1000, 4000]].tolist() == [1, 1, 1]
    assert h.statistics["x"].minimum == -1000
    huge = class_histograms({"x": np.array([0, 70_000, 1_000_000], np.int32)})
    assert not huge.unit_bins and huge.edges.size == 257
    narrow = class_histograms({"x": np.array([-3, -1, 2], np.int16)})
    assert narrow.unit_bins and narrow.centers.tolist() == [-3, -2, -1, 0, 1, 2]


def test_bad_input():
    with pytest.raises(TypeError, match="complex"):
        class_histograms({"c": np.ones(3, complex)})
    with pytest.raises(ValueError, match="at least one"):
        class_histograms({})
    h = class_histograms({"all_nan": np.full(4, np.nan)})
    assert h.statistics["all_nan"].count == 0 and h.statistics["all_nan"].nonfinite == 4


@pytest.mark.parametrize("method", THRESHOLD_METHODS)
def test_auto_threshold_equals_scikit_image(classes, method):
    _, reference = classes
    _agrees_with_scikit_image(reference, np.concatenate(list(reference.values())), method)
    one = reference["metaphase"][0]
    _agrees_with_scikit_image(one, one, method)


def _agrees_with_scikit_image(data, pixels, method):
    try:
        expected = getattr(skimage.filters, f"threshold_{method}")(pixels)
    except RuntimeError:  # e.g. minimum on a histogram without two peaks: a sentence here
        with pytest.raises(ValueError, match=method):
            auto_threshold(data, method)
    else:
        assert auto_threshold(data, method) == pytest.approx(expected)


def test_auto_threshold_from_histograms(classes):
    source, reference = classes
    h = class_histograms(reference)
    assert auto_threshold(h, "otsu") == auto_threshold(reference, "otsu")
    if source == "reference":
        assert auto_threshold(h, "otsu") == 77
    with pytest.raises(ValueError, match="needs the pixels"):
        auto_threshold(h, "li")


def test_auto_threshold_bad_input():
    with pytest.raises(ValueError, match="unknown threshold method"):
        auto_threshold(np.arange(10), "magic")
    with pytest.raises(ValueError, match="constant"):
        auto_threshold(np.full((4, 4), 7, np.uint8))
    with pytest.raises(ValueError, match="no finite"):
        auto_threshold(np.full(3, np.nan))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_block_by_block_histograms_equal_the_in_memory_ones(dtype):
    da = pytest.importorskip("dask.array")
    from napari_nuclei_edges.intensity import iter_class_histograms

    rng = np.random.default_rng(4)
    stacks = {
        "a": (rng.random((7, 2, 20, 30)) * 900).astype(dtype),
        "b": (rng.random((5, 20, 30)) * 300).astype(dtype),
    }
    lazy = {name: da.from_array(array, chunks=(1,) * (array.ndim - 2) + (20, 30))
            for name, array in stacks.items()}  # fmt: skip
    steps = iter_class_histograms(lazy, threshold=250.0, block=3)
    progress = []
    with pytest.raises(StopIteration) as end:
        while True:
            progress.append(next(steps))
    streamed = end.value.value
    expected = class_histograms(stacks, threshold=250.0)
    assert progress[-1][0] == progress[-1][1] == len(progress)
    np.testing.assert_array_equal(streamed.edges, expected.edges)
    for name in stacks:
        np.testing.assert_array_equal(streamed.counts[name], expected.counts[name])
        got, want = streamed.statistics[name], expected.statistics[name]
        assert (got.count, got.minimum, got.maximum) == (want.count, want.minimum, want.maximum)
        # lazy floats: the median from the histogram, within a bin; in memory: exact
        bin_width = float(np.diff(expected.edges)[0]) if dtype == np.float32 else 0.0
        assert got.median == pytest.approx(want.median, abs=bin_width)
        assert got.fraction_above == want.fraction_above
        assert got.mean == pytest.approx(want.mean, rel=1e-6)
        assert got.std == pytest.approx(want.std, rel=1e-5)
