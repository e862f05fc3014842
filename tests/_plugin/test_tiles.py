"""Where the plugin puts layers: each class in a column, its outputs beneath, overlays on it."""

import numpy as np
import pytest
from napari.components import ViewerModel
from napari.layers import Image, Labels, Vectors

from napari_nuclei_edges._plugin.grid import (
    TILE_KEY,
    TITLES,
    insert_after_source,
    insert_unselected,
    is_overlay,
    tile_layers,
)


@pytest.fixture
def viewer():
    viewer = ViewerModel()
    for i, name in enumerate(("interphase", "metaphase")):
        viewer.add_image(np.full((3, 80, 80), i, np.uint8), name=name)
        viewer.add_labels(np.zeros((3, 80, 80), np.uint8), name=f"{name}_truth")
    tile_layers(viewer)
    return viewer


def _yx(layer):
    return tuple(np.asarray(layer.translate)[-2:])


def test_classes_side_by_side_each_truth_on_its_class(viewer):
    first, second = viewer.layers["interphase"], viewer.layers["metaphase"]
    assert _yx(first) == (0, 0)
    assert _yx(second)[0] == 0 and _yx(second)[1] > 80  # beside, with a gap
    assert _yx(viewer.layers["metaphase_truth"]) == _yx(second)
    titles = viewer.layers[TITLES]
    assert list(titles.features["name"]) == ["interphase", "metaphase"]
    # each name just above its tile
    assert np.all(titles.data[:, 0] < 0) and list(titles.data[:, 1]) == [0, _yx(second)[1]]
    assert not viewer.canvas.grid.enabled  # napari's grid splits a truth from its image


def test_output_images_go_beneath_their_source_overlays_onto_it(viewer):
    source = viewer.layers["metaphase"]
    made = []
    for what in ("sobel_gx", "sobel_gy"):
        layer = Image(np.zeros((3, 80, 80), np.float32), name=f"metaphase_{what}")
        insert_after_source(viewer, layer, "metaphase")
        made.append(layer)
    arrows = Vectors(np.zeros((1, 2, 3)), name="metaphase_sobel_arrows")
    insert_after_source(viewer, arrows, "metaphase")
    x = _yx(source)[1]
    rows = [_yx(layer)[0] for layer in made]
    assert [_yx(layer)[1] for layer in made] == [x, x]  # the source's column
    assert 80 < rows[0] < rows[1] and rows[1] - rows[0] == pytest.approx(rows[0])
    assert _yx(arrows) == _yx(source) and is_overlay(arrows)  # the arrows over the image
    names = [layer.name for layer in viewer.layers]
    assert names.index("metaphase_sobel_arrows") < names.index(TITLES)  # names stay on top
    assert list(viewer.layers[TITLES].features["name"]) == [
        "interphase", "metaphase", "metaphase_sobel_gx", "metaphase_sobel_gy"
    ]  # fmt: skip
    assert made[0].metadata[TILE_KEY]["row"] == 1


def test_hidden_outputs_are_named_once_shown_and_names_follow_renames_and_removals(viewer):
    layer = Image(np.zeros((3, 80, 80)), name="metaphase_sobel_gx", visible=False)
    insert_after_source(viewer, layer, "metaphase")
    titles = viewer.layers[TITLES]
    assert "metaphase_sobel_gx" not in list(titles.features["name"])
    layer.visible = True
    assert "metaphase_sobel_gx" in list(titles.features["name"])
    layer.name = "edges"
    assert "edges" in list(titles.features["name"])
    viewer.layers.remove(layer)
    assert list(titles.features["name"]) == ["interphase", "metaphase"]


def test_a_removed_output_frees_its_tile_for_the_next(viewer):
    gx = Image(np.zeros((3, 80, 80)), name="metaphase_sobel_gx")
    gy = Image(np.zeros((3, 80, 80)), name="metaphase_sobel_gy")
    insert_after_source(viewer, gx, "metaphase")
    insert_after_source(viewer, gy, "metaphase")
    first = _yx(gx)
    viewer.layers.remove(gx)
    again = Image(np.zeros((3, 80, 80)), name="metaphase_sobel_magnitude")
    insert_after_source(viewer, again, "metaphase")
    assert _yx(again) == first


def test_outputs_take_their_source_scale_and_overlays_its_translate():
    viewer = ViewerModel()
    source = viewer.add_image(np.zeros((40, 60)), scale=(0.5, 0.25), translate=(3, 4))
    mask = Labels(np.zeros((40, 60), np.uint8), name=f"{source.name}_mask")
    insert_after_source(viewer, mask, source.name)  # a viewer the launcher did not tile
    np.testing.assert_allclose(mask.scale, (0.5, 0.25))
    np.testing.assert_allclose(mask.translate, (3, 4))
    assert TITLES not in viewer.layers  # nothing tiled, nothing named
    assert all(TILE_KEY not in layer.metadata for layer in viewer.layers)


def test_an_output_leaves_the_users_selection_alone(viewer):
    """napari's private ``_activate_on_insert`` is switched off for the insert only."""
    viewer.layers.selection.active = viewer.layers["interphase"]
    layer = Image(np.zeros((3, 80, 80)), name="interphase_sobel_gx")
    assert insert_unselected(viewer.layers, len(viewer.layers), layer) is True
    assert viewer.layers.selection.active is viewer.layers["interphase"]
    assert viewer.layers.selection == {viewer.layers["interphase"]}
    assert viewer.layers._activate_on_insert is True  # napari's default, back again
    insert_after_source(viewer, Image(np.zeros((3, 80, 80)), name="interphase_mag"), "interphase")
    assert viewer.layers.selection.active is viewer.layers["interphase"]


def test_where_napari_private_flag_differs_the_output_is_inserted_as_napari_does(
    viewer, monkeypatch
):
    # a napari whose flag is no longer a bool: the shim keeps off it
    monkeypatch.setattr(viewer.layers, "_activate_on_insert", 1)
    viewer.layers.selection.active = viewer.layers["interphase"]
    layer = Image(np.zeros((3, 80, 80)), name="interphase_sobel_gx")
    assert insert_unselected(viewer.layers, len(viewer.layers), layer) is False
    assert layer in viewer.layers
    assert viewer.layers.selection.active is layer  # napari's own insert path ran
    assert viewer.layers._activate_on_insert == 1  # untouched


def test_tile_names_never_overlap_at_any_zoom():
    from napari_nuclei_edges._plugin.grid import GAP
    from napari_nuclei_edges._plugin.tile_names import CHARACTER_PX_PER_POINT, TITLE_POINTS

    viewer = ViewerModel()
    for name in ("interphase", "prometaphase", "metaphase", "anaphase", "apoptosis"):
        viewer.add_image(np.zeros((3, 80, 80), np.uint8), name=name)
    tile_layers(viewer)
    titles = viewer.layers[TITLES]
    for zoom in (0.3, 0.57, 1.0, 2.0, 8.0):  # 0.57: napari's first window on a laptop
        viewer.camera.zoom = zoom
        size = titles.text.size
        tile_px = 80 * (1 + GAP / 2) * zoom  # a tile and half the gap to the next
        shown = list(titles.features["shown"])
        assert all(len(s) * CHARACTER_PX_PER_POINT * size <= tile_px for s in shown), zoom
        assert list(titles.features["name"])[1] == "prometaphase"  # whole in the features
    assert titles.text.size == TITLE_POINTS and shown[1] == "prometaphase"  # zoomed in: whole
    viewer.camera.zoom = 0.57
    assert titles.features["shown"][1].endswith("…") and 6 <= titles.text.size < TITLE_POINTS


def test_a_layer_the_user_adds_gets_a_column_of_its_own(viewer):
    from napari_nuclei_edges._plugin.grid import place_in_new_column  # noqa: F401

    right = max(float(layer.translate[-1]) + 80 for layer in viewer.layers if layer.name != TITLES)
    field = viewer.add_image(np.zeros((512, 512), np.uint16), name="my field")
    tile = field.metadata[TILE_KEY]
    assert tile["column"] == 2 and tile["row"] == 0
    assert float(field.translate[-1]) > right  # beside the class tiles, not on them
    assert "my field" in list(viewer.layers[TITLES].features["name"])
    # its outputs go beneath it, one 512-px tile down; the classes' stay 80-px apart
    out = Image(np.zeros((512, 512), np.float32), name="my field_sobel_gx")
    insert_after_source(viewer, out, "my field")
    assert float(out.translate[-2]) > 512 and out.translate[-1] == field.translate[-1]
    small = Image(np.zeros((3, 80, 80), np.float32), name="metaphase_sobel_gx")
    insert_after_source(viewer, small, "metaphase")
    assert 80 < float(small.translate[-2]) < 120
    # an output of the plugin's own is never given a column
    owned = viewer.add_image(np.zeros((8, 8)), name="x", metadata={"napari_nuclei_edges": {}})
    assert TILE_KEY not in owned.metadata


def test_columns_are_as_wide_as_their_images():
    viewer = ViewerModel()
    viewer.add_image(np.zeros((512, 512), np.uint16), name="field")
    viewer.add_image(np.zeros((3, 80, 80), np.uint8), name="interphase")
    viewer.add_image(np.zeros((3, 80, 80), np.uint8), name="metaphase")
    tile_layers(viewer)
    xs = [float(viewer.layers[n].translate[-1]) for n in ("field", "interphase", "metaphase")]
    assert xs[0] == 0 and xs[1] > 512 and xs[2] - xs[1] < 100  # crops keep their spacing


def test_an_output_tile_is_named_without_its_source(viewer):
    for what in ("sobel_gx", "sobel_gy"):
        layer = Image(np.zeros((3, 80, 80), np.float32), name=f"metaphase_{what}")
        insert_after_source(viewer, layer, "metaphase")
    viewer.camera.zoom = 4.0  # room for every name whole
    titles = viewer.layers[TITLES]
    shown = dict(zip(titles.features["name"], titles.features["shown"], strict=True))
    assert shown["metaphase_sobel_gx"] == "sobel_gx" and shown["metaphase"] == "metaphase"
