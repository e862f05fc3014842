"""fit_segmenter: steps, learning, determinism, scribbles, validation."""

import math

import numpy as np
import pytest
import torch

from napari_nuclei_edges.segmentation.scores import segmentation_scores
from napari_nuclei_edges.segmenter import (
    SegmenterOptions,
    SegmenterStep,
    fit_segmenter,
    segment_with,
)
from napari_nuclei_edges.segmenter._fit import segmentation_loss
from napari_nuclei_edges.segmenter._model import Segmenter


def _state(model):
    return {k: v.clone() for k, v in model.net.state_dict().items()}


def test_one_step_per_epoch_with_the_model_so_far(field_run):
    assert [s.epoch for s in field_run] == [1, 2, 3, 4]
    assert [s.step for s in field_run] == [10, 20, 30, 40]
    assert [s.status for s in field_run] == ["running"] * 3 + ["finished"]
    assert all(isinstance(s, SegmenterStep) and isinstance(s.model, Segmenter) for s in field_run)
    elapsed = [s.elapsed for s in field_run]
    assert elapsed == sorted(elapsed)
    with pytest.raises(AttributeError):  # a step is frozen
        field_run[0].loss = 0.0
    # each step's model is a snapshot: training on did not change the first one
    first, last = field_run[0].model.net.state_dict(), field_run[-1].model.net.state_dict()
    assert not torch.equal(first["head.weight"], last["head.weight"])


def test_training_on_a_field_lowers_the_loss_and_finds_the_nuclei(field_run):
    losses = [s.loss for s in field_run]
    assert losses[-1] < 0.6 * losses[0]
    assert field_run[-1].val_loss < field_run[0].val_loss
    assert field_run[-1].val_dice > 0.85
    assert 0.5 < field_run[-1].val_f1 <= 1.0


def test_the_model_labels_a_field_it_never_saw(field_run):
    from napari_nuclei_edges.data import synthetic_field

    image, truth = synthetic_field(size=128, n_nuclei=12, seed=5)
    labels = segment_with(field_run[-1].model, image)
    assert labels.shape == image.shape and labels.dtype == np.int32
    scores = segmentation_scores(labels, truth)
    assert scores["dice"] > 0.8
    f = np.mean(truth > 0)  # every pixel called nucleus scores 2f / (1 + f)
    assert scores["dice"] > 2 * f / (1 + f) + 0.3


def test_same_seed_same_model_bit_for_bit_on_the_cpu(tiny, draw):
    image, truth = draw.touching_pairs(64, seed=1)
    runs = [list(fit_segmenter(image, truth, epochs=2, steps_per_epoch=2, seed=seed, **tiny))
            for seed in (3, 3, 4)]  # fmt: skip
    a, b, c = (_state(run[-1].model) for run in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [s.loss for s in runs[0]] == [s.loss for s in runs[1]]
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_two_touching_discs_come_out_as_two_nuclei(tiny, draw):
    image, truth = draw.touching_pairs(128, seed=0)
    *_, last = fit_segmenter(image, truth, epochs=6, steps_per_epoch=10, **tiny)
    pair, pair_truth = draw.discs([(32, 23), (32, 41)], 64, seed=1)
    labels = segment_with(last.model, pair)
    scores = segmentation_scores(labels, pair_truth)
    assert (scores["predicted_objects"], scores["matched"]) == (2, 2)


def test_scribbles_train_where_painted_only(tiny, draw):
    image, truth = draw.touching_pairs(128, seed=0)
    scribbles = np.zeros(truth.shape, np.uint8)
    scribbles[::3, ::3] = np.where(truth[::3, ::3] > 0, 1, 2)  # a pixel in 9 painted
    steps = list(fit_segmenter(image, scribbles, epochs=3, steps_per_epoch=10, sparse=True,
                               **tiny))  # fmt: skip
    assert all(math.isnan(s.val_f1) for s in steps)  # scribbles have no objects to match
    assert steps[-1].loss < steps[0].loss
    assert steps[-1].val_dice > 0.8
    assert steps[-1].model.options.sparse


def test_the_loss_reads_painted_pixels_only():
    target = torch.tensor([[[0, 3], [-1, -1]]])  # background, nucleus, two unpainted
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    for kind in ("ce", "dice", "ce+dice"):
        logits.grad = None
        segmentation_loss(logits, target, kind).backward()
        assert logits.grad[0, :, 1].abs().sum() == 0  # nothing flows from unpainted pixels
        assert logits.grad[0, :, 0].abs().sum() > 0
    changed = logits.detach().clone()
    changed[0, :, 1] = 100.0
    assert torch.equal(segmentation_loss(changed, target, "ce+dice"),
                       segmentation_loss(logits.detach(), target, "ce+dice"))  # fmt: skip


def test_seams_weigh_more_in_the_cross_entropy():
    target = torch.tensor([[[2, 4]]])  # a boundary pixel, a seam pixel (both boundary class)
    logits = torch.zeros(1, 3, 1, 2)
    logits[0, 2, 0, 0] = 5.0  # the plain boundary pixel right, the seam wrong
    assert segmentation_loss(logits, target, "ce", seam_weight=10) > segmentation_loss(
        logits, target, "ce", seam_weight=1
    )


def test_validation_images_or_none(tiny, draw):
    image, truth = draw.touching_pairs(64, seed=1)
    other, other_truth = draw.touching_pairs(64, seed=2)
    given = list(fit_segmenter(image, truth, validation=(other, other_truth), epochs=1, **tiny))
    assert math.isfinite(given[0].val_loss) and 0 <= given[0].val_f1 <= 1
    none = list(fit_segmenter(image, truth, validation=0, epochs=1, **tiny))
    assert math.isnan(none[0].val_loss) and math.isnan(none[0].val_dice)


def test_an_image_smaller_than_a_patch_is_padded(tiny, draw):
    image, truth = draw.discs([(10, 10), (10, 28)], 40)
    steps = list(fit_segmenter(image[:20], truth[:20], epochs=1, validation=0, **tiny))
    assert math.isfinite(steps[0].loss)
    assert segment_with(steps[0].model, image[:20]).shape == (20, 40)


def test_a_stack_of_images_of_any_dtype(tiny, draw):
    image, truth = draw.touching_pairs(64, seed=1)
    stack = np.stack([image, image[::-1]]).astype(np.uint16)
    steps = list(fit_segmenter(stack, np.stack([truth, truth[::-1]]), epochs=1, **tiny))
    assert steps[0].model.intensity["dtype"] == "uint16"
    assert segment_with(steps[0].model, stack.astype(np.float64)).shape == stack.shape


def test_seconds_end_the_run(tiny, draw):
    image, truth = draw.touching_pairs(64, seed=1)
    steps = list(fit_segmenter(image, truth, seconds=1e-6, epochs=50, **tiny))
    assert len(steps) == 1 and steps[0].status == "finished" and steps[0].step >= 1


def test_options_speak_of_the_receptive_field():
    assert SegmenterOptions().receptive_field == 44
    assert SegmenterOptions(depth=2).receptive_field == 18
    assert SegmenterOptions(depth=4).receptive_field == 100


def test_auto_trains_where_torch_can_and_hands_out_a_cpu_model(tiny, draw):
    image, truth = draw.touching_pairs(64, seed=1)
    step = next(fit_segmenter(image, truth, epochs=1, device="auto", **tiny))
    assert step.model.device.type == "cpu"  # a GPU run's snapshots come back to the CPU
    assert math.isfinite(step.loss)
    with pytest.raises(ValueError, match="device 'gpu9' is not available here"):
        next(fit_segmenter(image, truth, epochs=1, device="gpu9", **tiny))


def test_each_step_names_the_tiles_it_validates_on():
    from napari_nuclei_edges.data import synthetic_field
    from napari_nuclei_edges.segmenter import fit_segmenter

    image, truth = synthetic_field(size=192, n_nuclei=20, seed=1)
    step = next(iter(fit_segmenter(image, truth, epochs=1, depth=2, channels=4)))
    assert step.held_out and all(i == 0 for i, _, _ in step.held_out)
    covered = np.zeros(image.shape, bool)
    for _, rows, columns in step.held_out:
        covered[rows, columns] = True
    assert 0 < covered.mean() < 0.5  # a share of the image, not all of it
    other, other_truth = synthetic_field(size=96, n_nuclei=6, seed=2)
    apart = next(iter(fit_segmenter(image, truth, validation=(other, other_truth), epochs=1,
                                    depth=2, channels=4)))  # fmt: skip
    assert apart.held_out == ()  # validated on images of its own: no tile of these
