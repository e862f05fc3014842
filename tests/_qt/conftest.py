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
