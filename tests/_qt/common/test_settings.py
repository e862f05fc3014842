"""Corrupt settings files: every dock still opens, with its defaults, and says what it reset."""

import pytest

from napari_nuclei_edges._qt.common import settings as _settings


def _fill(widget_name: str, values: dict) -> None:
    store = _settings.widget_settings(widget_name)
    for key, value in values.items():
        store.setValue(key, value)
    store.sync()


def _status(widget) -> str:
    """The dock's status line (the classify dock's: under Start, where it says its runs)."""
    results = getattr(widget, "results", None)
    return results["train"].text() if results else widget._status_label.text()


def test_read_refuses_what_a_control_would_not_take(isolated_settings):
    store = _settings.widget_settings("unit")
    for key, value in {"big": "99999999999", "nan": "nan", "inf": "-inf", "half": "1.5",
                       "flag": "maybe", "name": "bogus", "fine": "7"}.items():  # fmt: skip
        store.setValue(key, value)
    assert _settings.read(store, "big", 5, (1, 1_000_000)) == 5
    assert _settings.read(store, "nan", 0.5, (0.0, 10.0)) == 0.5
    assert _settings.read(store, "inf", 0.5) == 0.5
    assert _settings.read(store, "half", 2) == 2
    assert _settings.read(store, "flag", True) is True
    assert _settings.read(store, "name", "linear", {"linear", "cnn"}) == "linear"
    assert _settings.read(store, "fine", 5, (1, 10)) == 7
    assert _settings.read(store, "unset", 3) == 3
    sentence = _settings.reset_sentence(store)
    for key in ("big", "nan", "inf", "half", "flag", "name"):
        assert f"{key} (was " in sentence
    assert "fine" not in sentence and "unset" not in sentence
    assert "99999999999" in sentence
    # said once: the bad values are gone from the file, the good one stays
    assert _settings.reset_sentence(store) == ""
    assert store.value("big") is None and store.value("fine") == "7"


def test_training_dock_opens_with_defaults_after_corrupt_settings(
    open_dock, close_dock, qtbot, isolated_settings
):
    from napari_nuclei_edges.training.options import TrainingOptions

    _fill("training", {"steps": "99999999999", "learning_rate": "nan", "model": "bogus",
                       "validation_fraction": "inf", "kernel_size": "3", "target": "bogus",
                       "held_out": "maybe", "section/options": "nan"})  # fmt: skip
    widget = open_dock("Learn a kernel")
    options = widget._options_panel.options()
    defaults = TrainingOptions()
    assert options.steps == defaults.steps
    assert options.model == defaults.model
    assert options.learning_rate is None  # auto, not the spin box's maximum
    assert options.validation_fraction == defaults.validation_fraction
    assert widget.target == "Sobel Gx"
    status = _status(widget)
    for key in ("steps", "learning_rate", "model", "validation_fraction", "target", "held_out"):
        assert f"{key} (was " in status
    assert "kernel_size" not in status
    assert status.startswith("Saved settings reset to the default")
    qtbot.waitUntil(lambda: not widget._warm_worker.is_running, timeout=60_000)
    close_dock(widget)


def test_training_dock_keeps_good_settings(open_dock, close_dock, qtbot, isolated_settings):
    _fill("training", {"steps": "250", "learning_rate": "0.05", "model": "cnn",
                       "batch_size": "", "optimiser": "sgd",
                       "target": "layer: metaphase"})  # fmt: skip
    widget = open_dock("Learn a kernel")
    options = widget._options_panel.options()
    assert (options.steps, options.learning_rate, options.model) == (250, 0.05, "cnn")
    assert options.batch_size is None and options.optimiser == "sgd"
    assert "reset" not in _status(widget)
    qtbot.waitUntil(lambda: not widget._warm_worker.is_running, timeout=60_000)
    close_dock(widget)


def test_classify_dock_opens_with_defaults_after_corrupt_settings(open_dock, isolated_settings):
    from napari_nuclei_edges.classification.options import ClassifierOptions

    _fill("classify", {"options/epochs": "99999999999", "options/dropout": "nan",
                       "options/model": "bogus", "options/learning_rate": "1e400",
                       "options/optimiser": "sgd", "saliency/method": "bogus"})  # fmt: skip
    widget = open_dock("Classify the stage")
    options = widget._options_panel.options()
    defaults = ClassifierOptions()
    assert options.epochs == defaults.epochs
    assert options.dropout == defaults.dropout  # not the spin box's maximum 0.9
    assert options.model == defaults.model
    assert options.learning_rate == defaults.learning_rate
    assert options.optimiser == "sgd"  # a good value is kept
    status = _status(widget)
    for key in ("options/epochs", "options/dropout", "options/model", "options/learning_rate",
                "saliency/method"):  # fmt: skip
        assert f"{key} (was " in status
    assert "optimiser" not in status


def test_threshold_dock_opens_with_defaults_after_corrupt_settings(open_dock, isolated_settings):
    _fill("threshold", {"segment/opening": "99999999999", "segment/sigma": "nan",
                        "bins": "-4", "threshold": "nan", "method": "bogus",
                        "polarity": "sideways", "log": "1.5"})  # fmt: skip
    widget = open_dock("Histograms and threshold")
    assert widget._segmentation_panel.options()["opening"] == 0
    assert widget._segmentation_panel.options()["sigma"] == 1.0
    assert widget.state.bins == 0 and widget.state.polarity == "bright"
    assert widget.method == "otsu"
    status = _status(widget)
    for key in ("segment/opening", "segment/sigma", "bins", "threshold", "method", "polarity",
                "log"):  # fmt: skip
        assert f"{key} (was " in status


@pytest.mark.parametrize(
    ("dock", "name", "values", "keys"),
    [
        ("Sobel edges", "sobel", {"sigma": "nan", "padding": "bogus", "output/gx": "2"},
         ("sigma", "padding", "output/gx")),
        ("Find the focus", "focus", {"pick_by": "bogus"}, ("pick_by",)),
    ],
)  # fmt: skip
def test_other_docks_say_what_they_reset(open_dock, isolated_settings, dock, name, values, keys):
    _fill(name, values)
    widget = open_dock(dock)
    status = _status(widget)
    for key in keys:
        assert f"{key} (was " in status
    if name == "sobel":
        assert widget._sigma_spin.value() == 0.0
        assert widget._padding_combo.currentText() == "reflect"
    else:
        assert widget._pick_combo.currentText() == "brenner"


def test_a_reset_is_said_once(open_dock, close_dock, isolated_settings):
    _fill("sobel", {"sigma": "nan"})
    widget = open_dock("Sobel edges")
    assert "sigma (was 'nan')" in _status(widget)
    close_dock(widget)
    again = open_dock("Sobel edges")
    assert "reset" not in _status(again)
