import pytest


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Widget settings go to a temporary folder, never the user's configuration."""
    from qtpy.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    return tmp_path


@pytest.fixture
def viewer(make_napari_viewer):
    """A real viewer holding the synthetic sample, 6 images per class, truths included."""
    from napari_nuclei_edges._plugin.sample_data import synthetic_nuclei_sample

    viewer = make_napari_viewer()
    for data, meta, kind in synthetic_nuclei_sample(n_per_class=6):
        getattr(viewer, f"add_{kind}")(data, **meta)
    return viewer


PLUGIN = "napari-nuclei-edges"


@pytest.fixture
def open_dock(viewer):
    """Open a dock as a user does, from the Plugins menu: napari hands it a proxy viewer.

    ``open_dock("Sobel edges")`` returns the widget; :func:`close_dock` closes it
    with the dock's × (napari's ``remove_dock_widget``).
    """

    def open_(display_name: str, on=None):
        _, widget = (on or viewer).window.add_plugin_dock_widget(PLUGIN, display_name)
        return widget

    return open_


@pytest.fixture
def close_dock(viewer):
    """``close_dock(widget)`` does what the dock's × does: napari's ``remove_dock_widget``
    un-parents the widget and deletes its dock (``closeEvent`` never runs)."""

    def close(widget, on=None) -> None:
        (on or viewer).window.remove_dock_widget(widget)

    return close
