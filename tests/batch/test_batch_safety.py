"""Never write into what is not ours; check every parameter before writing, by meaning."""

import os

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")


@pytest.fixture
def images(tmp_path, stack, h):
    return h.write_pngs(tmp_path / "images", stack[:4], [f"img{i}.png" for i in range(4)])


def test_an_existing_folder_of_user_files_is_refused_and_left_untouched(
    images, tmp_path, h, capsys
):
    mine = tmp_path / "mine"
    (mine / "mask" / "c" / "0" / "0").mkdir(parents=True)
    (mine / "mask" / "c" / "0" / "0" / "0").write_bytes(b"my precious chunk")
    (mine / "notes.txt").write_text("my notes")
    (mine / "done").write_text("a file named done")
    before = h.snapshot(tmp_path)
    code, out, err = h.run_cli(capsys, images, "--out", mine, "--steps", "threshold")
    assert code == 2 and out == ""
    assert err.strip() == (
        f"napari-nuclei-edges batch: {mine} already holds files this command "
        "did not make (done, mask/, notes.txt); give a new --out path or an "
        "empty folder."
    )
    assert h.snapshot(tmp_path) == before  # byte for byte, and nothing added
    assert sorted(os.listdir(mine)) == ["done", "mask", "notes.txt"]


def test_another_zarr_store_or_a_file_is_refused(images, tmp_path, h, capsys):
    other = zarr.open_group(str(tmp_path / "other.zarr"), mode="w")
    other.attrs["theirs"] = 1
    (tmp_path / "file.zarr").write_text("x")
    before = h.snapshot(tmp_path)
    code, _, err = h.run_cli(capsys, images, "--out", tmp_path / "other.zarr")
    assert code == 2 and "already holds files this command did not make (zarr.json)" in err
    code, _, err = h.run_cli(capsys, images, "--out", tmp_path / "file.zarr")
    assert code == 2 and "file.zarr is a file, not a store made by this command" in err
    code, _, err = h.run_cli(capsys, images, "--out", tmp_path / "no" / "such" / "out.zarr")
    assert code == 2 and "no such folder to make --out out.zarr in" in err
    assert h.snapshot(tmp_path) == before
    assert not (tmp_path / "no").exists()


def test_an_empty_folder_and_our_own_store_are_accepted(images, tmp_path, h, capsys):
    (tmp_path / "empty").mkdir()
    code, out, _ = h.run_cli(capsys, images, "--out", tmp_path / "empty")
    assert code == 0 and "4 images processed" in out
    code, out, _ = h.run_cli(capsys, images, "--out", tmp_path / "empty")
    assert code == 0 and "Nothing to do: all 4 images are done." in out


def test_an_earlier_versions_store_is_refused_not_guessed(images, tmp_path, h, capsys):
    old = zarr.open_group(str(tmp_path / "old.zarr"), mode="w")
    old.attrs["napari_nuclei_edges"] = {"steps": ["sobel"], "names": ["img0.png"]}
    code, _, err = h.run_cli(capsys, images, "--out", tmp_path / "old.zarr")
    assert code == 2 and "made by an earlier version of this command" in err


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        (
            "--padding",
            "mirror",
            "--padding must be one of reflect, zeros, replicate, valid, not 'mirror'.",
        ),
        ("--threshold", "nan", "--threshold must be a finite number or one of"),
        ("--threshold", "inf", "--threshold must be a finite number or one of"),
        ("--threshold", "-inf", "--threshold must be a finite number or one of"),
        ("--threshold", "high", "--threshold must be a finite number or one of"),
        (
            "--steps",
            "blur",
            "--steps must be some of sobel, threshold, labels, measure, classify, not blur.",
        ),
        ("--rule", "local", "--rule must be one of per_image, global, not 'local'."),
        ("--gone", "forget", "--gone must be one of keep, remove, not 'forget'."),
        ("--size", "80", "--size must be HEIGHTxWIDTH in pixels"),
    ],
)
def test_a_bad_parameter_is_refused_before_anything_is_written(
    images, tmp_path, h, capsys, option, value, words
):
    steps = "sobel,threshold,labels"
    out = tmp_path / "out.zarr"
    code, printed, err = h.run_cli(
        capsys,
        images,
        "--out",
        out,
        "--steps",
        value if option == "--steps" else steps,
        f"{option}={value}",
    )
    assert code == 2 and printed == ""
    assert words in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    # the corrected run is not refused as "made with other parameters"
    code, printed, _ = h.run_cli(capsys, images, "--out", out, "--steps", steps)
    assert code == 0 and "4 images processed" in printed


def test_parameters_are_compared_by_meaning(images, tmp_path, h, capsys, monkeypatch):
    out = tmp_path / "out.zarr"
    steps = ("--steps", "threshold,sobel")
    assert h.run_cli(capsys, images, "--out", out, *steps, "--threshold", "80")[0] == 0
    # the same source by another path, 80.0 for 80, the steps in another order, upper case
    monkeypatch.chdir(images.parent)
    code, printed, _ = h.run_cli(
        capsys,
        "./images/../images",
        "--out",
        out,
        "--steps",
        "SOBEL,threshold",
        "--threshold",
        "80.0",
        "--padding",
        "Reflect",
    )
    assert code == 0 and "Nothing to do: all 4 images are done." in printed
    # a labels rule does not apply to a fixed value: not a difference either
    code, printed, _ = h.run_cli(
        capsys, images, "--out", out, *steps, "--threshold", "80", "--rule", "global"
    )
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--threshold", "81"],
            "was made with --threshold 80, not 81; give --threshold 80, "
            "or a new --out to start again.",
        ),
        (["--threshold", "otsu"], "was made with --threshold 80, not otsu;"),
        (["--padding", "zeros"], "was made with --padding reflect, not zeros;"),
        (["--steps", "sobel"], "was made with --steps sobel,threshold, not sobel;"),
    ],
)
def test_another_parameter_is_refused_in_one_line_naming_it(
    images, stack, tmp_path, h, capsys, argv, line
):
    out = tmp_path / "out.zarr"
    for i in range(4, 10):  # many images: the refusal still does not list them
        h.write_pngs(images, [stack[i]], [f"more{i}.png"])
    assert (
        h.run_cli(capsys, images, "--out", out, "--steps", "sobel,threshold", "--threshold", "80")[
            0
        ]
        == 0
    )
    before = h.snapshot(out)
    args = ["--steps", "sobel,threshold", "--threshold", "80", *argv]
    code, printed, err = h.run_cli(capsys, images, "--out", out, *args)
    assert code == 2 and printed == ""
    assert err.startswith(f"napari-nuclei-edges batch: {out} {line}")
    assert err.strip().endswith("or a new --out to start again.")
    assert len(err.strip().splitlines()) == 1 and "img0.png" not in err
    assert h.snapshot(out) == before


def test_another_source_is_refused(images, stack, tmp_path, h, capsys):
    other = h.write_pngs(tmp_path / "other", stack[:2], ["a.png", "b.png"])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, images, "--out", out)[0] == 0
    code, _, err = h.run_cli(capsys, other, "--out", out)
    assert code == 2 and f"was made from {images}, not {other};" in err


def test_the_out_store_inside_the_input_is_refused(images, h, capsys):
    code, _, err = h.run_cli(capsys, images, "--out", images / "out.zarr")
    assert code == 2 and "is inside the input" in err
    assert not (images / "out.zarr").exists()


def test_an_input_without_one_usable_image_writes_nothing(tmp_path, h, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    h.write_pngs(folder, [np.zeros((8, 8, 3), np.uint8)], ["rgb.png"])
    code, _, err = h.run_cli(capsys, folder, "--out", tmp_path / "out.zarr")
    assert code == 2 and "not one usable 2D image (a.png: unreadable" in err
    assert "rgb.png: not a 2D image (shape (8, 8, 3))" in err
    assert not (tmp_path / "out.zarr").exists()


def test_an_input_that_is_missing_or_not_an_input_is_a_sentence(tmp_path, stack, h, capsys):
    code, _, err = h.run_cli(capsys, tmp_path / "missing.zarr", "--out", tmp_path / "o.zarr")
    assert code == 2 and "missing.zarr: no such file or folder." in err
    h.write_pngs(tmp_path, [stack[0]], ["one.png"])
    code, _, err = h.run_cli(capsys, tmp_path / "one.png", "--out", tmp_path / "o.zarr")
    assert code == 2 and "one.png: not an input the batch reads; give a zarr array" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = h.run_cli(capsys, empty, "--out", tmp_path / "o.zarr")
    assert code == 2 and "empty: no images (.tif, .tiff, .png) found." in err
    assert not (tmp_path / "o.zarr").exists()
