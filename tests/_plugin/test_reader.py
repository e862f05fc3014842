import numpy as np
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
            assert set(np.unique(data)) <= {0, 1}
            assert data.any()
        else:
            assert data.dtype == np.uint8
            assert meta["metadata"]["synthetic_parameters"]["seed"] == 0
