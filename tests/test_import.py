import subprocess
import sys

HEAVY = ("torch", "qtpy", "PyQt6", "PySide6", "pyqtgraph", "magicgui", "napari")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_package_import_is_light():
    loaded = _modules_after("import napari_nuclei_edges")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_pure_modules_import_no_qt_and_no_torch():
    loaded = _modules_after(
        "import napari_nuclei_edges.data, napari_nuclei_edges._plugin.reader, "
        "napari_nuclei_edges._plugin.sample_data, napari_nuclei_edges._cli"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_version():
    import napari_nuclei_edges

    assert napari_nuclei_edges.__version__.count(".") == 2
