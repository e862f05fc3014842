"""Bad input gets a sentence that says what is wrong and what to do."""

import numpy as np
import pytest

from napari_nuclei_edges.focus import best_focus, focus_measures, synthetic_focus_stack


def test_a_single_image():
    with pytest.raises(ValueError, match=r"single 2D image \(20, 30\).*give a stack"):
        focus_measures(np.zeros((20, 30)))


def test_rgb():
    with pytest.raises(ValueError, match=r"RGB.*Split RGB"):
        focus_measures(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="RGB"):
        focus_measures(np.zeros((5, 20, 30, 4), np.uint8))
    # the last axis as the slice axis: 3 slices of 20 × 30
    assert focus_measures(np.zeros((20, 30, 3)), "brenner", axis=-1)["brenner"].shape == (3,)


def test_four_dimensions():
    with pytest.raises(ValueError, match=r"4D.*one channel or time point"):
        focus_measures(np.zeros((2, 5, 20, 30)))


@pytest.mark.parametrize("axis", [3, -4, 7])
def test_an_axis_that_does_not_exist(axis):
    with pytest.raises(ValueError, match=rf"Axis {axis} does not exist.*3 axes"):
        focus_measures(np.zeros((5, 20, 30)), axis=axis)


def test_slices_too_small():
    with pytest.raises(ValueError, match=r"too small.*check the axis"):
        focus_measures(np.zeros((5, 2, 30)))


def test_nan_says_how_many():
    stack, _ = synthetic_focus_stack(slices=5)
    stack[1, 3, 4] = np.nan
    stack[3, :2, 0] = np.nan
    stack[3, 5, 5] = np.inf
    with pytest.raises(ValueError, match=r"^4 pixels of the stack \(in 2 of 5 slices\) are NaN"):
        focus_measures(stack)
    with pytest.raises(ValueError, match="nan_to_num"):
        best_focus(stack)


def test_unknown_measure():
    with pytest.raises(ValueError, match="Unknown focus measure 'sharpness': choose from brenner"):
        focus_measures(np.zeros((3, 8, 8)), ["brenner", "sharpness"])
    with pytest.raises(ValueError, match="No measure"):
        focus_measures(np.zeros((3, 8, 8)), [])
    with pytest.raises(TypeError, match="one measure name"):
        best_focus(np.zeros((3, 8, 8)), ["brenner"])


def test_complex_data():
    with pytest.raises(TypeError, match=r"complex128.*real numbers"):
        focus_measures(np.zeros((3, 8, 8), complex))


def test_synthetic_stack_bad_arguments():
    with pytest.raises(ValueError, match="one 2D grey image"):
        synthetic_focus_stack(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="not a slice"):
        synthetic_focus_stack(slices=5, best=5)
    with pytest.raises(ValueError, match="at least 1 slice"):
        synthetic_focus_stack(slices=0)
