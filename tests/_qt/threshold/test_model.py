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
    state.offer([*offered, ("new", False)])  # a new layer of the same kind starts selected
    assert state.layers == ("metaphase_sobel_gx", "anaphase", "new")
    state.rename("anaphase", "plates")
    assert "plates" in state.layers and "anaphase" not in state.layers


CLASS, FIELD = ("uint8", (80, 80)), ("uint16", (512, 512))


def test_a_layer_that_arrives_joins_only_another_class_of_the_dataset(state):
    classes = [("interphase", False, CLASS), ("metaphase", False, CLASS)]
    state.offer(classes)
    assert state.layers == ("interphase", "metaphase")  # the first layers: all ticked
    state.offer([*classes, ("field", False, FIELD)])  # a stray image: not counted
    assert state.layers == ("interphase", "metaphase")
    state.offer([*classes, ("field", False, FIELD), ("anaphase", False, CLASS)])
    assert state.layers == ("interphase", "metaphase", "anaphase")  # another class
    # the tick a layer got on arriving stays: the next offer does not revisit it
    state.offer([*classes, ("field", False, FIELD), ("anaphase", False, CLASS)])
    assert "field" not in state.layers
    offered = [*classes, ("field", False, FIELD)]
    state.choose("field", True, offered)  # the user's own tick wins
    assert state.layers == ("interphase", "metaphase", "field")
    state.rename("field", "plate")
    assert state.arrived["plate"] is False and "field" not in state.arrived


def test_with_nothing_ticked_a_new_layer_is_ticked_as_the_first_ones(state):
    state.offer([("a", False, CLASS)])
    state.choose("a", False, [("a", False, CLASS)])
    assert state.layers == ()
    state.offer([("a", False, CLASS), ("field", False, FIELD)])
    assert state.layers == ("field",)


def test_a_layer_deleted_and_added_again_arrives_again(state):
    state.offer([("a", False, CLASS)])
    state.offer([("a", False, CLASS), ("b", False, FIELD)])
    assert state.layers == ("a",)
    state.offer([("b", False, FIELD)])  # a deleted: b stays as it arrived
    assert state.layers == ()
    state.offer([("b", False, FIELD), ("a", False, CLASS)])
    assert state.layers == ("a",) and "a" in state.arrived


def test_counts_are_singular_for_one():
    from napari_nuclei_edges._qt.threshold.model import counted

    assert counted(1, "layer") == "1 layer" and counted(0, "layer") == "0 layers"
    assert counted(2, "nucleus", "nuclei") == "2 nuclei"
    assert counted(1_234_567, "pixel") == "1,234,567 pixels"


def test_plan_and_result_agree_on_one_image(state):
    from napari_nuclei_edges._qt.threshold.model import AS_SET, PER_IMAGE, used_thresholds

    state.offer([("field", False, FIELD)])
    state.use_method("otsu", 77.0)
    state.set_segment_rule(PER_IMAGE)
    plan = state.apply_plan(sigma=1.0, images=1)
    result = used_thresholds("field", [76.5], state.apply_rule, state.method, layers=1)
    assert plan == "Apply uses otsu on the one image, after smoothing σ = 1."
    assert result == "field_labels: otsu on its image, t = 76.5."
    for text in (plan, result):
        assert "pooled" not in text and "per image" not in text and "each image" not in text
    state.set_segment_rule(AS_SET)  # the method's one value: of this one image
    assert state.apply_plan(images=1) == "Apply uses t = 77 (otsu of the image) on the one image."
    assert used_thresholds("field", [77.0], AS_SET, "otsu", layers=1) == (
        "field_labels: t = 77 on its image (otsu of the image)."
    )
    # several layers: pooled over them, counted
    state.offer([("a", False, FIELD), ("b", False, FIELD)])
    assert state.apply_plan(images=2) == (
        "Apply uses t = 77 (otsu, pooled over 2 layers) on every image."
    )
    state.offer([("a", False, FIELD)])
    assert "(otsu of the layer's images) on every image" in state.apply_plan(images=5)


def test_polarity_is_checked(state):
    state.set_polarity("dark")
    assert state.polarity == "dark"
    with pytest.raises(ValueError, match="polarity"):
        state.set_polarity("grey")
