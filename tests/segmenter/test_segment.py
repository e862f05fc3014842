"""segment_with: tiles, stacks, dask, the receptive field."""

import numpy as np
import pytest
import torch

from napari_nuclei_edges.data import synthetic_field
from napari_nuclei_edges.segmenter import SegmenterOptions, segment_with
from napari_nuclei_edges.segmenter._model import forward


@pytest.fixture(scope="module")
def model(field_run):
    return field_run[-1].model


@pytest.fixture(scope="module")
def fields():
    """Two fields of an odd size (not a multiple of any tile): a stack (2, 150, 130)."""
    return np.stack([synthetic_field(size=150, n_nuclei=15, seed=s)[0][:, :130] for s in (7, 8)])


def test_labels_are_int32_instances_of_the_images_shape(model, fields):
    one = segment_with(model, fields[0])
    assert one.shape == (150, 130) and one.dtype == np.int32
    assert one.max() >= 5 and set(np.unique(one)) == set(range(one.max() + 1))
    stack = segment_with(model, fields)
    assert stack.shape == fields.shape and stack.dtype == np.int32
    np.testing.assert_array_equal(stack[0], one)  # each image on its own


def test_tiles_give_what_one_pass_gives(model, fields):
    """The tiles overlap by half the receptive field: a small tile's result is the whole
    image's, up to the float rounding of convolutions of other sizes."""
    image = fields[0]
    whole = model.probabilities(image, tile=1024)  # one tile holds the whole image
    tiled = model.probabilities(image, tile=32)  # 5 × 5 tiles
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    np.testing.assert_array_equal(segment_with(model, image, tile=32),
                                  segment_with(model, image, tile=1024))  # fmt: skip


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_the_receptive_field_is_what_a_pixel_sees(depth):
    """The pixels whose change moves one output pixel (its gradient) span the stated
    receptive field at most, exactly the interval followed back through the layers."""
    from napari_nuclei_edges.segmenter._unet import build
    from napari_nuclei_edges.segmenter.options import _support

    opts = SegmenterOptions(depth=depth, channels=16)
    net = build(opts).eval()
    spans = []
    for p in range(64, 64 + opts.factor):
        x = torch.randn(1, 1, 160, 160, generator=torch.Generator().manual_seed(p))
        x.requires_grad_(True)
        forward(net, x)[0, :, p, p].sum().backward()
        rows = np.flatnonzero(x.grad[0, 0].abs().sum(1).numpy() > 0)
        assert (rows.min(), rows.max()) == _support(depth, p)
        spans.append(rows.max() - rows.min() + 1)
    assert max(spans) == opts.receptive_field
    assert opts.margin >= max(max(p - lo, hi - p) for p in range(64, 80)
                              for lo, hi in [_support(depth, p)])  # fmt: skip


def test_a_lazy_stack_is_labelled_image_by_image(model, fields):
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(fields, chunks=(1, 150, 130))
    np.testing.assert_array_equal(segment_with(model, lazy), segment_with(model, fields))


def test_nan_in_a_lazy_image_gets_a_sentence_when_read(model, fields):
    da = pytest.importorskip("dask.array")
    broken = fields.astype(np.float32)
    broken[1, 5, 5] = np.nan
    with pytest.raises(ValueError, match="contain NaN or infinite pixels"):
        segment_with(model, da.from_array(broken, chunks=(1, 150, 130)))


def test_any_real_dtype_is_normalised_alike(model, fields):
    image = fields[0]
    as_float = segment_with(model, image.astype(np.float64) / 4095)
    np.testing.assert_array_equal(segment_with(model, image), as_float)
    assert segment_with(model, image > 2000).dtype == np.int32  # a bool image is read as 0/1


def test_on_another_device_when_asked(model, fields):
    moved = model.to("cpu")
    assert moved is model  # already there: no copy
    np.testing.assert_array_equal(segment_with(model, fields[0], device="cpu"),
                                  segment_with(model, fields[0]))  # fmt: skip
