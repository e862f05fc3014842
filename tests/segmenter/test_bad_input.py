"""Bad input gets a sentence: what happened and what to do."""

import numpy as np
import pytest

from napari_nuclei_edges.segmenter import SegmenterDiverged, fit_segmenter, segment_with


@pytest.fixture(scope="module")
def pair(draw):
    return draw.touching_pairs(64, seed=1)


def _first(images, labels, **options):
    return next(fit_segmenter(images, labels, epochs=1, **options))


@pytest.mark.parametrize(
    ("images", "labels", "options", "sentence"),
    [
        (np.zeros((64, 64)), np.zeros((64, 60), int), {},
         "The labels are of shape (64, 60), the images of shape (64, 64): give one label "
         "image per image, of its size."),
        (np.zeros((64, 64)), np.zeros((64, 64), int), {"sparse": True},
         "The labels hold no labelled pixel: paint some nuclei with 1 and some background "
         "with 2."),
        (np.zeros((64, 64)), np.ones((64, 64), int), {"sparse": True},
         "The labels mark only nucleus: the segmenter learns from both; paint some "
         "background (2) too."),
        (np.zeros((64, 64)), np.full((64, 64), 2), {"sparse": True},
         "The labels mark only background: the segmenter learns from both; paint some "
         "nuclei (1) too."),
        (np.zeros((64, 64)), np.full((64, 64), 3), {"sparse": True},
         "The labels hold 3: scribbles are 1 (nucleus), 2 (background) and 0 (not "
         "labelled); for instance labels leave sparse off."),
        (np.zeros((64, 64)), np.zeros((64, 64), int), {},
         "The labels hold no nucleus (every pixel is 0, background): label some nuclei, "
         "or set sparse for scribbles."),
        (np.zeros((64, 64)), np.ones((64, 64), int), {},
         "The labels hold no background (no pixel is 0): the segmenter learns from both "
         "nuclei and background."),
        (np.zeros((64, 64)), np.zeros((64, 64)), {},
         "The labels hold float64 values: labels are whole numbers (0 background, 1, 2, "
         "... one per nucleus)."),
        (np.zeros((64, 64, 3)), np.zeros((64, 64, 3), int), {},
         "The images look like RGB (shape (64, 64, 3)): the segmenter needs single-channel "
         "images; split the channels first."),
        (np.zeros((2, 3, 64, 64)), np.zeros((2, 3, 64, 64), int), {},
         "The images must be one 2D image (H, W) or a stack (N, H, W), not shape "
         "(2, 3, 64, 64)."),
        (np.full((64, 64), np.nan), np.zeros((64, 64), int), {},
         "The images contain NaN or infinite pixels: replace them (for example with 0) "
         "first."),
        (np.zeros((6, 64)), np.zeros((6, 64), int), {},
         "The images are 6 × 64 pixels: too small to hold a nucleus; the segmenter needs "
         "8 × 8 or more."),
        (np.zeros((64, 64), complex), np.zeros((64, 64), int), {},
         "The images hold complex128 values, not real numbers."),
    ],
)  # fmt: skip
def test_refused_with_a_sentence(images, labels, options, sentence):
    with pytest.raises(ValueError) as error:
        _first(images, labels, **options)
    assert str(error.value) == sentence


def test_bad_options_and_budgets(pair):
    image, truth = pair
    with pytest.raises(ValueError, match="dept is not an option of the segmenter; the options "
                                         "are depth, channels"):  # fmt: skip
        _first(image, truth, dept=2)
    with pytest.raises(ValueError, match=r"depth must be an integer from 1 to 5, not 9\."):
        _first(image, truth, depth=9)
    with pytest.raises(ValueError, match=r"patch_size must be a multiple of 4 .* not 30\."):
        _first(image, truth, patch_size=30)
    with pytest.raises(ValueError, match=r"seconds must be positive, not 0\."):
        next(fit_segmenter(image, truth, seconds=0))
    with pytest.raises(ValueError, match=r"epochs must be a whole number of at least 1"):
        next(fit_segmenter(image, truth, epochs=0))
    with pytest.raises(ValueError, match=r"validation must be a fraction from 0 to 1, not 1.5"):
        _first(image, truth, validation=1.5)
    with pytest.raises(ValueError, match=r"validation must be \(images, labels\)"):
        _first(image, truth, validation=(image,))
    with pytest.raises(ValueError, match=r"The validation labels are of shape \(64, 32\)"):
        _first(image, truth, validation=(image, truth[:, :32]))


def test_a_learning_rate_that_explodes_stops_with_a_sentence(pair, tiny):
    image, truth = pair
    options = {**tiny, "learning_rate": 1e4}
    with pytest.raises(SegmenterDiverged) as error:
        list(fit_segmenter(image, truth, epochs=20, steps_per_epoch=5, **options))
    assert "Training diverged at epoch" in str(error.value)
    assert "the learning rate 10000 is too large; try one 10 times smaller." in str(error.value)
    step = error.value.step  # the last good step, for the dock to keep
    assert step is None or step.epoch >= 1


def test_segment_with_refuses_what_it_cannot_label(pair, field_run):
    model = field_run[-1].model
    with pytest.raises(TypeError, match="model must be a trained segmenter"):
        segment_with("model.pt", pair[0])
    with pytest.raises(ValueError, match="look like RGB"):
        segment_with(model, np.zeros((64, 64, 3)))
    nan = pair[0].copy()
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="contain NaN or infinite pixels"):
        segment_with(model, nan)
    with pytest.raises(ValueError, match=r"tile must be a multiple of 2, not 33\."):
        segment_with(model, pair[0], tile=33)
    with pytest.raises(ValueError, match="device 'gpu9' is not available here"):
        segment_with(model, pair[0], device="gpu9")
