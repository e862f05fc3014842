import subprocess
import sys

from napari_nuclei_edges import __version__, _cli


def test_module_entry_prints_version():
    result = subprocess.run(
        [sys.executable, "-m", "napari_nuclei_edges", "--version"], capture_output=True, text=True
    )
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
