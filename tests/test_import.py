import importlib.metadata
import subprocess
import sys

import pytest

QT_AND_NAPARI = ("qtpy", "PyQt6", "PySide6", "pyqtgraph", "magicgui", "napari")
HEAVY = ("torch", *QT_AND_NAPARI)
#: The pure side: numpy, scikit-image, torch and dask; never Qt or napari.
PURE = (
    "data",
    "synthetic",
    "intensity",
    "segmentation",
    "gradients",
    "training",
    "batch",
    "classification",
    "focus",
    "segmenter",
)


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_package_import_is_light():
    loaded = _modules_after("import napari_nuclei_edges")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_loading_and_plugin_glue_import_no_qt_and_no_torch():
    loaded = _modules_after(
        "import napari_nuclei_edges.data, napari_nuclei_edges.synthetic, "
        "napari_nuclei_edges.intensity, napari_nuclei_edges.segmentation, "
        "napari_nuclei_edges._plugin.reader, napari_nuclei_edges._plugin.sample_data, "
        "napari_nuclei_edges._cli, napari_nuclei_edges.training.options, "
        "napari_nuclei_edges.segmenter"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_qt_and_no_napari(module):
    loaded = _modules_after(f"import napari_nuclei_edges.{module}")
    assert not loaded & set(QT_AND_NAPARI), loaded & set(QT_AND_NAPARI)


def test_version_is_the_distribution_version():
    import napari_nuclei_edges

    version = napari_nuclei_edges.__version__
    assert version == importlib.metadata.version("napari-nuclei-edges")
    major, minor, patch = (int(part) for part in version.split("."))
    assert (major, minor, patch) >= (0, 1, 0)
