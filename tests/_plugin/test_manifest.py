import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from npe2 import PluginManifest

import napari_nuclei_edges

PACKAGED = Path(napari_nuclei_edges.__file__).parent / "napari.yaml"
CHECKOUT = Path(__file__).resolve().parents[2]
ROOT = CHECKOUT / "napari.yaml"
SOURCE = CHECKOUT / "src" / "napari_nuclei_edges" / "napari.yaml"


def test_manifest_parses_from_distribution():
    manifest = PluginManifest.from_distribution("napari-nuclei-edges")
    assert manifest.name == "napari-nuclei-edges"
    assert [s.display_name for s in manifest.contributions.sample_data] == [
        "Synthetic nuclei (5 classes)",
        "Synthetic focus stack (21 slices)",
        "Synthetic field of 120 nuclei (12-bit)",
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


def test_root_manifest_points_at_the_packaged_one():
    if not SOURCE.exists():
        pytest.skip("not run from a checkout: there is no source manifest to compare with")
    # the root file is a link (npe2 finds a manifest only inside the package) ...
    assert ROOT.is_symlink() and ROOT.resolve() == SOURCE.resolve()
    # ... and what the installed package carries is what the checkout holds
    assert yaml.safe_load(PACKAGED.read_text()) == yaml.safe_load(SOURCE.read_text())


def test_docks_are_in_napari_layer_menus():
    manifest = PluginManifest.from_file(PACKAGED)
    menus = {
        menu: [item.command for item in items]
        for menu, items in manifest.contributions.menus.items()
    }
    assert menus["napari/layers/segment"] == [
        "napari-nuclei-edges.threshold_widget",
        "napari-nuclei-edges.segmenter_widget",
    ]
    assert menus["napari/layers/filter"] == [
        "napari-nuclei-edges.sobel_widget",
        "napari-nuclei-edges.training_widget",
    ]
    assert menus["napari/layers/classify"] == ["napari-nuclei-edges.classify_widget"]
    assert menus["napari/layers/measure"] == ["napari-nuclei-edges.focus_widget"]
    widget_commands = {widget.command for widget in manifest.contributions.widgets}
    assert {c for items in menus.values() for c in items} == widget_commands


def test_npe2_validate_command():
    npe2 = shutil.which("npe2", path=str(Path(sys.executable).parent))
    assert npe2, "npe2's command is installed with the package"
    result = subprocess.run(
        [npe2, "validate", "napari-nuclei-edges"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid!" in result.stdout
