"""A model records the intensities it learned from; images unlike them get a sentence, once."""

import json
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from napari_nuclei_edges.classification import (
    fit_classifier,
    load_classifier,
    predict,
    save_classifier,
)
from napari_nuclei_edges.data import synthetic_nuclei

SAID = "are not in the range the model learned from (uint8, "


@pytest.fixture(scope="module")
def data():
    return synthetic_nuclei(n_per_class=6, seed=2)


@pytest.fixture(scope="module")
def model(data):
    *_, last = fit_classifier(data, model="features", epochs=5)
    return last.model


def test_the_model_records_the_training_images_dtype_and_percentiles(model, data):
    pooled = np.concatenate(list(data.values()))
    assert model.intensity == {"dtype": "uint8", "low": float(np.percentile(pooled, 1)),
                               "high": float(np.percentile(pooled, 99))}  # fmt: skip


def test_the_same_images_as_16_bit_are_classified_with_a_sentence_once(model, data):
    images = data["metaphase"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training range: not a word
        alike = predict(model, images)
    assert alike.caveat == "" and alike.note == ""
    with pytest.warns(UserWarning, match=re.escape(SAID)) as said:
        wide = predict(model, images.astype(np.uint16) * 257, block_size=2)
    assert len(said) == 1  # one sentence, not one per block
    assert wide.caveat.startswith("These images (uint16, 1st–99th percentile ")
    assert wide.caveat in wide.note
    assert "scale them like the training images, or train on images like these." in wide.note


def test_a_dimmer_float_stack_is_said_too(model, data):
    with pytest.warns(UserWarning, match=re.escape(SAID)):
        predict(model, data["anaphase"].astype(np.float32) / 255)


def test_the_range_survives_save_and_load_and_an_old_file_has_none(model, tmp_path):
    weights = save_classifier(tmp_path / "m", model)
    assert load_classifier(weights).intensity == model.intensity
    meta = weights.with_suffix(".json")
    info = json.loads(meta.read_text())
    del info["intensity"]  # saved before the range was kept: loads, says nothing
    meta.write_text(json.dumps(info))
    assert load_classifier(weights).intensity is None


@pytest.mark.parametrize("bad, why", [
    ({"dtype": "uint8", "low": 0}, "intensity must hold dtype, low and high"),
    ({"dtype": "bogus", "low": 0, "high": 1}, "is not a numeric dtype"),
    ({"dtype": "uint8", "low": float("nan"), "high": 1}, "intensity holds NaN"),
    ({"dtype": "uint8", "low": 9, "high": 1}, "intensity's low is above its high"),
])  # fmt: skip
def test_a_tampered_range_is_refused_whole(model, tmp_path, bad, why):
    weights = save_classifier(tmp_path / "m", model)
    meta = weights.with_suffix(".json")
    text = json.dumps({**json.loads(meta.read_text()), "intensity": bad})
    meta.write_text(text)
    with pytest.raises(ValueError, match=why):
        load_classifier(weights)
