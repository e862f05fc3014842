"""Saliency maps, gradient × input and Grad-CAM: tiny networks, and a case with a known answer."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_nuclei_edges.classification import fit_classifier  # noqa: E402
from napari_nuclei_edges.classification._models import StageNet  # noqa: E402
from napari_nuclei_edges.classification.saliency import (  # noqa: E402
    SALIENCY_METHODS,
    saliency_maps,
)


def _discs_and_rings(n: int, size: int = 32, seed: int = 0):
    """Class "disc" has a filled disc, class "ring" a ring: that object decides the class.

    Every image also holds a bright square, in the other half: the same in both
    classes, so it says nothing about the class. Returns the images by class and,
    per image, the masks of the deciding object and of the square.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, masks = {"disc": [], "ring": []}, {"disc": [], "ring": []}
    for name in images:
        for _ in range(n):
            image = rng.normal(0.1, 0.03, (size, size))
            left = rng.random() < 0.5
            r = np.hypot(yy - rng.integers(9, size - 9), xx - (8 if left else size - 9))
            image[(r <= 5) if name == "disc" else ((r <= 5) & (r >= 3))] = 1.0
            square = np.zeros((size, size), bool)
            top, side = rng.integers(4, size - 10), (size - 12 if left else 4)
            square[top : top + 7, side : side + 7] = True
            image[square] = 1.0
            images[name].append(image.astype(np.float32))
            masks[name].append((r <= 6, square))
    return {k: np.stack(v) for k, v in images.items()}, masks


@pytest.mark.parametrize("method", SALIENCY_METHODS)
def test_maps_have_the_images_shape_and_are_non_negative(method):
    torch.manual_seed(0)  # some random networks give a Grad-CAM of zeros (all ReLU'd away)
    net = StageNet(3, layers=2, channels=4, n_features=2, dropout=0.0)
    x = torch.rand(4, 1, 20, 24, generator=torch.Generator().manual_seed(0))
    f = torch.rand(4, 2, generator=torch.Generator().manual_seed(1))
    maps = saliency_maps(net, x, f, method=method)
    assert maps.shape == (4, 20, 24) and maps.dtype == np.float32
    assert (maps >= 0).all() and maps.max() > 0
    if method == "Grad-CAM":
        np.testing.assert_allclose(maps.reshape(4, -1).max(1), 1.0, rtol=1e-5)
    # one class or another: a map per image either way, not the same map
    other = saliency_maps(net, x, f, target=2, method=method)
    assert other.shape == maps.shape


def test_grad_cam_is_higher_on_the_object_that_decides_the_class():
    images, masks = _discs_and_rings(40)
    *_, last = fit_classifier(
        images, model="cnn", layers=2, channels=8, epochs=25, patience=0, dropout=0.0,
        normalisation="none", augment=False, seed=1,
    )  # fmt: skip
    assert last.val_accuracy >= 0.9  # it learned the task: its maps mean something
    cam = last.model.saliency(images["ring"], method="Grad-CAM")
    on_ring = np.mean([m[ring].mean() for m, (ring, _) in zip(cam, masks["ring"], strict=True)])
    on_square = np.mean([m[sq].mean() for m, (_, sq) in zip(cam, masks["ring"], strict=True)])
    background = np.mean(
        [m[~(ring | sq)].mean() for m, (ring, sq) in zip(cam, masks["ring"], strict=True)]
    )
    assert on_ring > 2 * on_square  # the ring decides; the square is in both classes
    assert on_ring > 5 * background


def test_an_unknown_method_and_the_feature_model_get_sentences():
    net = StageNet(2, layers=0, channels=4, n_features=3, dropout=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        saliency_maps(net, torch.rand(1, 1, 8, 8), method="occlusion")
    for method in SALIENCY_METHODS:
        with pytest.raises(ValueError, match="reads measurements, not pixels"):
            saliency_maps(net, torch.rand(1, 1, 8, 8), torch.rand(1, 3), method=method)
