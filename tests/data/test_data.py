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


def test_synthetic_instance_labels_one_id_per_nucleus(synthetic_with_masks):
    images, masks = synthetic_with_masks
    same, labels = synthetic_nuclei(masks="labels")
    for name in CLASS_NAMES:
        np.testing.assert_array_equal(same[name], images[name])  # the same images
        np.testing.assert_array_equal(labels[name] > 0, masks[name])  # the same foreground
        assert labels[name].dtype == np.int32
        for plane in labels[name][:10]:
            ids = np.unique(plane[plane > 0])
            assert ids.tolist() == list(range(1, len(ids) + 1))  # 1, 2, … per image
            for i in ids:  # each id is one 8-connected piece
                assert ndimage.label(plane == i, structure=np.ones((3, 3)))[1] == 1
    # touching nuclei keep their own ids: more objects than the mask's connected regions
    regions = sum(ndimage.label(m, structure=np.ones((3, 3)))[1] for m in masks["metaphase"])
    assert int(sum(p.max() for p in labels["metaphase"])) > regions
    with pytest.raises(ValueError, match="masks must be"):
        synthetic_nuclei(n_per_class=1, masks="ids")


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


# ----------------------------------------------------------------- files that are wrong


def _bomb(path, declared=256 << 20):
    """An .npz of zeros inflating ~1000 times, written in slices (never whole in memory)."""
    import zipfile

    from numpy.lib import format as npy

    header = {"descr": "|u1", "fortran_order": False, "shape": (declared >> 16, 256, 256)}
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("metaphase.npy", "w", force_zip64=True) as file,
    ):
        npy.write_array_header_1_0(file, header)
        block = bytes(16 << 20)
        for _ in range(declared // len(block)):
            file.write(block)
    return path


def test_a_zip_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = _bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(np, "load", None)  # decompressing would fail loudly: it must not start
    with pytest.raises(
        ValueError,
        match=r"bomb\.npz: array 'metaphase' declares 256\.0 MiB in "
        r".* refused unread",
    ):
        load_dataset(path)


def test_an_npz_larger_than_free_memory_is_refused(tmp_path, monkeypatch):
    from napari_nuclei_edges import data

    np.savez(tmp_path / "set.npz", metaphase=np.zeros((4, 80, 80), np.uint16))
    monkeypatch.setattr(data, "available_memory", lambda: 10_000)
    with pytest.raises(
        ValueError,
        match=r"set\.npz: its arrays need 50\.0 KiB of memory and "
        r"9\.8 KiB is free",
    ):
        load_dataset(tmp_path / "set.npz")


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        (
            {"a": np.zeros((3, 8, 8), np.complex128)},
            "array 'a' holds complex numbers (complex128), not intensities",
        ),
        (
            {"a": np.zeros((3, 0, 80), np.uint8)},
            "array 'a' has shape (3, 0, 80): it holds no pixels",
        ),
        ({"a": np.zeros((0, 80, 80), np.uint8)}, "array 'a' has shape (0, 80, 80)"),
        ({"a": np.array(["x", "y"])}, "array 'a' has shape (2,)"),
        ({"a": np.zeros((2, 8, 8), "U3")}, "array 'a' holds values of type <U3, not numbers"),
        (
            {"a": np.array([{"x": 1}], dtype=object)},
            "holds Python objects, which are never unpickled",
        ),
    ],
)
def test_npz_arrays_that_are_not_images_get_a_sentence(tmp_path, arrays, words):
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(ValueError) as caught:
        load_dataset(tmp_path / "x.npz")
    assert words in str(caught.value) and str(caught.value).startswith(str(tmp_path / "x.npz"))


def test_an_npz_member_that_is_not_npy_gets_a_sentence(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.npz", "w") as archive:
        archive.writestr("metaphase.npy", np.zeros((2, 4, 4), np.uint8).tobytes())  # no header
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'metaphase' is not a readable numpy array"):
        load_dataset(tmp_path / "x.npz")
    with zipfile.ZipFile(tmp_path / "y.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'readme\.txt' is not a numpy array \(\.npy\)"):
        load_dataset(tmp_path / "y.npz")


def test_a_class_folder_that_cannot_be_listed_gets_a_sentence(tmp_path, monkeypatch):
    from pathlib import Path

    for name in ("anaphase", "metaphase"):
        (tmp_path / name).mkdir()
        iio.imwrite(tmp_path / name / "0.png", np.zeros((8, 8), np.uint8))
    iterdir = Path.iterdir

    def refuses(self):
        if self.name == "metaphase":
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuses)
    with pytest.raises(
        ValueError, match=r"metaphase: cannot read this folder \(Permission denied\)"
    ):
        load_dataset(tmp_path)


def test_a_loop_of_links_is_not_a_class(tmp_path):
    import os

    (tmp_path / "metaphase").mkdir()
    iio.imwrite(tmp_path / "metaphase" / "0.png", np.zeros((8, 8), np.uint8))
    os.symlink("..", tmp_path / "metaphase" / "up")
    os.symlink("y", tmp_path / "x")
    os.symlink("x", tmp_path / "y")
    assert list(load_dataset(tmp_path)) == ["metaphase"]
    only_loops = tmp_path / "loops"
    only_loops.mkdir()
    os.symlink("b", only_loops / "a")
    os.symlink("a", only_loops / "b")
    with pytest.raises(ValueError, match="empty folder, no class sub-folders"):
        load_dataset(only_loops)


def test_a_complex_tiff_gets_a_sentence(tmp_path):
    (tmp_path / "metaphase").mkdir()
    tifffile.imwrite(tmp_path / "metaphase" / "c.tif", np.ones((8, 8), np.complex64))
    with pytest.raises(ValueError, match=r"c\.tif: the image holds complex numbers"):
        load_dataset(tmp_path)


def test_mixed_dtypes_in_a_class_folder_are_widened(tmp_path):
    (tmp_path / "metaphase").mkdir()
    iio.imwrite(tmp_path / "metaphase" / "a.png", np.full((8, 8), 200, np.uint8))
    tifffile.imwrite(tmp_path / "metaphase" / "b.tif", np.full((8, 8), -5, np.int16))
    stack = load_dataset(tmp_path)["metaphase"]
    assert stack.dtype == np.int16 and stack[:, 0, 0].tolist() == [200, -5]
