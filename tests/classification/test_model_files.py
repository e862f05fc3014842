"""Foreign, damaged or tampered model files: one sentence, never a model that lies."""

import json

import numpy as np
import pytest
import torch

from napari_nuclei_edges.classification import (
    MODEL_FEATURES,
    fit_classifier,
    load_classifier,
    predict,
    save_classifier,
)
from napari_nuclei_edges.data import synthetic_nuclei


@pytest.fixture(scope="module")
def data():
    return synthetic_nuclei(n_per_class=5, seed=2)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    """A feature model and a tiny CNN saved as the dock saves them: (.pt path, model)."""
    folder = tmp_path_factory.mktemp("models")
    *_, features = fit_classifier(data, model="features", epochs=5)
    *_, cnn = fit_classifier(data, model="cnn", epochs=1, layers=1, channels=4)
    return {
        "features": (save_classifier(folder / "features", features.model), features.model),
        "cnn": (save_classifier(folder / "cnn", cnn.model), cnn.model),
    }


def _copy(tmp_path, weights, change=None, state=None):
    """A copy of a saved model, its description changed by ``change(info)``."""
    info = json.loads(weights.with_suffix(".json").read_text())
    if change is not None:
        change(info)
    copy = tmp_path / "copy"
    copy.with_suffix(".json").write_text(json.dumps(info))
    if state is None:
        copy.with_suffix(".pt").write_bytes(weights.read_bytes())
    else:
        torch.save(state, copy.with_suffix(".pt"))
    return copy.with_suffix(".pt")


TAMPERED = {
    "a key missing": (lambda i: i.pop("feature_mean"), "lacks feature_mean"),
    "an option of the wrong type": (lambda i: i["options"].update(layers="2"),
                                    "option layers must be int"),
    "options not a mapping": (lambda i: i.update(options=[1]), "options must be a mapping"),
    "class names not text": (lambda i: i.update(class_names=[1, 2, 3, 4, 5]),
                             "class_names must be a list of names"),
    "a class named twice": (lambda i: i["class_names"].__setitem__(1, i["class_names"][0]),
                            "names ['interphase'] more than once"),
    "a measurement it cannot make": (lambda i: i["feature_names"].__setitem__(0, "colour"),
                                     "['colour'] are not measurements"),
    "feature_mean of the wrong length": (lambda i: i["feature_mean"].pop(),
                                         f"feature_mean holds {len(MODEL_FEATURES) - 1} numbers"),
    "a NaN mean": (lambda i: i["feature_mean"].__setitem__(0, float("nan")),
                   "feature_mean holds NaN"),
    "feature_std all zero": (lambda i: i.update(feature_std=[0.0] * len(i["feature_std"])),
                             "feature_std holds zeros"),
    "a bad image size": (lambda i: i.update(image_size=[80, -1]), "image_size must be two"),
    "a boolean version": (lambda i: i.update(version=True), "is not a version number"),
}  # fmt: skip


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_description_is_refused_in_a_sentence(tmp_path, saved, case):
    change, words = TAMPERED[case]
    path = _copy(tmp_path, saved["features"][0], change)
    with pytest.raises(ValueError, match=r"copy\.json") as raised:
        load_classifier(path)
    assert words in str(raised.value)


def test_json_nested_too_deeply_or_too_large_is_refused(tmp_path, saved):
    path = _copy(tmp_path, saved["features"][0])
    path.with_suffix(".json").write_text("[" * 100_000 + "]" * 100_000)  # RecursionError
    with pytest.raises(ValueError, match="nested too deeply"):
        load_classifier(path)
    path.with_suffix(".json").write_text(" " * (2 << 20))
    with pytest.raises(ValueError, match="far more than a classifier"):
        load_classifier(path)


def test_weights_that_give_nan_or_overflow_are_refused_at_load(tmp_path, saved):
    weights, model = saved["cnn"]
    state = {k: v.clone() for k, v in model.net.state_dict().items()}
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first][...] = float("nan")
    with pytest.raises(ValueError, match="holds NaN or infinite weights"):
        load_classifier(_copy(tmp_path, weights, state=state))
    huge = {k: (v * 1e30 if v.is_floating_point() else v) for k, v in
            model.net.state_dict().items()}  # fmt: skip
    with pytest.raises(ValueError, match="gives no finite probabilities"):
        load_classifier(_copy(tmp_path, weights, state=huge))
    missing = dict(list(model.net.state_dict().items())[1:])
    with pytest.raises(ValueError, match="does not hold the weights of the network"):
        load_classifier(_copy(tmp_path, weights, state=missing))


def test_a_good_model_still_loads_and_predicts_the_same(saved, data):
    for weights, model in saved.values():
        loaded = load_classifier(weights)
        np.testing.assert_allclose(
            predict(loaded, data["metaphase"]).probabilities,
            predict(model, data["metaphase"]).probabilities, rtol=1e-5,
        )  # fmt: skip


def test_predict_never_labels_a_nan_image_and_says_so(saved, data):
    _, model = saved["features"]
    images = data["anaphase"].astype(np.float32)
    images[1] = np.nan  # all NaN: once "Class 'images' ... before training"
    images[3, :5] = np.inf
    found = predict(model, images)
    assert found.labels[1] == "" and found.labels[3] == ""
    assert np.isnan(found.probabilities[[1, 3]]).all()
    assert found.indices[[1, 3]].tolist() == [-1, -1]
    expected = predict(model, data["anaphase"][[0, 2, 4]])
    assert found.labels[[0, 2, 4]].tolist() == expected.labels.tolist()
    assert found.note.startswith("2 images have no finite class probabilities")
    assert predict(model, data["anaphase"]).note == ""


def test_predict_with_a_block_size_of_zero_is_a_sentence(saved, data):
    with pytest.raises(ValueError, match="block_size must be a whole number of images"):
        predict(saved["features"][1], data["anaphase"], block_size=0)


def test_class_keys_that_collide_as_text_are_refused(data):
    stacks = {1: data["interphase"], "1": data["metaphase"], "b": data["anaphase"]}
    with pytest.raises(ValueError, match=r"The classes 1, '1' have the same name as text"):
        next(fit_classifier(stacks, epochs=1))


#: The measurements a feature model read before the texture measurements were added.
OLD_FEATURES = ("area", "perimeter", "major_axis_length", "minor_axis_length",
                "eccentricity", "solidity", "intensity_mean", "intensity_max",
                "intensity_std", "object_count")  # fmt: skip


def test_a_model_file_saved_before_the_hidden_layer_loads_as_logistic_regression(tmp_path, data):
    """A file of the earlier feature model: its options without ``hidden``, a linear head on
    the ten measurements it read. It loads and gives softmax(W · standardised + b)."""
    from napari_nuclei_edges.classification import measure

    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(5, 10)), rng.normal(size=5)
    mean, std = rng.normal(size=10) * 100, rng.uniform(1, 100, size=10)
    state = {"head.weight": torch.tensor(weight, dtype=torch.float32),
             "head.bias": torch.tensor(bias, dtype=torch.float32)}  # fmt: skip
    torch.save(state, tmp_path / "old.pt")
    options = {"model": "features", "layers": 4, "channels": 8, "weight_decay": None,
               "epochs": None, "seed": 0, "features": None}  # fmt: skip
    info = {"format": "napari-nuclei-edges classifier", "version": 1,
            "plugin_version": "0.1", "options": options, "class_names": list(data),
            "feature_names": list(OLD_FEATURES), "feature_mean": mean.tolist(),
            "feature_std": std.tolist(), "image_size": [80, 80]}  # fmt: skip
    (tmp_path / "old.json").write_text(json.dumps(info))
    model = load_classifier(tmp_path / "old.pt")
    assert model.options.hidden_units == 0 and model.feature_names == OLD_FEATURES
    images = data["prometaphase"]
    table = measure(images)
    x = (np.stack([table[n] for n in OLD_FEATURES], 1) - mean) / std
    logits = x @ weight.T + bias
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(predict(model, images).probabilities, expected, atol=1e-5)
