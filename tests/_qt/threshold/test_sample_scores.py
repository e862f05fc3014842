"""The scores a newcomer reads on the sample: the truth counts nuclei, not images."""

from napari_nuclei_edges.data import CLASS_NAMES

PLUGIN = "napari-nuclei-edges"


def test_apply_with_the_defaults_on_the_sample_splits_no_nucleus(make_napari_viewer, qtbot):
    from napari_nuclei_edges.segmentation import segmentation_scores

    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "synthetic_nuclei")  # File ▸ Open Sample, the whole sample
    truths = [viewer.layers[f"{name}_truth"] for name in CLASS_NAMES]
    assert all(truth.data.max() >= 2 for truth in truths)  # one id per nucleus, not 0/1
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histograms and threshold")
    panel = widget._segmentation_panel
    panel.apply_button.click()  # the dock's defaults: otsu per image, σ = 1, min size 20
    qtbot.waitUntil(lambda: panel.summary_label.text().startswith("Mean Dice"), timeout=60_000)
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=10_000)
    sentence = panel.summary_label.text()
    layers = viewer.layers
    scores = [segmentation_scores(layers[f"{n}_labels"].data, layers[f"{n}_truth"].data)
              for n in CLASS_NAMES]  # fmt: skip
    true = sum(s["true_objects"] for s in scores)
    matched = sum(s["matched"] for s in scores)
    assert true > 2 * 250  # the neighbours at the borders count too
    assert f"over 5 layers · {matched} of {true} nuclei matched · 0 split," in sentence
    assert matched > 0.85 * true
    rows = panel.scores_table.rowCount()
    split = [panel.scores_table.item(r, 5).text() for r in range(rows)]
    assert rows == 5 and split == ["0"] * 5


def test_a_field_and_its_mask_opened_as_files_score_against_each_other(
    make_napari_viewer, qtbot, tmp_path
):
    """A user's field and its truth, two TIFFs opened as a user opens them: the truth
    arrives as an Image layer of integers; it is offered as the truth, never ticked."""
    import tifffile

    from napari_nuclei_edges.data import synthetic_field
    from napari_nuclei_edges.segmentation import segment_nuclei, segmentation_scores

    image, labels = synthetic_field()
    tifffile.imwrite(tmp_path / "field.tif", image)
    tifffile.imwrite(tmp_path / "field_truth.tif", labels.astype("uint16"))
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "field.tif"))
    viewer.open(str(tmp_path / "field_truth.tif"))
    assert type(viewer.layers["field_truth"]).__name__ == "Image"
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histograms and threshold")
    assert widget.state.layers == ("field",)  # the truth is not a histogram layer
    panel = widget._segmentation_panel
    offered = [panel._truth_combo.itemText(i) for i in range(panel._truth_combo.count())]
    assert "field_truth" in offered
    panel.truth_choice = "field_truth"
    panel.apply_button.click()
    qtbot.waitUntil(lambda: panel.summary_label.text().startswith("Mean Dice"), timeout=60_000)
    expected = segmentation_scores(segment_nuclei(image), labels)
    assert panel.scores_table.item(0, 4).text() == f"{expected['matched']}/120"
    assert expected["matched"] >= 100  # touching nuclei split in a crowded field
    said = panel.summary_label.text()
    assert f"{expected['matched']} of 120 nuclei matched" in said
    assert "(field_truth: an Image layer, its integers read as labels" in said


def _in_view(widget) -> bool:
    """Whether all of ``widget`` lies inside its dock's visible scroll viewport."""
    from qtpy.QtCore import QPoint, QRect
    from qtpy.QtWidgets import QScrollArea

    area = widget.parentWidget()
    while not isinstance(area, QScrollArea):
        area = area.parentWidget()
    viewport = area.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().contains(QRect(top_left, widget.size()))


def test_apply_s_scores_and_the_comparison_are_scrolled_into_view_on_a_laptop(
    make_napari_viewer, qtbot
):
    from napari_nuclei_edges._cli import launch

    viewer = make_napari_viewer(show=True)
    launch(viewer=viewer)
    viewer.window.set_geometry(0, 0, 1366, 768)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histograms and threshold")
    panel = widget._segmentation_panel
    assert not _in_view(panel.apply_button) or not _in_view(panel.summary_label)
    panel.apply_button.click()
    qtbot.waitUntil(lambda: panel.summary_label.text().startswith("Mean Dice"), timeout=60_000)
    qtbot.waitUntil(lambda: _in_view(panel.summary_label), timeout=5_000)
    methods = widget._methods_panel
    widget._try_all_button.click()
    qtbot.waitUntil(lambda: methods.table.rowCount() > 0, timeout=60_000)
    qtbot.waitUntil(lambda: _in_view(methods.table) or methods.table.height() > 600,
                    timeout=5_000)  # fmt: skip
