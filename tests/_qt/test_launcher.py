import numpy as np
from napari.layers import Image, Labels

from napari_nuclei_edges._cli import launch, plugin_widget_names
from napari_nuclei_edges.data import CLASS_NAMES


def test_launcher_opens_dataset_with_five_layers(make_napari_viewer, qtbot, tmp_path):
    path = tmp_path / "nuclei.npz"
    stacks = {n: np.full((4, 16, 16), 10 * i, np.uint8) for i, n in enumerate(CLASS_NAMES)}
    np.savez(path, **stacks)
    viewer = launch(path, viewer=make_napari_viewer())
    assert [layer.name for layer in viewer.layers] == [*CLASS_NAMES, "tile names"]
    for layer in viewer.layers[:5]:
        assert isinstance(layer, Image)
        np.testing.assert_array_equal(layer.data, stacks[layer.name])
        assert layer.metadata["source_path"] == str(path.resolve())
    columns = [float(layer.translate[-1]) for layer in viewer.layers if layer.name in CLASS_NAMES]
    assert columns == sorted(columns) and len(set(columns)) == 5  # side by side


def test_launcher_opens_reference_data(make_napari_viewer, qtbot, reference_path):
    viewer = launch(reference_path, viewer=make_napari_viewer())
    assert [layer.name for layer in viewer.layers][:5] == list(CLASS_NAMES)
    assert {layer.data.shape for layer in viewer.layers[:5]} == {(50, 80, 80)}


def test_launcher_without_path_loads_sample_and_docks(make_napari_viewer, qtbot):
    import gc

    viewer = launch(viewer=make_napari_viewer())
    qtbot.wait(50)
    assert gc.get_freeze_count() == 0  # only the command line's own process is frozen
    images = [layer.name for layer in viewer.layers if isinstance(layer, Image)]
    labels = [layer for layer in viewer.layers if isinstance(layer, Labels)]
    assert images == list(CLASS_NAMES)
    assert [layer.name for layer in labels] == [f"{n}_truth" for n in CLASS_NAMES]
    assert not any(layer.visible for layer in labels)
    for name in CLASS_NAMES:  # each truth on its class, each class in its own place
        truth, image = viewer.layers[f"{name}_truth"], viewer.layers[name]
        assert list(truth.translate) == list(image.translate)
    assert list(viewer.layers["tile names"].features["name"]) == list(CLASS_NAMES)
    docked = set(viewer.window.dock_widgets)
    for name in plugin_widget_names():
        assert any(name in title for title in docked), (name, docked)


def test_reader_through_napari_open(make_napari_viewer, qtbot, tmp_path):
    from imageio import v3 as iio

    (tmp_path / "apoptosis").mkdir()
    for i in range(3):
        iio.imwrite(tmp_path / "apoptosis" / f"{i}.png", np.full((6, 6), i, np.uint8))
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path), plugin="napari-nuclei-edges")
    (layer,) = viewer.layers
    assert layer.name == "apoptosis"
    assert layer.data[:, 0, 0].tolist() == [0, 1, 2]


def test_a_remembered_window_larger_than_the_screen_is_shrunk_to_it(make_napari_viewer, qtbot):
    from napari_nuclei_edges._cli import fit_to_screen

    viewer = launch(viewer=make_napari_viewer(show=True))
    viewer.window.set_geometry(500, 400, 1500, 1000)  # what napari may restore from last time
    assert fit_to_screen(viewer, (1366, 768)) == (1366, 768)
    left, top, width, height = viewer.window.geometry()
    assert (width, height) == (1366, 768)
    assert left + width <= 1366 and top + height <= 768
    assert fit_to_screen(viewer, (1920, 1080)) == (1366, 768)  # a smaller window is left alone
