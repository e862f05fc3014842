import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from imageio import v3 as iio

from napari_nuclei_edges import __version__, _cli, _display
from napari_nuclei_edges.data import CLASS_NAMES


def launcher(*args, env=None):
    """``napari-nuclei-edges ARGS`` as a user runs it: a new process."""
    return subprocess.run(
        [sys.executable, "-m", "napari_nuclei_edges", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_module_entry_prints_version():
    result = launcher("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"napari-nuclei-edges {__version__}"


def test_missing_path_is_a_sentence(tmp_path, capsys):
    assert _cli.main([str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz: no such file or folder" in capsys.readouterr().err


def test_no_display_is_a_sentence(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert _cli.main([]) == 1
    assert "No display found" in capsys.readouterr().err


def _object_npz(path):
    np.savez(path, metaphase=np.array([{"x": 1}], dtype=object))


def _complex_npz(path):
    np.savez(path, metaphase=np.ones((2, 8, 8), np.complex64))


def _text_npz(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")


def _png(path):
    iio.imwrite(path, np.zeros((8, 8), np.uint8))


def _folder_without_images(path):
    (path / "metaphase").mkdir(parents=True)
    (path / "metaphase" / "notes.txt").write_text("no images here")


def _folder_of_link_loops(path):
    path.mkdir()
    os.symlink("b", path / "a")
    os.symlink("a", path / "b")


def _text_file(path):
    path.write_text("not an image")


def _broken_tif(path):
    path.write_bytes(b"II*\x00 not a TIFF after all")


def _own_folder(path):
    """A user's folder: two images, and other files beside them."""
    path.mkdir()
    _png(path / "b.png")
    iio.imwrite(path / "a.tif", np.full((6, 7), 3000, np.uint16))
    (path / "notes.txt").write_text("settings")
    (path / "c.png").write_bytes(b"broken")


@pytest.mark.parametrize("make", [_png, _own_folder])
def test_a_users_own_image_or_folder_opens_beside_the_sample(tmp_path, make, monkeypatch,
                                                             capsys):  # fmt: skip
    from napari_nuclei_edges._plugin.reader import read_user_images

    path = tmp_path / ("one.png" if make is _png else "mine")
    make(path)
    layers, note = read_user_images(path)
    if make is _png:
        assert [meta["name"] for _, meta, _ in layers] == ["one"] and note == ""
    else:
        assert [meta["name"] for _, meta, _ in layers] == ["a", "b"]
        assert layers[0][0].dtype == np.uint16 and layers[0][0][0, 0] == 3000
        assert note == "2 other files in mine left out."
    # the command reads it before Qt, then needs a display: nothing of Qt was started
    monkeypatch.setattr(sys, "platform", "linux")
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert _cli.main([str(path)]) == 1
    assert "No display found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("objects.npz", _object_npz, "holds Python objects, which are never unpickled"),
        ("complex.npz", _complex_npz, "holds complex numbers (complex64), not intensities"),
        ("text.npz", _text_npz, "member 'notes.txt' is not a numpy array (.npy)"),
        ("notes.txt", _text_file, "Nor is it an image: "),
        ("noimages", _folder_without_images, "metaphase: empty folder, no images"),
        ("loops", _folder_of_link_loops, "empty folder, no class sub-folders found"),
        ("broken.tif", _broken_tif, "no image this plugin reads (TIF/TIFF/PNG) could be read"),
    ],
)
def test_an_unusable_dataset_is_a_sentence_before_qt(tmp_path, name, make, words):
    path = tmp_path / name
    make(path)
    result = launcher(path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"napari-nuclei-edges: {path}")
    assert words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, **{name: np.zeros((2, 8, 8), np.uint8) for name in CLASS_NAMES})
    return path


def test_a_display_that_does_not_open_is_a_sentence_not_an_abort(dataset):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = ":97"  # no X server there
    result = launcher(dataset, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "napari-nuclei-edges: The display DISPLAY=:97 does not open, so napari cannot open a "
        "window. Check that the desktop session is running and DISPLAY is right (over ssh: "
        "ssh -X), or run under a virtual screen: xvfb-run -a napari-nuclei-edges"
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the X display probe is for Linux")
def test_the_display_probe_opens_a_real_display(monkeypatch):
    display = os.environ.get("DISPLAY")
    if not display:
        pytest.skip("no X display in this session (pytest-xvfb starts one)")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert _display.x_display_opens(display)
    assert _display.display_problem() is None
    # without Xlib, the display's socket answers for it
    assert _display.x_socket_answers(display)
    assert not _display.x_socket_answers(":97")
    monkeypatch.setenv("DISPLAY", ":97")
    assert "DISPLAY=:97 does not open" in _display.display_problem()


def test_a_good_dataset_is_read_once_before_qt(dataset, monkeypatch, capsys):
    """The launcher reads the dataset, then finds no display: nothing of Qt was started."""
    monkeypatch.setattr(sys, "platform", "linux")
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    layers, problem = _cli._dataset_layers(dataset)
    assert problem is None and [meta["name"] for _, meta, _ in layers] == list(CLASS_NAMES)
    assert _cli.main([str(dataset)]) == 1
    assert "No display found" in capsys.readouterr().err
