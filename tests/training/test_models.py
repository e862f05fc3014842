import numpy as np
import pytest

from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
from napari_nuclei_edges.training import SOBEL_X, SOBEL_Y, fit_kernel
from napari_nuclei_edges.training._models import pair_alignment

PAIR = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None].astype(np.float64)


@pytest.fixture(scope="module", params=["synthetic", "reference"])
def classes(request):
    """Nuclei by class: the synthetic look-alike, and the reference data if present."""
    if request.param == "reference":
        return load_dataset(request.getfixturevalue("reference_path"))
    return synthetic_nuclei(n_per_class=12)


@pytest.fixture(scope="module")
def small():
    images = synthetic_nuclei(n_per_class=4)
    return np.concatenate([images[name] for name in images])


def last(steps):
    *_, final = steps
    return final


def pair_run(images, target, **options):
    defaults = {"model": "gradient_pair", "optimiser": "lbfgs", "steps": 400, "seed": 0,
                "report_interval": 1.0}  # fmt: skip
    return last(fit_kernel(images, target, **{**defaults, **options}))


def test_alignment_finds_the_rotation_and_reflection():
    angle = np.radians(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    mixed = (rotation @ PAIR.reshape(2, -1)).reshape(PAIR.shape)
    found = pair_alignment(2.0 * mixed, PAIR)
    assert found["rotation_deg"] == pytest.approx(30)
    assert not found["reflection"] and found["scale"] == pytest.approx(2.0)
    np.testing.assert_allclose(found["aligned"], PAIR, atol=1e-12)
    np.testing.assert_allclose(found["gram"], 4 * np.eye(2), atol=1e-12)
    flipped = pair_alignment(PAIR[::-1], PAIR)
    assert flipped["reflection"]


def test_gradient_pair_learns_sobel_up_to_a_rotation_from_magnitudes(classes):
    # magnitudes alone have a second, rank-1 minimum (one kernel doing all the work);
    # some random starts end there, the others at Sobel rotated by an arbitrary angle
    runs = [pair_run(classes["metaphase"][:12], "magnitude", seed=s) for s in range(4)]
    exact = [r for r in runs if r.magnitude_error < 1e-5]
    assert exact
    angles = set()
    for final in exact:
        found = final.alignment
        np.testing.assert_allclose(found["gram"], np.eye(2), atol=1e-4)
        assert found["scale"] == pytest.approx(1, abs=1e-4)
        assert final.error["max_abs"] < 1e-3  # after undoing the rotation
        angles.add(round(found["rotation_deg"]))
    assert len(angles) == len(exact)  # a different rotation from each start
    for trapped in (r for r in runs if r.magnitude_error >= 1e-5):
        assert np.linalg.eigvalsh(trapped.alignment["gram"])[0] < 0.1
        assert trapped.magnitude_error > 0.2


def test_direction_fixes_the_rotation_up_to_scale(classes):
    final = pair_run(classes["metaphase"][:12], "direction")
    found = final.alignment
    assert found["rotation_deg"] == pytest.approx(0, abs=0.01) and not found["reflection"]
    assert final.error["max_abs"] < 1e-3
    assert final.magnitude_error is None


def test_magnitude_and_direction_give_sobel_exactly(classes):
    final = pair_run(classes["metaphase"][:12], "polar")
    np.testing.assert_allclose(final.weight, PAIR, atol=1e-3)
    assert final.magnitude_error < 1e-5


def test_held_out_classes_measure_generalisation(classes):
    train = classes["metaphase"][:12]
    others = np.concatenate([classes[c][:5] for c in classes if c != "metaphase"])
    exact = pair_run(train, "polar", held_out=others)
    assert exact.test_loss < 1e-8
    linear = last(fit_kernel(train, "magnitude", held_out=others, optimiser="lbfgs", steps=200))
    assert linear.test_loss > 0.1 and linear.magnitude_error > 0.2  # no kernel is a magnitude


def test_the_cnn_loss_falls_and_shows_its_first_layer(small):
    history = list(
        fit_kernel(
            small,
            "magnitude",
            model="cnn",
            layers=2,
            channels=4,
            optimiser="adam",
            learning_rate=0.01,
            steps=80,
            report_interval=0,
        )
    )
    assert history[-1].loss < 0.5 * history[0].loss
    assert history[-1].weight.shape == (4, 1, 3, 3)
    assert history[-1].reference is None and history[-1].error is None


def test_direction_where_there_is_no_edge_never_gives_nan(small):
    flat = small.copy()
    flat[:, :40] = 0  # half of every image without any gradient
    for model in ("gradient_pair", "cnn"):
        history = list(fit_kernel(flat, "direction", model=model, steps=20, report_interval=0))
        losses = [v for h in history for v in h.trace_losses]
        assert np.isfinite(losses).all()


@pytest.mark.parametrize(
    ("targets", "options", "words"),
    [
        ("direction", {}, "a linear kernel cannot output a direction"),
        ("gx", {"model": "gradient_pair"}, "choose the targets 'magnitude'"),
        (np.zeros((8, 80, 80)), {"model": "gradient_pair"}, "not arbitrary target images"),
        ("magnitude", {"model": "mlp"}, "model must be"),
        ("magnitude", {"model": "cnn", "layers": 9}, "layers must be"),
    ],
)
def test_model_and_target_mismatches_get_a_sentence(small, targets, options, words):
    with pytest.raises(ValueError, match=words):
        list(fit_kernel(small[:8], targets, **options))
