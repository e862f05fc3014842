"""The threshold dock's rules, on its Qt-free state model (no viewer, no widgets)."""

import subprocess
import sys

import pytest

from napari_nuclei_edges._qt.threshold.model import MANUAL, ThresholdState


@pytest.fixture
def state():
    state = ThresholdState()
    state.set_range(0, 255)
    return state


def test_the_model_imports_no_qt_and_no_napari():
    code = (
        "import sys, napari_nuclei_edges._qt.threshold.model; "
        "print(' '.join(m for m in ('qtpy', 'PyQt6', 'PySide6', 'napari', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_method_sets_the_threshold_and_a_typed_value_clears_it(state):
    seen = []
    state.events.threshold.connect(seen.append)
    state.use_method("otsu", 80.0)
    assert (state.method, state.method_value, state.threshold) == ("otsu", 80.0, 80.0)
    state.set_threshold(80.0)  # the method's own value: still the method's
    assert state.method == "otsu"
    state.set_threshold(95.5)
    assert (state.method, state.method_value, state.threshold) == (MANUAL, None, 95.5)
    assert seen == [80.0, 95.5]  # one event per change, none for the same value


def test_a_method_that_finds_nothing_keeps_the_threshold(state):
    state.set_threshold(42)
    state.use_method("minimum", None)
    assert (state.method, state.method_value, state.threshold) == ("minimum", None, 42.0)


def test_a_band_keeps_low_at_most_high(state):
    state.set_threshold(60)
    state.set_band(True)
    assert state.upper == 255.0  # the upper handle starts at the top
    state.set_upper(30)  # below the threshold: held at it
    assert state.upper == 60.0
    state.set_upper(150)
    state.set_threshold(200)  # the threshold pushes the upper handle up
    assert (state.threshold, state.upper) == (200.0, 200.0)


def test_ranges_follow_the_data(state):
    state.set_threshold(200)
    state.set_range(-2.0, 3.0)
    assert (state.low, state.high, state.threshold) == (-2.0, 3.0, 3.0)
    state.set_threshold(-10)
    assert state.threshold == -2.0
    state.set_range(0, 65535)
    assert state.threshold == 0.0 and state.high == 65535.0
    with pytest.raises(ValueError, match="low <= high"):
        state.set_range(5, 1)


def test_selection_offers_user_layers_and_remembers_choices(state):
    offered = [("metaphase", False), ("metaphase_sobel_gx", True), ("anaphase", False)]
    state.offer(offered)
    assert state.layers == ("metaphase", "anaphase")  # plugin outputs start unselected
    state.choose("metaphase", False, offered)
    state.choose("metaphase_sobel_gx", True, offered)
    assert state.layers == ("metaphase_sobel_gx", "anaphase")
    state.offer([*offered, ("new", False)])  # a new layer starts selected
    assert state.layers == ("metaphase_sobel_gx", "anaphase", "new")
    state.rename("anaphase", "plates")
    assert "plates" in state.layers and "anaphase" not in state.layers


def test_polarity_is_checked(state):
    state.set_polarity("dark")
    assert state.polarity == "dark"
    with pytest.raises(ValueError, match="polarity"):
        state.set_polarity("grey")
