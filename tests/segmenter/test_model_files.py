"""Saved segmenters: the same model back; a foreign, damaged or tampered file gets a sentence."""

import json

import numpy as np
import pytest
import torch

from napari_nuclei_edges.segmenter import load_segmenter, save_segmenter, segment_with


@pytest.fixture(scope="module")
def model(field_run):
    return field_run[-1].model


@pytest.fixture(scope="module")
def saved(tmp_path_factory, model):
    return save_segmenter(tmp_path_factory.mktemp("models") / "nuclei", model)


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


def test_the_same_model_comes_back(saved, model, field):
    assert saved.name == "nuclei.pt" and saved.with_suffix(".json").is_file()
    loaded = load_segmenter(saved.with_suffix(".json"))  # either file names the model
    assert loaded.options == model.options
    assert loaded.intensity == model.intensity
    theirs, mine = model.net.state_dict(), loaded.net.state_dict()
    assert theirs.keys() == mine.keys()
    assert all(torch.equal(theirs[k], mine[k]) for k in theirs)
    image = field[0][:96, :96]
    np.testing.assert_array_equal(segment_with(loaded, image), segment_with(model, image))


def _set(key, value):
    return lambda info: info["options"].update({key: value})


TAMPERED = {
    "not its format": (lambda i: i.update(format="napari-nuclei-edges classifier"),
                       "copy.json was not written by this plugin's segmenter."),
    "a newer version": (lambda i: i.update(version=99),
                        "copy.json was written by a newer version of the plugin."),
    "a version that is not one": (lambda i: i.update(version="1"),
                                  "copy.json: its version '1' is not a version number."),
    "no options": (lambda i: i.pop("options"), "copy.json lacks options: save the model again."),
    "an option of the wrong type": (_set("depth", "2"), "option depth must be int"),
    "an option out of range": (_set("depth", 9), "depth must be an integer from 1 to 5"),
    "options not a mapping": (lambda i: i.update(options=[1]), "options must be a mapping"),
    "an intensity that is not one": (lambda i: i.update(intensity={"dtype": "uint16"}),
                                     "intensity must hold dtype, low and high"),
}  # fmt: skip


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_description_is_refused(tmp_path, saved, case):
    change, sentence = TAMPERED[case]
    with pytest.raises(ValueError) as error:
        load_segmenter(_copy(tmp_path, saved, change))
    assert sentence in str(error.value)
    assert str(error.value).startswith("copy.json")


def test_weights_of_another_network_are_refused(tmp_path, saved):
    copy = _copy(tmp_path, saved, _set("channels", 4))  # the weights are of 8 channels
    with pytest.raises(ValueError) as error:
        load_segmenter(copy)
    assert str(error.value).startswith(
        "copy.pt does not hold the weights of the network copy.json describes ("
    )
    assert str(error.value).endswith("): save the model again.")


def test_broken_weights_are_refused(tmp_path, saved, model):
    state = {k: v.clone() for k, v in model.net.state_dict().items()}
    state["head.weight"][0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"copy.pt holds NaN or infinite weights \(head.weight\)"):
        load_segmenter(_copy(tmp_path, saved, state=state))
    state = {k: v.clone() for k, v in model.net.state_dict().items()}
    state["down.0.1.running_var"][:] = -1.0  # finite, but its square root is not
    with pytest.raises(ValueError, match=r"copy\.pt gives no finite probabilities"):
        load_segmenter(_copy(tmp_path, saved, state=state))
    with pytest.raises(ValueError, match=r"copy\.pt does not hold named tensors"):
        load_segmenter(_copy(tmp_path, saved, state=[1, 2, 3]))


def test_a_file_that_is_not_a_model_is_refused(tmp_path, saved):
    copy = _copy(tmp_path, saved)
    copy.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"copy.pt is not a weights file this plugin saved"):
        load_segmenter(copy)
    copy.with_suffix(".json").write_text("{ not json")
    with pytest.raises(ValueError, match=r"copy.json is not a segmenter description"):
        load_segmenter(copy)
    with pytest.raises(ValueError) as error:
        load_segmenter(tmp_path / "missing")
    assert str(error.value) == (
        "missing is not a saved segmenter: one needs both missing.pt and missing.json "
        "side by side."
    )


def test_weights_that_would_run_code_are_refused(tmp_path, saved):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    copy = _copy(tmp_path, saved)
    torch.save({"head.weight": Payload()}, copy)
    with pytest.raises(ValueError, match=r"copy.pt is not a weights file this plugin saved "
                                         r"\(UnpicklingError\)"):  # fmt: skip
        load_segmenter(copy)
