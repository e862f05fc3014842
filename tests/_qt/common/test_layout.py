"""Labels that wrap: long names break, numbers never do."""

import pytest

from napari_nuclei_edges._qt.common.layout import WrappingLabel, breakable


def _lines(label: WrappingLabel, width: int) -> list[str]:
    """The lines Qt lays ``label``'s text out in, at ``width`` pixels."""
    from qtpy.QtGui import QTextLayout

    shown = super(WrappingLabel, label).text()  # with its break points
    layout = QTextLayout(shown, label.font())
    layout.beginLayout()
    lines = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        lines.append(shown[line.textStart() : line.textStart() + line.textLength()])
    layout.endLayout()
    return [line.replace("\u200b", "").strip() for line in lines]


@pytest.mark.parametrize("number", ["3.9e-05", "-0.25", "1.000000", "12.5%"])
def test_a_number_never_breaks_when_a_sentence_wraps(qtbot, number):
    label = WrappingLabel(f"largest stable ≈ {number}, the rate_of_the_run")
    qtbot.addWidget(label)
    for width in range(20, 400, 3):
        lines = _lines(label, width)
        assert any(number in line for line in lines), (width, lines)


def test_a_long_name_still_breaks_at_its_underscores(qtbot):
    label = WrappingLabel("DAPI_field03_deconvolved_MaxIP")
    qtbot.addWidget(label)
    assert len(_lines(label, 60)) > 1
    assert label.text() == "DAPI_field03_deconvolved_MaxIP"  # given back as set
    assert breakable("a.tif") == "a.\u200btif"
