"""focus_map: the sharpest slice of each tile, for a field whose focus changes across it."""

import numpy as np
import pytest

from napari_nuclei_edges.focus import (
    FOCUS_MEASURES,
    expand_map,
    focus_map,
    focus_measures,
    synthetic_focus_stack,
    tile_starts,
)


@pytest.fixture(scope="module")
def tilted():
    """The left half in focus at slice 2, the right half at slice 6."""
    left, _ = synthetic_focus_stack(slices=9, best=2, noise=1.0, seed=1)
    right, _ = synthetic_focus_stack(slices=9, best=6, noise=1.0, seed=2)
    return np.concatenate([left[..., :200], right[..., 200:]], axis=-1)


@pytest.mark.parametrize("measure", ["brenner", "tenengrad", "normalised_variance"])
def test_a_tilted_field_gives_each_half_its_own_best_slice(tilted, measure):
    m = focus_map(tilted, measure, tile=80)
    assert m.shape == (4, 5)
    assert np.all(m[:, :2] == 2) and np.all(m[:, 3:] == 6)  # the middle column straddles


def test_each_tile_equals_the_measure_of_that_tile(tilted):
    m = focus_map(tilted, "laplacian_variance", tile=64, axis=0)
    rows, cols = tile_starts(320, 64), tile_starts(400, 64)
    assert cols.tolist() == [0, 64, 128, 192, 256, 320, 336]  # the last ends at the border
    for i, top in enumerate(rows):
        for j, left in enumerate(cols):
            crop = tilted[:, top : top + 64, left : left + 64]
            values = focus_measures(crop, "laplacian_variance")["laplacian_variance"]
            assert m[i, j] == int(np.argmax(values))


def test_any_axis_and_constant_tiles(tilted):
    stack = tilted.copy()
    stack[:, :40, :40] = 7  # a flat corner in every slice: no detail to judge
    moved = np.moveaxis(stack, 0, -1)
    m = focus_map(moved, tile=40, axis=-1)
    np.testing.assert_array_equal(m, focus_map(stack, tile=40))
    assert m[0, 0] == -1 and (m[1:] >= 0).all()


def test_expand_paints_each_pixel_with_its_tile():
    m = np.arange(6).reshape(2, 3)
    full = expand_map(m, (7, 10), 4)
    assert full.shape == (7, 10)
    assert full[0, 0] == 0 and full[6, 9] == 5 and full[3, 4] == 1 and full[4, 3] == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"tile": 2}, ValueError, "does not fit slices of 320 × 400: choose from 3 to 320"),
        ({"tile": 400}, ValueError, "does not fit"),
        ({"tile": 8.5}, TypeError, "whole number of pixels"),
        ({"measure": ("brenner", "spectral")}, TypeError, "one measure name"),
        ({"measure": "sharpness"}, ValueError, "Unknown focus measure 'sharpness'"),
        ({"axis": 3}, ValueError, "axis"),
    ],
)
def test_bad_arguments_get_a_sentence(tilted, kwargs, error, words):
    with pytest.raises(error, match=words):
        focus_map(tilted, **kwargs)


def test_nan_is_counted_not_mapped(tilted):
    stack = tilted.astype(np.float32)
    stack[3, 10, 10] = np.nan
    with pytest.raises(ValueError, match="1 pixel"):
        focus_map(stack)


def test_every_measure_runs(tilted):
    for measure in FOCUS_MEASURES:
        assert focus_map(tilted, measure, tile=160).shape == (2, 3)


def test_added_noise_is_reproducible_and_brings_false_maxima():
    from napari_nuclei_edges.focus import false_maxima

    stack, _ = synthetic_focus_stack(slices=15, best=7, noise=0.0, seed=3)
    clean = focus_measures(stack)
    again = focus_measures(stack, noise=0.0)
    for name in FOCUS_MEASURES:
        np.testing.assert_array_equal(clean[name], again[name])
    noisy = focus_measures(stack, noise=40.0, seed=5)
    same = focus_measures(stack, noise=40.0, seed=5)
    assert all(np.array_equal(noisy[n], same[n]) for n in FOCUS_MEASURES)
    assert sum(false_maxima(clean[n]) for n in FOCUS_MEASURES) == 0
    assert sum(false_maxima(noisy[n]) for n in FOCUS_MEASURES) > 0


@pytest.mark.parametrize(
    ("noise", "error"), [(-1, ValueError), (np.nan, ValueError), ("a", TypeError)]
)
def test_bad_noise_gets_a_sentence(noise, error):
    with pytest.raises(error, match="noise"):
        focus_measures(np.zeros((3, 8, 8)), noise=noise)
