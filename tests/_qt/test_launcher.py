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


def test_the_launcher_fills_the_screen_it_opens_on(make_napari_viewer, qtbot):
    from napari_nuclei_edges._cli import fit_to_screen

    viewer = launch(viewer=make_napari_viewer(show=True))
    viewer.window.set_geometry(500, 400, 1500, 1000)  # what napari may restore from last time
    assert fit_to_screen(viewer, (1366, 768)) == (1366, 768)
    assert tuple(viewer.window.geometry()) == (0, 0, 1366, 768)
    viewer.window.set_geometry(10, 10, 1122, 630)  # napari's first window on a laptop
    assert fit_to_screen(viewer, (0, 0, 1366, 768)) == (1366, 768)
    from qtpy.QtGui import QGuiApplication

    free = QGuiApplication.primaryScreen().availableGeometry()
    viewer.window.set_geometry(10, 10, 600, 400)
    fit_to_screen(viewer)  # the screen under the window, as the command line does
    left, top, width, height = viewer.window.geometry()
    assert (left, top) == (free.x(), free.y())
    # the whole free area (or napari's least size, on a screen smaller than it: 800 × 600)
    assert width >= free.width() and height >= free.height()
    assert width < 1000 and height < 700


def test_six_docks_from_the_plugins_menu_fit_a_laptop(make_napari_viewer, qtbot):
    from qtpy.QtWidgets import QDockWidget

    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, 1366, 768)
    names = ["Histograms and threshold", "Sobel edges", "Learn a kernel",
             "Classify the stage", "Learn a segmentation", "Find the focus"]  # fmt: skip
    docks = []
    for name in names:
        dock, _ = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", name)
        assert isinstance(dock, QDockWidget)
        docks.append(dock)
    qtbot.waitUntil(lambda: all(dock.isVisible() for dock in docks))
    assert tuple(viewer.window.geometry()[2:]) == (1366, 768)  # stacked, they still fit
    assert all(dock.width() <= 0.4 * 1366 for dock in docks)  # not half the screen
    # a tab shows the dock's name, short, without "(napari-nuclei-edges)"
    assert [dock.windowTitle() for dock in docks] == [
        "Threshold", "Sobel edges", "Learn a kernel", "Classify", "Segment", "Find the focus"
    ]  # fmt: skip


def test_a_users_tiff_opens_in_a_tile_beside_the_classes(make_napari_viewer, qtbot, tmp_path):
    import tifffile

    from napari_nuclei_edges._plugin.grid import TILE_KEY, TITLES
    from napari_nuclei_edges._plugin.reader import read_user_images
    from napari_nuclei_edges.data import synthetic_field

    image, _ = synthetic_field(size=256, n_nuclei=30)
    tifffile.imwrite(tmp_path / "my field.tif", image)
    own, _ = read_user_images(tmp_path / "my field.tif")
    viewer = launch(viewer=make_napari_viewer(show=True), own=own)
    mine = viewer.layers["my field"]
    classes = [layer for layer in viewer.layers if layer.name in CLASS_NAMES]
    right = max(float(layer.translate[-1]) + layer.data.shape[-1] for layer in classes)
    assert float(mine.translate[-1]) > right and mine.metadata[TILE_KEY]["row"] == 0
    np.testing.assert_array_equal(mine.data, image)
    assert "my field" in list(viewer.layers[TITLES].features["name"])
    # not pooled with the classes unless the user ticks it; then in a colour of its own
    _, threshold = viewer.window.add_plugin_dock_widget(
        "napari-nuclei-edges", "Histograms and threshold"
    )
    assert threshold.state.layers == tuple(CLASS_NAMES)
    from napari_nuclei_edges._qt.common.plots import layer_color

    colours = {layer_color(n, i) for i, n in enumerate([*CLASS_NAMES, "my field"])}
    assert len(colours) == 6
    # a file opened as a user opens one, into the launcher's window: a tile of its own too
    tifffile.imwrite(tmp_path / "second.tif", image[:100])
    (second,) = viewer.open(str(tmp_path / "second.tif"))
    assert float(second.translate[-1]) > float(mine.translate[-1]) + 256
    # its Sobel outputs go beneath it, not onto the classes
    _, sobel = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", "Sobel edges")
    sobel.layer_name = "my field"
    sobel._run_button.click()
    qtbot.waitUntil(lambda: not sobel.busy, timeout=30_000)
    gx = viewer.layers["my field_sobel_gx"]
    assert gx.translate[-1] == mine.translate[-1] and float(gx.translate[-2]) >= 256
