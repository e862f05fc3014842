import numpy as np
import pytest
from scipy import ndimage

from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
from napari_nuclei_edges.training import (
    OPTIMISERS,
    SOBEL_X,
    SOBEL_Y,
    TrainingDiverged,
    TrainingOptions,
    fit_kernel,
    kernel_error,
    least_squares_kernel,
    split_images,
)
from napari_nuclei_edges.training.kernel_io import (
    fiji_kernel_text,
    history_csv,
    load_kernel,
    save_kernel,
)

GX = SOBEL_X.numpy()[None, None]
GXY = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]


@pytest.fixture(scope="module")
def small():
    """40 synthetic 80 × 80 nuclei images: quick and structured."""
    return np.concatenate([v[:8] for v in synthetic_nuclei(n_per_class=8).values()])


@pytest.fixture(scope="module", params=["synthetic", "reference"])
def nuclei(request):
    """250 80 × 80 nuclei images: the synthetic look-alike, and the reference data if present."""
    if request.param == "reference":
        stacks = load_dataset(request.getfixturevalue("reference_path"))
    else:
        stacks = synthetic_nuclei(n_per_class=50)
    return np.concatenate(list(stacks.values()))


def last(steps):
    *_, final = steps
    return final


def test_converges_to_sobel_gx_on_250_nuclei_images(nuclei):
    history = list(fit_kernel(nuclei, "gx"))
    final = history[-1]
    assert final.status == "converged"
    assert final.weight.shape == (1, 1, 3, 3) and final.bias is None
    assert kernel_error(final.weight, GX)["max_abs"] < 1e-3
    assert final.error["max_abs"] < 1e-3
    assert np.array_equal(final.reference, GX)
    assert final.optimum_loss == pytest.approx(0, abs=1e-12)
    assert history[0].step == 0 and history[0].loss > 100 * final.loss
    assert [h.step for h in history] == sorted({h.step for h in history})


def test_converges_to_gx_and_gy_together_on_250_nuclei_images(nuclei):
    final = last(fit_kernel(nuclei, "both", optimiser="lbfgs"))
    assert final.weight.shape == (2, 1, 3, 3)
    assert kernel_error(final.weight, GXY)["max_abs"] < 1e-3


def test_the_validation_images_are_held_out(small):
    train, val = split_images(len(small), 0.25, seed=3)
    assert len(val) == 10 and len(train) == 30
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(40))
    # corrupt only the held-out targets: training must not see them
    targets = np.stack([ndimage.sobel(image.astype(np.float32), axis=-1) for image in small])
    rng = np.random.default_rng(0)
    targets[val] += rng.normal(0, 50, targets[val].shape).astype(np.float32)
    final = last(fit_kernel(small, targets, validation_fraction=0.25, seed=3, optimiser="lbfgs"))
    assert kernel_error(final.weight, GX)["max_abs"] < 1e-3
    assert final.loss < 1e-8
    assert final.val_loss > 1e-3  # the noise, measured on images it never fitted


def test_no_validation_set_means_no_validation_loss(small):
    final = last(fit_kernel(small[:5], "gx", validation_fraction=0, steps=3))
    assert final.val_loss is None and final.step == 3 and final.status == "finished"


def test_learns_any_linear_filter_from_pairs(small):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(5, 5))
    targets = np.stack([ndimage.correlate(i.astype(np.float64), kernel) for i in small])
    closed = least_squares_kernel(small, targets, kernel_size=5)
    assert kernel_error(closed, kernel[None, None])["max_abs"] < 1e-8
    final = last(fit_kernel(small, targets, kernel_size=5, optimiser="lbfgs", steps=200))
    assert final.status == "converged"
    assert kernel_error(final.weight, kernel[None, None])["max_abs"] < 1e-3
    # no true kernel given: the closed-form optimum is the reference
    assert kernel_error(final.reference, kernel[None, None])["max_abs"] < 1e-6


@pytest.mark.parametrize("normalisation", ["standardise", "scale", "none"])
def test_kernel_and_bias_are_reported_in_original_units(small, normalisation):
    targets = np.stack([ndimage.sobel(i.astype(np.float64), axis=-2) for i in small]) + 5.0
    weight, bias = least_squares_kernel(small, targets, bias=True)
    assert kernel_error(weight, SOBEL_Y.numpy()[None, None])["max_abs"] < 1e-8
    assert bias == pytest.approx([5.0])
    options = {"optimiser": "lbfgs", "bias": True, "normalisation": normalisation, "steps": 300}
    final = last(fit_kernel(small, targets, **options))
    assert kernel_error(final.weight, SOBEL_Y.numpy()[None, None])["max_abs"] < 1e-3
    assert final.bias == pytest.approx([5.0], abs=1e-2)


def test_moments_engine_gives_the_same_losses_as_convolving_the_pixels(small):
    options = {"optimiser": "sgd", "steps": 5, "seed": 7, "batch_size": 8}
    fast = list(fit_kernel(small, "gx", engine="moments", **options))
    slow = list(fit_kernel(small, "gx", engine="conv", **options))
    assert fast[0].loss == pytest.approx(slow[0].loss, rel=1e-9)
    assert fast[0].val_loss == pytest.approx(slow[0].val_loss, rel=1e-9)
    np.testing.assert_allclose(fast[-1].weight, slow[-1].weight, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("optimiser", OPTIMISERS)
def test_every_optimiser_lowers_the_loss(small, optimiser):
    history = list(fit_kernel(small, "gx", optimiser=optimiser, steps=50))
    assert history[-1].loss < 0.5 * history[0].loss
    assert history[-1].learning_rate == TrainingOptions(optimiser=optimiser).rate


def test_mini_batches_converge(small):
    final = last(fit_kernel(small, "gx", batch_size=4, steps=2000))
    assert final.status == "converged"
    assert final.error["max_abs"] < 1e-3


def test_the_notebook_settings_diverge_with_a_message_that_says_what_to_do(small):
    with pytest.raises(TrainingDiverged) as caught:
        list(fit_kernel(small, "gx", normalisation="none", optimiser="sgd", learning_rate=1e-2))
    message = str(caught.value)
    assert "diverged at step" in message
    assert "learning rate 0.01 is too high for sgd on raw pixels" in message
    assert "largest stable rate here is about" in message
    assert "'standardise'" in message
    assert caught.value.step is not None and caught.value.step.step >= 0
    # the rate it names is stable
    rate = float(message.split("about ")[1].split(")")[0])
    final = last(
        fit_kernel(small, "gx", normalisation="none", optimiser="sgd", learning_rate=rate / 2)
    )
    assert np.isfinite(final.loss)


def test_reports_carry_every_step_in_their_traces(small):
    history = list(fit_kernel(small, "gx", steps=300, tolerance=0, report_interval=0.01))
    steps = [s for report in history for s in report.trace_steps]
    assert steps == list(range(301))
    assert len(history) < 301
    assert history[-1].trace_losses[-1] == history[-1].loss


def test_history_csv_has_one_row_per_step(small):
    history = list(fit_kernel(small, "gx", steps=20, tolerance=0, report_interval=1e9))
    lines = history_csv(history).splitlines()
    assert lines[0] == "step,loss,val_loss,elapsed_s"
    assert len(lines) == 1 + 21
    assert float(lines[-1].split(",")[1]) == history[-1].loss
    assert float(lines[-1].split(",")[2]) == history[-1].val_loss


def test_inputs_are_not_modified(small):
    before = small.copy()
    list(fit_kernel(small, "gx", steps=3))
    assert np.array_equal(small, before)


@pytest.mark.parametrize(
    ("inputs", "targets", "options", "error", "words"),
    [
        (np.zeros((2, 8, 8)), "gx", {"kernel_size": 4}, ValueError, "odd integer"),
        (np.zeros((2, 2, 2)), "gx", {}, ValueError, "smaller than the 3 × 3 kernel"),
        (np.full((2, 8, 8), np.nan), "gx", {}, ValueError, "NaN"),
        (np.ones((2, 8, 8)), "gx", {}, ValueError, "constant"),
        (np.eye(8)[None].repeat(2, 0), np.ones((3, 8, 8)), {}, ValueError, "do not pair"),
        (np.eye(8)[None].repeat(2, 0), np.ones((2, 7, 7)), {}, ValueError, "either of the"),
        (np.eye(8)[None].repeat(2, 0), "sharpen", {}, ValueError, "targets must be one of"),
        (np.ones((0, 8, 8)), "gx", {}, ValueError, "no images"),
        (np.ones(8), "gx", {}, ValueError, "stack of images"),
        (np.ones((2, 8, 8), complex), "gx", {}, TypeError, "real numbers"),
        (np.ones((2, 8, 8)), "gx", {"optimiser": "newton"}, ValueError, "optimiser must be"),
        (np.ones((2, 8, 8)), "gx", {"learning_rate": -1}, ValueError, "positive"),
        (np.ones((2, 8, 8)), "gx", {"momentum": 0.9}, TypeError, "momentum"),
    ],
)
def test_bad_input_gets_a_sentence(inputs, targets, options, error, words):
    with pytest.raises(error, match=words):
        list(fit_kernel(inputs, targets, **options))


def test_kernel_error():
    errors = kernel_error(SOBEL_X.numpy() + 0.5, SOBEL_X.numpy())
    assert errors["max_abs"] == pytest.approx(0.5)
    assert errors["rmse"] == pytest.approx(0.5)
    assert errors["relative"] == pytest.approx(0.5 * 3 / np.sqrt(12))
    assert kernel_error(-GX, GX)["cosine"] == -1.0
    with pytest.raises(ValueError, match="shapes differ"):
        kernel_error(GX, GXY)


def test_kernel_error_takes_the_two_natural_shapes_of_one_kernel(small):
    inputs = small[:4].astype(np.float32)
    targets = np.stack([ndimage.correlate(x, SOBEL_X.numpy(), mode="reflect") for x in inputs])
    learned = least_squares_kernel(inputs, targets)
    assert learned.shape == (1, 1, 3, 3)
    errors = kernel_error(learned, SOBEL_X)  # (1, 1, 3, 3) against (3, 3), torch or numpy
    assert errors["max_abs"] < 1e-4 and errors["cosine"] == pytest.approx(1.0)
    assert kernel_error(SOBEL_X.numpy(), GX) == kernel_error(GX, SOBEL_X.numpy())
    assert kernel_error(GX[0], SOBEL_X.numpy()[None, None])["max_abs"] == 0.0


@pytest.mark.parametrize(
    "a, b", [((2, 1, 3, 3), (3, 3)), ((1, 1, 3, 3), (5, 5)), ((3, 1), (3,)), ((3, 3), (1, 3))]
)
def test_kernel_error_refuses_kernels_of_other_shapes(a, b):
    with pytest.raises(ValueError, match=r"kernel shapes differ: .*only leading axes of length 1"):
        kernel_error(np.ones(a), np.ones(b))


def test_save_and_load_round_trip(tmp_path, small):
    final = last(fit_kernel(small, "both", bias=True, steps=50))
    saved = save_kernel(
        tmp_path / "learned", final.weight, bias=final.bias, metadata={"error": final.error}
    )
    assert saved.name == "learned.npy" and (tmp_path / "learned.json").exists()
    weight, bias, metadata = load_kernel(tmp_path / "learned.npy")
    assert np.array_equal(weight, final.weight) and np.array_equal(bias, final.bias)
    assert metadata["error"] == final.error and metadata["shape"] == [2, 1, 3, 3]
    np.save(tmp_path / "even.npy", np.ones((4, 4)))
    with pytest.raises(ValueError, match="odd square kernel"):
        load_kernel(tmp_path / "even.npy")
    with pytest.raises(FileNotFoundError, match="no kernel file"):
        load_kernel(tmp_path / "missing")


def test_fiji_text_reads_back_as_the_kernel(tmp_path):
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(5, 5))
    text = fiji_kernel_text(kernel, digits=17)
    assert len(text.splitlines()) == 5
    assert np.array_equal(np.loadtxt(text.splitlines()), kernel)
    assert fiji_kernel_text(SOBEL_X.numpy()[None, None]) == "-1 0 1\n-2 0 2\n-1 0 1\n"
    with pytest.raises(ValueError, match="each output channel"):
        fiji_kernel_text(GXY)
