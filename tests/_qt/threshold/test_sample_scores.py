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
