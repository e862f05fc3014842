"""A long layer name never widens a dock (napari gives a dock 280 px at 1366 × 768)."""

import numpy as np
import pytest
from qtpy.QtWidgets import QComboBox, QWidget

LONG = "DAPI_field03_deconvolved_MaxIP_2024-11-21_experiment_B"


@pytest.mark.parametrize(
    "display_name",
    [
        "Sobel edges",
        "Learn a kernel",
        "Classify the stage",
        "Histograms and threshold",
        "Learn a segmentation",
        "Find the focus",
    ],
)
def test_a_long_layer_name_leaves_the_dock_as_narrow(viewer, open_dock, qtbot, display_name):
    widget = open_dock(display_name)
    content = widget.findChild(QWidget, "dock_content")
    qtbot.wait(50)
    before = content.minimumSizeHint().width()
    viewer.add_image(np.zeros((40, 40), np.uint8), name=LONG)
    qtbot.wait(50)
    assert content.minimumSizeHint().width() <= before
    offered = [
        combo.itemText(i) for combo in widget.findChildren(QComboBox) for i in range(combo.count())
    ]
    if display_name != "Histograms and threshold":  # a list there, not a combo box
        assert any(LONG in text for text in offered)  # offered whole in the list


def test_the_threshold_dock_names_a_long_layer_whole_where_it_can(viewer, open_dock, qtbot):
    widget = open_dock("Histograms and threshold")
    content = widget.findChild(QWidget, "dock_content")
    qtbot.wait(50)
    before = content.minimumSizeHint().width()
    viewer.add_image(np.random.default_rng(0).integers(0, 255, (40, 40)), name=LONG)
    widget.select_layers([LONG, "metaphase"])
    qtbot.wait(50)
    table = widget._stats_table
    rows = [table.verticalHeaderItem(r) for r in range(table.rowCount())]
    long_row = next(item for item in rows if item.toolTip().startswith(LONG))  # name whole
    assert "…" in long_row.text() and len(long_row.text()) < len(LONG)
    assert content.minimumSizeHint().width() <= before


def test_a_sobel_run_on_a_long_named_layer_keeps_the_dock_narrow(viewer, open_dock, qtbot):
    widget = open_dock("Sobel edges")
    content = widget.findChild(QWidget, "dock_content")
    qtbot.wait(50)
    before = content.minimumSizeHint().width()
    viewer.add_image(np.zeros((2, 40, 40), np.float32), name=LONG)  # flat: "noisy" offer?
    widget.layer_name = LONG
    widget._run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=20_000)
    assert f"{LONG}_sobel_gx" in viewer.layers
    widget.layer_name = "missing"  # a message that names the layer
    widget._say(f"{LONG} was removed before its Sobel outputs were ready.")
    assert widget._status_label.text().startswith(LONG)  # the whole name, as set
    assert content.minimumSizeHint().width() <= before
