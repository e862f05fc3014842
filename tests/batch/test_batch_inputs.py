"""Inputs as they come: odd sizes and dtypes, broken and hostile files, each with a reason."""

import os
import zipfile

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from napari_nuclei_edges import data  # noqa: E402
from napari_nuclei_edges.batch import NPZ_TASKS_PER_MEMBER, ImageSource, _tasks_of  # noqa: E402
from napari_nuclei_edges.segmentation import segment  # noqa: E402


def test_the_most_common_size_wins_not_the_first(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack, [f"b{i}.png" for i in range(10)])
    h.write_pngs(folder, [stack[0][:60, :60]], ["a_small.png"])  # sorts first
    code, printed, _ = h.run_cli(capsys, folder, "--out", tmp_path / "out.zarr")
    assert code == 1
    assert "10 images processed" in printed
    assert "1 image skipped:\n  a_small.png: 60 × 60, not 80 × 80 like the others" in printed
    # or the size the user asks for
    code, printed, _ = h.run_cli(
        capsys, folder, "--out", tmp_path / "small.zarr", "--size", "60x60"
    )
    assert code == 1 and "1 image processed" in printed and "10 images skipped:" in printed
    assert "  b0.png: 80 × 80, not 60 × 60 as --size asks" in printed
    # on a re-run the store's size holds
    h.write_pngs(folder, [stack[0][:70, :70]], ["c.png"])
    code, printed, _ = h.run_cli(capsys, folder, "--out", tmp_path / "out.zarr")
    assert "  c.png: 70 × 70, not 80 × 80 like the store's images" in printed
    assert h.stored(tmp_path / "small.zarr")[1]["sobel_gx"].shape == (1, 60, 60)


@pytest.mark.parametrize(
    ("second", "common"),
    [
        (np.arange(6400, dtype=np.uint16).reshape(80, 80) * 9, "<u2"),
        (np.arange(-3200, 3200, dtype=np.int16).reshape(80, 80), "<i2"),
    ],
)
def test_mixed_dtypes_meet_in_a_common_dtype(tmp_path, stack, h, capsys, second, common):
    np.savez(tmp_path / "mixed.npz", small=stack[:3], wide=np.stack([second, second // 2]))
    out = tmp_path / "out.zarr"
    code, printed, err = h.run_cli(
        capsys, tmp_path / "mixed.npz", "--out", out, "--steps", "sobel,threshold,labels"
    )
    assert code == 0, printed + err
    record, arrays = h.stored(out)
    assert record["dtype"] == common
    assert arrays["done"].all() and arrays["mask"].shape == (5, 80, 80)
    everything = np.concatenate([stack[:3].astype(common), np.stack([second, second // 2])])
    np.testing.assert_array_equal(arrays["mask"], segment(everything, record["threshold_value"]))


def test_complex_members_are_skipped_by_name(tmp_path, stack, h, capsys):
    np.savez(tmp_path / "c.npz", good=stack[:2], wave=np.ones((2, 80, 80), np.complex64))
    code, printed, _ = h.run_cli(capsys, tmp_path / "c.npz", "--out", tmp_path / "o.zarr")
    assert code == 1 and "2 images processed" in printed
    assert "  wave/0000: complex numbers (complex64), not intensities" in printed
    np.savez(tmp_path / "only.npz", wave=np.ones((2, 80, 80), np.complex64))
    code, _, err = h.run_cli(capsys, tmp_path / "only.npz", "--out", tmp_path / "p.zarr")
    assert code == 2 and "not one usable 2D image (wave/0000: complex numbers" in err
    assert "Traceback" not in err and not (tmp_path / "p.zarr").exists()


def _bomb(path, declared=256 << 20):
    """An .npz whose one member inflates ~1000 times: zeros, written in slices."""
    from numpy.lib import format as npy

    header = {"descr": "|u1", "fortran_order": False, "shape": (declared >> 16, 256, 256)}
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.npy", "w", force_zip64=True) as file,
    ):
        npy.write_array_header_1_0(file, header)
        block = bytes(16 << 20)
        for _ in range(declared // len(block)):
            file.write(block)
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (
            lambda p: np.savez(p, a=np.array([{"x": 1}], dtype=object)),
            "array 'a' holds Python objects, which are never unpickled",
        ),
        (
            lambda p: zipfile.ZipFile(p, "w").writestr("notes.txt", "hello"),
            "member 'notes.txt' is not a numpy array (.npy)",
        ),
        (lambda p: p.write_bytes(b"garbage"), "cannot read this .npz file"),
        (_bomb, "refused unread, as no image data compresses that far"),
    ],
)
def test_hostile_npz_files_get_a_sentence(tmp_path, h, capsys, make, words):
    path = tmp_path / "x.npz"
    make(path)
    before = h.snapshot(tmp_path)
    code, printed, err = h.run_cli(capsys, path, "--out", tmp_path / "o.zarr")
    assert code == 2 and printed == "" and words in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert h.snapshot(tmp_path) == before


def test_a_complex_zarr_array_is_refused(tmp_path, h, capsys):
    zarr.create_array(str(tmp_path / "c.zarr"), shape=(2, 8, 8), dtype="complex64")
    code, _, err = h.run_cli(capsys, tmp_path / "c.zarr", "--out", tmp_path / "o.zarr")
    assert code == 2 and "the zarr array holds complex numbers (complex64)" in err


def test_a_folder_with_a_loop_of_links_is_read_once(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:3], ["a/0.png", "a/1.png", "b/2.png"])
    os.symlink("..", folder / "a" / "up")  # a loop back to the top
    os.symlink("y", folder / "x")  # links that point at each other
    os.symlink("x", folder / "y")
    code, printed, _ = h.run_cli(capsys, folder, "--out", tmp_path / "o.zarr")
    assert code == 0 and "3 images processed" in printed
    assert h.stored(tmp_path / "o.zarr")[0]["names"] == ["a/0.png", "a/1.png", "b/2.png"]


def test_a_folder_that_cannot_be_listed_gets_a_sentence(tmp_path, stack, h, capsys, monkeypatch):
    folder = h.write_pngs(tmp_path / "in", stack[:2], ["a/0.png", "b/1.png"])

    def walk(top, onerror=None, followlinks=False):
        onerror(PermissionError(13, "Permission denied", str(folder / "b")))
        yield from ()

    monkeypatch.setattr(data.os, "walk", walk)
    code, _, err = h.run_cli(capsys, folder, "--out", tmp_path / "o.zarr")
    assert code == 2
    assert err.strip() == (
        f"napari-nuclei-edges batch: {folder / 'b'}: cannot read this folder (Permission denied)."
    )


def test_npz_members_are_streamed_once_per_task(tmp_path, stack, monkeypatch):
    """Reading a task's images opens (decompresses) each member once, not once per image."""
    path = tmp_path / "big.npz"
    np.savez_compressed(path, a=np.repeat(stack, 20, axis=0), b=stack)  # 200 + 10 images
    source = ImageSource(path)
    opened = []
    original = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    items = [(i, source.names[i]) for i in range(len(source))]
    read = dict(source.iter_images(items))
    assert opened == ["a.npy", "b.npy"]
    np.testing.assert_array_equal(read[(57, "a/0057")], stack[57 // 20])
    np.testing.assert_array_equal(read[(205, "b/0005")], stack[5])
    # a member is split into a few long tasks at most, so it is inflated a few times at most
    tasks = _tasks_of(source, items, (80, 80))
    assert sum(1 for (task,) in tasks if task[0][1].startswith("a/")) <= NPZ_TASKS_PER_MEMBER
    assert sorted(item for (task,) in tasks for item in task) == items
