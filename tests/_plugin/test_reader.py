import numpy as np
import pytest
from imageio import v3 as iio

from napari_nuclei_edges._plugin.reader import get_reader, read_dataset
from napari_nuclei_edges._plugin.sample_data import synthetic_nuclei_sample
from napari_nuclei_edges.data import CLASS_NAMES


def test_reader_declines_what_it_cannot_open(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path)) is None  # a folder without class sub-folders
    assert get_reader([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]) is None


def test_reader_opens_npz(tmp_path):
    path = tmp_path / "set.npz"
    stacks = {name: np.full((2, 6, 6), i, np.uint8) for i, name in enumerate(CLASS_NAMES)}
    np.savez(path, **stacks)
    reader = get_reader(str(path))
    assert reader is read_dataset
    layers = reader(str(path))
    assert [meta["name"] for _, meta, _ in layers] == list(CLASS_NAMES)
    assert {kind for *_, kind in layers} == {"image"}
    for (data, meta, _), name in zip(layers, CLASS_NAMES, strict=True):
        np.testing.assert_array_equal(data, stacks[name])
        assert meta["metadata"]["source_path"] == str(path.resolve())
        assert meta["metadata"]["class_name"] == name


def test_reader_opens_class_folders(tmp_path):
    for name in ("metaphase", "anaphase"):
        (tmp_path / name).mkdir()
        iio.imwrite(tmp_path / name / "0.png", np.full((5, 7), 9, np.uint8))
    reader = get_reader([str(tmp_path)])
    assert reader is read_dataset
    layers = reader([str(tmp_path)])
    assert [meta["name"] for _, meta, _ in layers] == ["metaphase", "anaphase"]
    assert layers[0][0].shape == (1, 5, 7)
    assert layers[0][1]["metadata"]["source_path"] == str(tmp_path.resolve())


def test_sample_data_layers():
    layers = synthetic_nuclei_sample(n_per_class=3)
    names = [meta["name"] for _, meta, _ in layers]
    assert names[::2] == list(CLASS_NAMES)
    assert names[1::2] == [f"{n}_truth" for n in CLASS_NAMES]
    kinds = [kind for *_, kind in layers]
    assert kinds == ["image", "labels"] * 5
    for data, meta, kind in layers:
        assert data.shape == (3, 80, 80)
        if kind == "labels":
            assert meta["visible"] is False
            # instance labels: one id per nucleus in each image, not a 0/1 mask
            assert data.max() >= 2 and any(len(np.unique(plane)) > 2 for plane in data)
        else:
            assert data.dtype == np.uint8
            assert meta["metadata"]["synthetic_parameters"]["seed"] == 0


# ----------------------------------------------------------------- what it cannot read


def test_reader_declines_loops_and_unlistable_folders(tmp_path, monkeypatch):
    import os

    loops = tmp_path / "loops"
    loops.mkdir()
    os.symlink("b", loops / "a")
    os.symlink("a", loops / "b")
    assert get_reader(str(loops)) is None  # no OSError: napari asks the next reader

    def refuses(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", refuses)
    assert get_reader(str(tmp_path)) is None


def test_reader_says_why_it_cannot_read_a_class_folder(tmp_path, monkeypatch):
    from pathlib import Path

    for name in ("anaphase", "metaphase"):
        (tmp_path / name).mkdir()
        iio.imwrite(tmp_path / name / "0.png", np.zeros((5, 5), np.uint8))
    assert get_reader(str(tmp_path)) is read_dataset
    iterdir = Path.iterdir

    def refuses(self):
        if self.name == "anaphase":
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuses)
    with pytest.raises(
        ValueError, match=r"anaphase: cannot read this folder \(Permission denied\)"
    ):
        read_dataset(str(tmp_path))


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.zeros((3, 8, 8), np.complex64), "holds complex numbers (complex64), not intensities"),
        (np.zeros((3, 0, 80), np.uint8), "has shape (3, 0, 80): it holds no pixels"),
        (np.array([{"x": 1}], dtype=object), "holds Python objects, which are never unpickled"),
    ],
)
def test_reader_refuses_what_napari_cannot_show_with_a_sentence(tmp_path, array, words):
    path = tmp_path / "set.npz"
    np.savez(path, metaphase=array)
    assert get_reader(str(path)) is read_dataset  # an .npz is ours to answer for
    with pytest.raises(ValueError) as caught:
        read_dataset(str(path))
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_reader_on_an_npz_member_that_is_not_npy_is_a_sentence(tmp_path):
    import zipfile

    path = tmp_path / "set.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match=r"member 'notes\.txt' is not a numpy array \(\.npy\)"):
        get_reader(str(path))(str(path))


def test_reader_on_a_path_gone_since_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"gone\.npz: no such file"):
        read_dataset(str(tmp_path / "gone.npz"))
