"""Classify every nucleus of a field: never the whole field as one nucleus."""

import numpy as np
import pytest

from napari_nuclei_edges.classification import classify_nuclei, fit_classifier, predict
from napari_nuclei_edges.classification.field import nucleus_crops
from napari_nuclei_edges.data import CLASS_NAMES, synthetic_field, synthetic_nuclei


@pytest.fixture(scope="module")
def model():
    images = synthetic_nuclei(n_per_class=20)
    steps = list(fit_classifier(images, model="features", epochs=40, seed=0))
    return steps[-1].model


def _mosaic(images, per_row=6):
    """The sample's crops laid side by side: a field whose every nucleus's stage is known."""
    rows = [np.hstack(images[i : i + per_row]) for i in range(0, len(images), per_row)]
    return np.vstack(rows)


def test_a_field_is_refused_by_predict_and_classified_nucleus_by_nucleus(model):
    image, labels = synthetic_field(size=256, n_nuclei=30)
    with pytest.raises(ValueError, match="classify_nuclei"):
        predict(model, image)  # not one 256 × 256 crop
    table = classify_nuclei(model, image, labels)
    assert len(table["label"]) == 30 and set(table["label"]) == set(range(1, 31))
    assert set(table["stage"]) <= set(CLASS_NAMES) and len(set(table["stage"])) >= 1
    assert np.all((table["probability"] > 0) & (table["probability"] <= 1))
    for name in model.feature_names:
        assert len(table[name]) == 30  # the measurements the model used, per nucleus
    found = classify_nuclei(model, image)  # segmented by segment_nuclei's defaults
    assert len(found["label"]) >= 25  # touching nuclei split: not one row per clump


def test_each_crop_of_a_mosaic_gets_its_own_stage(model):
    images = synthetic_nuclei(n_per_class=6, seed=3)
    crops = np.concatenate([images[name][:6] for name in ("interphase", "metaphase")])
    field = _mosaic(crops)  # 2 rows of interphase crops, 2 of metaphase, 80 px apart
    table = classify_nuclei(model, field)
    centres = {(int(y // 80), int(x // 80)): s for y, x, s in zip(
        table["centroid_y"], table["centroid_x"], table["stage"], strict=True)
        if abs(y % 80 - 40) < 12 and abs(x % 80 - 40) < 12}  # fmt: skip
    per_crop = predict(model, crops).labels
    agree = [centres.get((i // 6, i % 6)) == per_crop[i] for i in range(12)]
    # as the crop itself is, mostly (the mosaic's segmentation is the field's, not the
    # crop's own: a feature or two differ), and never one stage for the whole mosaic
    assert sum(agree) >= 9 and len(set(centres.values())) >= 2


def test_crops_are_centred_and_padded_with_the_background():
    image = np.full((60, 60), 7, np.uint16)
    image[0:6, 0:6] = 900  # a nucleus in the corner
    labels = (image > 100).astype(np.int32)
    crops, own, table = nucleus_crops(image, labels, (20, 20))
    assert crops.shape == (1, 20, 20) and crops.dtype == np.uint16
    assert table["centroid_y"].tolist() == [2.5] and not table["larger_than_crop"][0]
    assert own[0].sum() == 36 and own[0, 10, 10] == 1  # its own nucleus, whole
    assert crops[0, 10, 10] == 900 and crops[0, 0, 0] == 7  # padded with the background
    big = np.zeros((60, 60), np.int32)
    big[5:50, 5:50] = 1
    assert nucleus_crops(image, big, (20, 20))[2]["larger_than_crop"].tolist() == [True]


def test_bad_input_gets_a_sentence(model):
    with pytest.raises(ValueError, match="one 2D image"):
        classify_nuclei(model, np.zeros((2, 80, 80)))
    with pytest.raises(ValueError, match="labels have shape"):
        classify_nuclei(model, np.zeros((80, 80)), np.zeros((10, 10), int))
