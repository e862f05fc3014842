import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from npe2 import PluginManifest

import napari_nuclei_edges

PACKAGED = Path(napari_nuclei_edges.__file__).parent / "napari.yaml"
ROOT = Path(__file__).resolve().parents[2] / "napari.yaml"


def test_manifest_parses_from_distribution():
    manifest = PluginManifest.from_distribution("napari-nuclei-edges")
    assert manifest.name == "napari-nuclei-edges"
    assert [s.display_name for s in manifest.contributions.sample_data] == [
        "Synthetic nuclei (5 classes)"
    ]
    (reader,) = manifest.contributions.readers
    assert reader.accepts_directories
    assert "*.npz" in reader.filename_patterns


def test_every_python_name_imports():
    manifest = PluginManifest.from_file(PACKAGED)
    assert manifest.contributions.commands
    for command in manifest.contributions.commands:
        module_name, _, attribute = command.python_name.partition(":")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), command.python_name


def test_root_manifest_is_the_packaged_one():
    if ROOT.exists():  # absent only when tests run outside a checkout
        assert yaml.safe_load(ROOT.read_text()) == yaml.safe_load(PACKAGED.read_text())


def test_npe2_validate_command():
    npe2 = shutil.which("npe2", path=str(Path(sys.executable).parent))
    assert npe2, "npe2's command is installed with the package"
    result = subprocess.run(
        [npe2, "validate", "napari-nuclei-edges"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid!" in result.stdout
