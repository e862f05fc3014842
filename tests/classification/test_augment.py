"""The CNN's augmentation: small rotations (and what was there), seeded, bounded, optional."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_nuclei_edges.classification import ClassifierOptions, augmentation_examples  # noqa: E402
from napari_nuclei_edges.classification._models import augment, rotate  # noqa: E402


def _bars(n: int, size: int = 41) -> torch.Tensor:
    """``n`` copies of a horizontal bar through the centre (N, 1, size, size)."""
    x = torch.zeros(n, 1, size, size)
    x[:, 0, size // 2 - 1 : size // 2 + 2, 6:-6] = 1.0
    return x


def _angle(image: np.ndarray) -> float:
    """The bar's angle from the horizontal in degrees, anticlockwise as displayed (rows down)."""
    rows, cols = np.nonzero(image > 0.5)
    y, x = -(rows - rows.mean()), cols - cols.mean()  # y up
    cov = np.cov(np.stack([x, y]))
    return float(np.degrees(0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])))


def test_rotate_turns_a_bar_by_the_given_angle_anticlockwise():
    degrees = torch.tensor([-30.0, -10.0, 0.0, 12.0, 40.0])
    out = rotate(_bars(5), degrees).numpy()[:, 0]
    measured = [_angle(image) for image in out]
    np.testing.assert_allclose(measured, degrees.numpy(), atol=1.5)
    np.testing.assert_allclose(out[2], _bars(1).numpy()[0, 0], atol=1e-6)  # 0°: unchanged


def test_rotate_keeps_a_non_square_image_unsheared():
    x = torch.zeros(1, 1, 31, 61)
    x[0, 0, 14:17, 10:51] = 1.0
    out = rotate(x, torch.tensor([20.0])).numpy()[0, 0]
    assert _angle(out) == pytest.approx(20.0, abs=1.5)
    # the bar keeps its length: a shear would stretch it
    assert (out > 0.5).sum() == pytest.approx((x.numpy() > 0.5).sum(), rel=0.1)


def test_small_rotations_are_drawn_within_the_bound_and_match_the_seeded_draw():
    opts = ClassifierOptions(model="cnn", augment=False, rotate=15.0, shift=0)
    out = augment(_bars(12), opts, torch.Generator().manual_seed(3)).numpy()[:, 0]
    # the angles augment drew: its first draw from the same seed (no flips, shifts, jitter)
    drawn = 15.0 * (2 * torch.rand(12, generator=torch.Generator().manual_seed(3)) - 1)
    measured = np.array([_angle(image) for image in out])
    np.testing.assert_allclose(measured, drawn.numpy(), atol=1.5)
    assert np.all(np.abs(measured) <= 15.0 + 1.5)
    assert np.ptp(measured) > 10  # angles differ between images


def test_augmentation_is_deterministic_for_a_seed():
    opts = ClassifierOptions(model="cnn", rotate=15.0, shift=2, jitter=0.1)
    x = torch.rand(6, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    first = augment(x, opts, torch.Generator().manual_seed(7))
    again = augment(x, opts, torch.Generator().manual_seed(7))
    other = augment(x, opts, torch.Generator().manual_seed(8))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.allclose(first, other)


def test_rotation_off_by_option_changes_no_pixel_value():
    x = _bars(6)
    off = ClassifierOptions(model="cnn", augment=False, rotate=0.0, shift=0)
    unchanged = augment(x, off, torch.Generator())
    torch.testing.assert_close(unchanged, x, rtol=0, atol=0)
    # flips and 90° turns only: each copy holds exactly the bar's values, no interpolation
    turned = augment(x, ClassifierOptions(model="cnn", rotate=0.0, shift=0), torch.Generator())
    values = np.sort(x[0].numpy().ravel())
    for image in turned.numpy():
        np.testing.assert_array_equal(np.sort(image.ravel()), values)


def test_augmentation_examples_show_the_rotations():
    image = np.zeros((41, 41), np.uint8)
    image[19:22, 6:-6] = 200
    examples = augmentation_examples(image, 6, augment=False, rotate=20.0, shift=0, seed=1)
    assert examples.shape == (6, 41, 41)
    angles = [_angle(e / e.max()) for e in examples]
    assert angles[0] == pytest.approx(0.0, abs=0.5)  # the first copy is the image itself
    assert all(abs(a) <= 21.5 for a in angles) and max(map(abs, angles[1:])) > 2


def test_rotate_option_is_checked():
    with pytest.raises(ValueError, match="rotate must be from 0 to 45 degrees"):
        ClassifierOptions(rotate=90.0)
    assert "degrees" in ClassifierOptions.help("rotate")


def test_a_seeded_cnn_run_with_rotations_repeats_exactly_on_the_cpu():
    from napari_nuclei_edges.classification import fit_classifier
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    data = synthetic_nuclei(n_per_class=4, size=32)
    options = {"model": "cnn", "layers": 1, "channels": 2, "epochs": 2, "rotate": 15.0,
               "device": "cpu"}  # fmt: skip
    first = [s.loss for s in fit_classifier(data, **options)]
    again = [s.loss for s in fit_classifier(data, **options)]
    turned_less = [s.loss for s in fit_classifier(data, **{**options, "rotate": 0.0})]
    assert first == again
    assert first != turned_less  # the rotations reach training
