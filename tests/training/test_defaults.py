"""Defaults that learn for every model, verdicts that name the learning rate, and presets."""

import numpy as np
import pytest

from napari_nuclei_edges.data import synthetic_nuclei
from napari_nuclei_edges.training import (
    MODEL_LEARNING_RATES,
    OPTIMISERS,
    TrainingDiverged,
    TrainingOptions,
    TrainingStep,
    fit_kernel,
    verdict,
)
from napari_nuclei_edges.training.options import MODELS
from napari_nuclei_edges.training.presets import PRESET_FIELDS, PRESETS, preset

#: The dock's REPORT_INTERVAL: the options object the dock builds from its defaults.
DOCK_REPORT_INTERVAL = 1 / 15


@pytest.fixture(scope="module")
def classes():
    """The dock tests' sample: 6 synthetic images per class."""
    return synthetic_nuclei(n_per_class=6)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Torch on one thread: the cnn's small convolutions gain nothing from more, and on a
    machine shared with other work its threads' waits make a run ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def last(steps):
    *_, final = steps
    return final


def test_every_model_and_optimiser_has_a_default_rate_and_the_cnns_is_lower():
    for model in MODELS:
        assert set(MODEL_LEARNING_RATES[model]) == set(OPTIMISERS)
        for optimiser in OPTIMISERS:
            options = TrainingOptions(model=model, optimiser=optimiser)
            assert options.rate == MODEL_LEARNING_RATES[model][optimiser]
    assert TrainingOptions(model="cnn").rate == 0.01 < TrainingOptions().rate == 0.1
    assert TrainingOptions(model="cnn", learning_rate=0.05).rate == 0.05  # as given


def test_the_small_cnn_with_the_dock_defaults_learns_the_magnitude_of_held_out_classes(classes):
    # what the dock builds once a user picks the small cnn: auto optimiser, auto rate
    options = TrainingOptions(model="cnn", report_interval=DOCK_REPORT_INTERVAL)
    assert (options.optimiser, options.rate, options.steps) == ("adam", 0.01, 1000)
    others = np.concatenate([images for name, images in classes.items() if name != "metaphase"])
    history = list(fit_kernel(classes["metaphase"], "magnitude", others, **options.as_dict()))
    final = history[-1]
    assert final.status in ("finished", "plateau") and final.test_loss is not None
    assert final.magnitude_error <= 0.30  # on the four classes it never saw
    assert final.loss < 0.05 * final.first_loss
    assert verdict(final, options) is None  # nothing to blame


@pytest.mark.parametrize("model", ["linear", "gradient_pair"])
def test_the_other_models_learn_with_their_defaults(classes, model):
    target = "gx" if model == "linear" else "magnitude"
    final = last(fit_kernel(classes["metaphase"], target, model=model))
    assert final.status == "converged"


def step(**fields) -> TrainingStep:
    """A finished run's last step, with ``fields`` changed."""
    values = dict(step=101, loss=3.0, val_loss=3.4, weight=np.zeros((8, 1, 3, 3)), bias=None,
                  elapsed=2.0, trace_steps=(), trace_losses=(), optimum_loss=None,
                  reference=None, error=None, status="plateau", first_loss=8.0,
                  best_step=1, magnitude_error=0.69)  # fmt: skip
    return TrainingStep(**{**values, **fields})


def test_a_cnn_best_at_its_first_step_is_told_its_learning_rate_is_too_high():
    # the run: Adam at 0.1, stopped at step 101, best at step 1, 69 % error
    options = TrainingOptions(model="cnn", learning_rate=0.1)
    text = verdict(step(), options)
    assert text == (
        "Far from the target on a plateau at step 101 (magnitude error 69%): the learning "
        "rate 0.1 is too high for the small cnn with adam (the validation loss was lowest "
        "at step 1 of 101): try 0.01."
    )
    # the loss ending above where it began says the same, at the rate it was given
    risen = verdict(step(loss=9.0, best_step=60, status="finished"), options)
    assert "(the loss rose from 8 to 9): try 0.01." in risen
    # at the default rate already: a tenth of it
    low = verdict(step(), TrainingOptions(model="cnn"))
    assert "the learning rate 0.01 is too high for the small cnn with adam" in low
    assert low.endswith("try 0.001.")


def test_a_cnn_far_above_its_default_rate_is_told_so(classes):
    options = TrainingOptions(model="cnn", learning_rate=0.1, steps=300, report_interval=0.1)
    final = last(fit_kernel(classes["metaphase"], "magnitude", **options.as_dict()))
    text = verdict(final, options)
    assert text.startswith("Far from the target") and f"{final.magnitude_error:.0%}" in text
    assert "the learning rate 0.1 is too high for the small cnn with adam" in text
    assert "try 0.01" in text


def test_a_diverged_run_names_its_rate_and_the_raw_pixels(classes):
    options, target = preset("course notebook")
    with pytest.raises(TrainingDiverged) as caught:
        list(fit_kernel(classes["metaphase"], target, **options))
    final = caught.value.step
    text = verdict(final, TrainingOptions(**options))
    assert text.startswith("The learning rate 0.01 is too high for sgd on raw pixels")
    assert f"the largest stable rate here is about {final.stable_rate:.2g}" in text
    assert "choose normalise 'standardise', which sgd's default 0.02 is made for" in text
    assert text[0].upper() + text[1:-1] in str(caught.value)  # the message says the same


def test_the_linear_magnitude_says_what_the_best_linear_kernel_misses(classes):
    others = np.concatenate([images for name, images in classes.items() if name != "metaphase"])
    final = last(fit_kernel(classes["metaphase"], "magnitude", others, optimiser="lbfgs"))
    assert final.status == "converged" and final.reference_kind == "least squares"
    assert final.error["cosine"] > 0.9999  # it found the best linear kernel ...
    text = verdict(final, TrainingOptions(optimiser="lbfgs"))
    missed = f"{final.magnitude_error:.0%}"
    assert final.magnitude_error > 0.3  # ... which misses the magnitude by far
    assert text == (
        f"The best linear kernel still misses the magnitude by {missed} (relative RMS): "
        "magnitude is not linear in the pixels; try the gradient pair or the small cnn."
    )
    gx = last(fit_kernel(classes["metaphase"], "gx", optimiser="lbfgs"))
    assert gx.reference_kind == "true" and verdict(gx, TrainingOptions()) is None


def test_every_preset_sets_every_option_and_makes_valid_options():
    for name in PRESETS:
        options, target = preset(name)
        assert set(options) == set(PRESET_FIELDS) and target == "gx"
        TrainingOptions(**options)
    assert preset("defaults")[0] == {
        **{f: getattr(TrainingOptions(), f) for f in PRESET_FIELDS},
        "optimiser": None,
    }
    with pytest.raises(ValueError, match="no preset 'fast'; presets are defaults"):
        preset("fast")


def test_the_slow_preset_converges_in_about_ten_seconds_of_pauses():
    # the launcher's sample: 50 metaphase images; the pauses alone, so no clock is read
    images = synthetic_nuclei(n_per_class=50)["metaphase"]
    options, target = preset("watch it learn")
    final = last(fit_kernel(images, target, **{**options, "pace": 0.0}))
    assert final.status == "converged"
    assert 6 <= final.step * options["pace"] <= 15
