"""What a run reports is true: both target conventions, honest statuses, options checked first."""

import itertools
import math

import numpy as np
import pytest

from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
from napari_nuclei_edges.training import (
    TrainingDiverged,
    TrainingOptions,
    _loop,
    fit_kernel,
    kernel_error,
    least_squares_kernel,
    target_convention,
    verdict,
)

GX = SOBEL_X.numpy()[None, None]
GXY = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]


@pytest.fixture(scope="module")
def small():
    """40 synthetic 80 × 80 nuclei images: quick and structured."""
    return np.concatenate([v[:8] for v in synthetic_nuclei(n_per_class=8).values()])


@pytest.fixture(scope="module")
def reference(reference_path):
    """The 250 reference images (skipped with a reason when the file is absent)."""
    return np.concatenate(list(load_dataset(reference_path).values()))


def last(steps):
    *_, final = steps
    return final


# --------------------------------------------------------------------------- 1. conventions


@pytest.mark.parametrize("padding", ["valid", "reflect"])
def test_both_target_conventions_learn_sobel_on_the_250_reference_images(reference, padding):
    # the assignment's valid cross-correlation (78 × 78) and the notebook's same size
    g = sobel(reference.astype(np.float32), padding=padding)
    assert g.gx.shape[-2:] == ((78, 78) if padding == "valid" else (80, 80))
    closed = least_squares_kernel(reference, g.gx)
    assert kernel_error(closed, GX)["max_abs"] < 1e-6
    final = last(fit_kernel(reference, g.gx))
    assert final.status == "converged"
    assert final.targets == ("valid" if padding == "valid" else "same")
    assert kernel_error(final.weight, GX)["max_abs"] < 1e-3


def test_valid_targets_pair_on_their_valid_region_for_any_kernel_size(small):
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(5, 5))
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(small.astype(np.float64), (5, 5), axis=(1, 2))
    valid = np.einsum("nhwij,ij->nhw", windows, kernel)  # a valid cross-correlation
    assert valid.shape == (40, 76, 76)
    assert target_convention(small.shape, valid.shape, 5) == "valid"
    closed = least_squares_kernel(small, valid, kernel_size=5)
    assert kernel_error(closed, kernel[None, None])["max_abs"] < 1e-8
    final = last(fit_kernel(small, valid, kernel_size=5, optimiser="lbfgs", steps=200))
    assert final.targets == "valid" and final.status == "converged"
    assert kernel_error(final.weight, kernel[None, None])["max_abs"] < 1e-3
    # two output channels, valid size, and a held-out pair of the same convention
    both = np.stack([valid, -valid], 1)
    final = last(fit_kernel(small[:30], both[:30], held_out=(small[30:], both[30:]),
                            kernel_size=5, optimiser="lbfgs", steps=200))  # fmt: skip
    assert final.weight.shape == (2, 1, 5, 5) and final.test_loss < 1e-8


def test_targets_of_another_size_name_both_conventions(small):
    with pytest.raises(ValueError, match=r"input's size \(80 × 80, 'same'\).*valid size 78 × 78"):
        least_squares_kernel(small, np.zeros((40, 79, 79)))
    assert target_convention((80, 80), (80, 80), 7) == "same"
    assert target_convention((80, 80), (74, 74), 7) == "valid"


# --------------------------------------------------------------------------- 2. honest status


def test_float16_inputs_learn_sobel_instead_of_converging_on_a_nan(small):
    final = last(fit_kernel(small.astype(np.float16), "gx"))
    assert math.isfinite(final.loss) and final.status == "converged"
    assert kernel_error(final.weight, GX)["max_abs"] < 1e-3


@pytest.mark.parametrize(
    ("scale", "options", "words"),
    [
        (1e300, {}, "too large for the float32 Sobel targets"),
        (1e200, {"normalisation": "none"}, "too large for the float32 Sobel targets"),
    ],
)
def test_inputs_too_large_are_refused_with_the_reason(small, scale, options, words):
    with pytest.raises(ValueError, match=words):
        list(fit_kernel(small * scale, "gx", **options))


def test_image_targets_whose_squares_overflow_are_refused_not_lapack_errors(small, capfd):
    targets = sobel(small.astype(np.float32)).gx.astype(np.float64) * 1e198
    with pytest.raises(ValueError, match=r"overflow float64.*'standardise'"):
        list(fit_kernel(small * 1e198, targets, normalisation="none"))
    with pytest.raises(ValueError, match="overflow float64"):
        least_squares_kernel(small * 1e198, targets)
    assert "LAPACK" not in capfd.readouterr().err


@pytest.mark.parametrize("normalisation", ["standardise", "scale", "none"])
@pytest.mark.parametrize("value", [0, 7])
def test_constant_inputs_are_refused_whatever_the_normalisation(normalisation, value):
    with pytest.raises(ValueError, match="inputs are constant"):
        list(fit_kernel(np.full((4, 16, 16), value), "gx", normalisation=normalisation))
    with pytest.raises(ValueError, match="inputs are constant"):
        least_squares_kernel(np.full((4, 16, 16), value), np.ones((4, 16, 16)))


def test_a_nan_loss_is_never_converged():
    run = object.__new__(_loop._Run)
    run.optimum_loss, run.opts = 0.0, TrainingOptions()
    assert not run._converged(1.0, math.nan)
    assert run._converged(1.0, 1e-13)


def test_divergence_is_yielded_with_its_explosion_then_raised(small):
    options = {"normalisation": "none", "optimiser": "sgd", "learning_rate": 1e-2}
    seen = []
    with pytest.raises(TrainingDiverged) as caught:
        for step in fit_kernel(small, "gx", **options):
            seen.append(step)
    final = seen[-1]
    assert caught.value.step is final and final.status == "diverged"
    assert final.message == str(caught.value)
    losses = [v for s in seen for v in s.trace_losses]
    assert losses[-1] > 1e9 * losses[0]  # the whole explosion, step by step
    assert all(b > a for a, b in itertools.pairwise(losses))
    assert 0 < final.stable_rate < 1e-2
    assert np.isfinite(final.weight).all()  # the last finite kernel, kept
    assert f"from step {final.step - 1}" in final.message


def test_non_finite_weights_stop_the_run_as_diverged(small, monkeypatch):
    def poisoned(self, batch):
        with __import__("torch").no_grad():
            self.model.weight[0, 0, 0, 0] = math.inf
        return 1.0

    monkeypatch.setattr(_loop._Run, "_step", poisoned)
    monkeypatch.setattr(_loop._Run, "_evaluate", lambda self, which, magnitude=True: (1.0, None))
    with pytest.raises(TrainingDiverged, match="weights became NaN/inf") as caught:
        list(fit_kernel(small, "gx", engine="conv", steps=5))
    assert caught.value.step.status == "diverged" and np.isfinite(caught.value.step.weight).all()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"steps": 0}, "steps must be a whole number of at least 1"),
        ({"steps": 2.5}, "steps must be"),
        ({"batch_size": 2.5}, "batch_size must be a whole number"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"learning_rate": math.inf}, "positive finite"),
        ({"learning_rate": math.nan}, "positive finite"),
        ({"kernel_size": True}, "kernel_size must be"),
        ({"kernel_size": 17}, "from 1 to 15"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"seed": -1}, "seed must be"),
        ({"tolerance": -1.0}, "tolerance must be"),
        ({"report_interval": math.inf}, "report_interval must be"),
        ({"patience": -5}, "patience must be"),
        ({"bias": "yes"}, "bias must be True or False"),
        ({"engine": "moments", "device": "cuda"}, "engine 'moments' works on the CPU"),
        ({"engine": "moments", "model": "cnn"}, "exact only for the linear model"),
        ({"device": "nonsense"}, "'nonsense' is not a torch device"),
        ({"engine": "conv", "device": "cuda:7"}, "not available"),
        ({"device": 3}, "device must be a torch device name"),
    ],
)
def test_every_option_is_refused_at_the_call_with_a_sentence(options, words):
    with pytest.raises(ValueError, match=words):
        fit_kernel(np.zeros((2, 8, 8)), "gx", **options)  # no iteration: refused at the call


def test_a_device_is_never_silently_ignored():
    from napari_nuclei_edges.training._data import engine

    assert engine(TrainingOptions(device="cuda")) == "conv"
    assert engine(TrainingOptions(device="cpu")) == "moments"
    assert engine(TrainingOptions()) == "moments"


def test_least_squares_takes_every_kernel_size(small):
    for k in (9, 11, 15):
        weight = least_squares_kernel(small[:8], "gx", kernel_size=k)
        assert weight.shape == (1, 1, k, k)
        pad = (k - 3) // 2
        padded = np.pad(GX, ((0, 0),) * 2 + ((pad, pad),) * 2)
        assert kernel_error(weight, padded)["max_abs"] < 1e-6


# --------------------------------------------------------------------------- 3. verdict


def test_a_run_far_from_the_optimum_gets_a_verdict_with_cause_and_change(small):
    options = {"optimiser": "sgd", "learning_rate": 1e-7, "normalisation": "none", "steps": 200}
    final = last(fit_kernel(small, "gx", **options))
    assert final.status in ("finished", "plateau") and final.error["cosine"] < 0.99
    text = verdict(final, TrainingOptions(**options))
    assert text.startswith("Far from the optimum")
    assert f"cosine {final.error['cosine']:.2f}" in text
    assert "below the largest stable rate" in text and "raise it towards" in text


def test_a_converged_run_gets_no_verdict(small):
    final = last(fit_kernel(small, "gx"))
    assert final.status == "converged" and verdict(final, TrainingOptions()) is None


def test_mini_batch_noise_and_small_adam_rates_are_named(small):
    base = {"steps": 30, "tolerance": 0, "patience": 0}
    noisy = last(fit_kernel(small, "gx", batch_size=2, learning_rate=0.3, **base))
    text = verdict(noisy, TrainingOptions(batch_size=2, learning_rate=0.3, **base))
    assert text is not None and "mini-batches of 2 images" in text
    # ten times the default: the loss ends above where it began, and the rate is named
    wild = last(fit_kernel(small, "gx", batch_size=2, learning_rate=1.0, **base))
    text = verdict(wild, TrainingOptions(batch_size=2, learning_rate=1.0, **base))
    assert wild.loss > wild.first_loss
    assert f"the loss rose from {wild.first_loss:.2g} to {wild.loss:.2g}" in text
    assert "the learning rate 1 is too high for the linear kernel with adam" in text
    assert text.endswith("try 0.1.")
    slow = last(fit_kernel(small, "gx", learning_rate=1e-4, **base))
    text = verdict(slow, TrainingOptions(learning_rate=1e-4, **base))
    assert text is not None and "try its default 0.1" in text


# --------------------------------------------------------------------------- 4. fast defaults


def test_the_gradient_pair_defaults_to_lbfgs_and_stops_at_its_optimum(small):
    assert TrainingOptions(model="gradient_pair").optimiser == "lbfgs"
    assert TrainingOptions(model="cnn").optimiser == TrainingOptions().optimiser == "adam"
    history = list(fit_kernel(small[:12], "magnitude", model="gradient_pair", steps=400))
    final = history[-1]
    assert final.status == "converged" and final.step < 400
    assert final.magnitude_error < 1e-4 and final.optimum_loss == 0.0


def test_every_model_stops_on_a_plateau_of_the_validation_loss(small):
    final = last(fit_kernel(small[:12], "magnitude", model="cnn", channels=2, steps=5000,
                            learning_rate=0.5, optimiser="sgd", patience=20))  # fmt: skip
    assert final.status == "plateau" and final.step < 5000
    assert "has not improved for" in final.message
    # the linear model on a mini-batch lottery with a tolerance it cannot reach
    linear = last(fit_kernel(small, "magnitude", steps=5000, patience=30, tolerance=0))
    assert linear.status == "plateau"


def test_held_out_images_are_measured_first_every_few_steps_and_last(small):
    history = list(fit_kernel(small[:12], "magnitude", held_out=small[12:], model="gradient_pair",
                              optimiser="adam", steps=60, tolerance=0, patience=0))  # fmt: skip
    measured = [h.step for h in history if h.test_loss is not None]
    assert measured[0] == 0 and measured[-1] == 60
    assert len(measured) < len(history)  # a small share of the time, not every step
    assert all(h.magnitude_error is not None for h in history if h.test_loss is not None)


def test_a_trapped_gradient_pair_is_told_to_try_another_seed():
    from napari_nuclei_edges.training import TrainingStep

    trapped = TrainingStep(
        step=129, loss=0.5, val_loss=0.6, weight=np.zeros((2, 1, 3, 3)), bias=None,
        elapsed=3.0, trace_steps=(), trace_losses=(), optimum_loss=0.0, reference=None,
        error={"cosine": 0.7, "relative": 0.7}, status="plateau", magnitude_error=0.38,
        alignment={"gram": [[1.9, 0.0], [0.0, 0.01]]},
    )  # fmt: skip
    text = verdict(trapped, TrainingOptions(model="gradient_pair", seed=2))
    assert text.startswith("Far from the optimum on a plateau at step 129 (magnitude error 38%)")
    assert "try another seed, or add the direction" in text
