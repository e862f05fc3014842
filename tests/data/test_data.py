import numpy as np
import pytest
import tifffile
from imageio import v3 as iio
from scipy import ndimage
from skimage.filters import threshold_otsu

from napari_nuclei_edges.data import CLASS_NAMES, load_dataset, synthetic_nuclei


def test_class_names():
    assert CLASS_NAMES == ("interphase", "prometaphase", "metaphase", "anaphase", "apoptosis")


# ----------------------------------------------------------------- the reference file


def test_load_reference_npz(reference_path):
    stacks = load_dataset(reference_path)
    assert tuple(stacks) == CLASS_NAMES
    for stack in stacks.values():
        assert stack.shape == (50, 80, 80)
        assert stack.dtype == np.uint8
    # the file's own key order differs; values must still belong to their class
    with np.load(reference_path) as raw:
        for name in CLASS_NAMES:
            np.testing.assert_array_equal(stacks[name], raw[name])


def test_load_a_reference_like_npz(tmp_path):
    """The reference test's synthetic twin: five class stacks saved in another key order."""
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    images = synthetic_nuclei(n_per_class=7)
    path = tmp_path / "twin.npz"
    np.savez_compressed(path, **dict(reversed(list(images.items()))))
    stacks = load_dataset(path)
    assert tuple(stacks) == CLASS_NAMES
    for name in CLASS_NAMES:
        assert stacks[name].shape == (7, 80, 80) and stacks[name].dtype == np.uint8
        np.testing.assert_array_equal(stacks[name], images[name])


def test_load_npz_orders_known_classes_first(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {n: rng.integers(0, 255, (2, 8, 8), dtype=np.uint8) for n in ("zeta", "metaphase")}
    arrays["alpha"] = rng.integers(0, 255, (8, 8), dtype=np.uint8)  # one 2D image
    path = tmp_path / "set.npz"
    np.savez(path, **arrays)
    stacks = load_dataset(str(path))
    assert list(stacks) == ["metaphase", "alpha", "zeta"]
    assert stacks["alpha"].shape == (1, 8, 8)


# ----------------------------------------------------------------- class folders


def _write_class_folders(root, rng):
    expected = {}
    for name, suffix in (("metaphase", ".png"), ("interphase", ".tif"), ("mitochondria", ".tiff")):
        folder = root / name
        folder.mkdir()
        images = rng.integers(0, 255, (3, 12, 10), dtype=np.uint8)
        # written out of order: reading must sort by file name
        for index in (2, 0, 1):
            file = folder / f"img_{index:02d}{suffix}"
            if suffix == ".png":
                iio.imwrite(file, images[index])
            else:
                tifffile.imwrite(file, images[index])
        (folder / "notes.txt").write_text("not an image")
        expected[name] = images
    (root / ".hidden").mkdir()
    return expected


def test_load_class_folders(tmp_path):
    expected = _write_class_folders(tmp_path, np.random.default_rng(0))
    stacks = load_dataset(tmp_path)
    assert list(stacks) == ["interphase", "metaphase", "mitochondria"]
    for name, images in expected.items():
        np.testing.assert_array_equal(stacks[name], images)


def test_uint16_tiff_keeps_dtype(tmp_path):
    folder = tmp_path / "anaphase"
    folder.mkdir()
    image = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    tifffile.imwrite(folder / "a.tif", image)
    stacks = load_dataset(tmp_path)
    assert stacks["anaphase"].dtype == np.uint16
    np.testing.assert_array_equal(stacks["anaphase"][0], image)


# ----------------------------------------------------------------- bad input


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=r"nope\.npz: no such file"):
        load_dataset(missing)


def test_unreadable_image_names_file(tmp_path):
    (tmp_path / "metaphase").mkdir()
    (tmp_path / "metaphase" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match=r"broken\.png: cannot read image"):
        load_dataset(tmp_path)


def test_unreadable_npz_names_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"broken\.npz: cannot read"):
        load_dataset(path)


def test_rgb_image_is_not_2d(tmp_path):
    (tmp_path / "metaphase").mkdir()
    iio.imwrite(tmp_path / "metaphase" / "rgb.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"rgb\.png: image has shape \(8, 8, 3\); expected a 2D"):
        load_dataset(tmp_path)


def test_npz_with_4d_array(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, metaphase=np.zeros((2, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"bad\.npz: array 'metaphase' has shape \(2, 3, 8, 8\)"):
        load_dataset(path)


def test_mixed_sizes_name_the_odd_file(tmp_path):
    folder = tmp_path / "anaphase"
    folder.mkdir()
    iio.imwrite(folder / "a.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(folder / "b.png", np.zeros((9, 8), np.uint8))
    with pytest.raises(ValueError, match=r"b\.png: image size \(9, 8\) differs from \(8, 8\)"):
        load_dataset(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="empty folder, no class sub-folders"):
        load_dataset(tmp_path)


def test_loose_images_get_a_hint(tmp_path):
    iio.imwrite(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="put them in one sub-folder per class"):
        load_dataset(tmp_path)


def test_empty_class_folder(tmp_path):
    (tmp_path / "metaphase").mkdir()
    with pytest.raises(ValueError, match=r"metaphase: empty folder, no images"):
        load_dataset(tmp_path)


def test_unsupported_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3")
    with pytest.raises(ValueError, match=r"data\.csv: not a dataset"):
        load_dataset(path)


# ----------------------------------------------------------------- synthetic look-alike


def test_synthetic_shapes_and_order():
    images = synthetic_nuclei(n_per_class=3, size=64, seed=2)
    assert tuple(images) == CLASS_NAMES
    for stack in images.values():
        assert stack.shape == (3, 64, 64)
        assert stack.dtype == np.uint8


def test_synthetic_default_matches_reference_layout():
    images = synthetic_nuclei()
    assert {stack.shape for stack in images.values()} == {(50, 80, 80)}


def test_synthetic_is_deterministic_per_seed():
    a = synthetic_nuclei(n_per_class=4, seed=7)
    b = synthetic_nuclei(n_per_class=4, seed=7)
    c = synthetic_nuclei(n_per_class=4, seed=8)
    for name in CLASS_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a[name], c[name])


def test_synthetic_masks(synthetic_with_masks):
    images, masks = synthetic_with_masks
    assert tuple(masks) == CLASS_NAMES
    for name in CLASS_NAMES:
        assert masks[name].dtype == bool
        assert masks[name].shape == images[name].shape
        inside = images[name][masks[name]].mean()
        outside = images[name][~masks[name]].mean()
        assert inside > outside + 30, name


def _centre_object_areas(mask_stack):
    """Area of the mask component nearest the centre, per image."""
    areas = []
    for mask in mask_stack:
        labels, n = ndimage.label(mask)
        if n == 0:
            areas.append(0)
            continue
        border = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        inner = [i for i in range(1, n + 1) if i not in border]
        areas.append(sum(int((labels == i).sum()) for i in inner))
    return np.array(areas)


def test_synthetic_classes_have_typical_shapes(synthetic_with_masks):
    images, masks = synthetic_with_masks
    area = {name: np.median(_centre_object_areas(masks[name])) for name in CLASS_NAMES}
    # interphase nuclei are the largest, apoptotic fragments the smallest
    assert area["interphase"] > 2 * area["metaphase"]
    assert area["apoptosis"] < area["metaphase"]
    assert area["apoptosis"] < area["prometaphase"]

    # anaphase has two separate bars in most images, metaphase one
    def inner_count(mask):
        labels, n = ndimage.label(mask)
        border = set(np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        return len(set(range(1, n + 1)) - border)

    assert np.mean([inner_count(m) == 2 for m in masks["anaphase"]]) > 0.7
    assert np.mean([inner_count(m) == 1 for m in masks["metaphase"]]) > 0.9
    # mitotic chromatin is brighter than the interphase nucleus
    bright = {
        n: np.median([im[m].mean() for im, m in zip(images[n], masks[n], strict=True)])
        for n in area
    }
    assert bright["metaphase"] > bright["interphase"]
    assert bright["apoptosis"] > bright["interphase"]


def test_synthetic_neighbours_cut_by_border(synthetic_with_masks):
    _, masks = synthetic_with_masks
    stack = np.concatenate(list(masks.values()))
    touches = (
        stack[:, 0].any(1) | stack[:, -1].any(1) | stack[:, :, 0].any(1) | stack[:, :, -1].any(1)
    )
    assert 0.4 < touches.mean() < 0.95


def test_synthetic_global_threshold_is_imperfect(synthetic_with_masks):
    images, masks = synthetic_with_masks
    pixels = np.concatenate([images[n] for n in CLASS_NAMES])
    truth = np.concatenate([masks[n] for n in CLASS_NAMES])
    # brightness differs between images...
    backgrounds = np.median(pixels.reshape(len(pixels), -1), axis=1)
    assert backgrounds.max() - backgrounds.min() > 20
    # ...so one Otsu threshold for everything works, but visibly imperfectly
    prediction = pixels > threshold_otsu(pixels)
    dice = 2 * (prediction & truth).sum() / (prediction.sum() + truth.sum())
    assert 0.6 < dice < 0.95


@pytest.mark.parametrize("kwargs", [{"n_per_class": -1}, {"size": 8}])
def test_synthetic_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        synthetic_nuclei(**kwargs)
