"""Touching nuclei split object by object: the same splits in a fraction of the memory."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.measure import label, regionprops
from skimage.segmentation import watershed

from napari_nuclei_edges.data import synthetic_field
from napari_nuclei_edges.segmentation import segment_nuclei
from napari_nuclei_edges.segmentation._split import SOLIDITY, split_touching


def _whole_image_split(mask, min_distance):
    """The split as one watershed of the whole image (its distance transform, its peaks)."""
    components = label(mask, connectivity=2)
    distance = ndimage.distance_transform_edt(mask)
    concave = [r.label for r in regionprops(components) if r.solidity < SOLIDITY]
    clumps = np.where(np.isin(components, concave), components, 0)
    peaks = peak_local_max(distance, min_distance=min_distance, labels=clumps,
                           exclude_border=False)  # fmt: skip
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    unmarked = np.setdiff1d(np.arange(1, components.max() + 1), components[markers > 0])
    lookup = np.zeros(components.max() + 1, np.int32)
    lookup[unmarked] = np.arange(len(peaks) + 1, len(peaks) + 1 + len(unmarked))
    markers = np.where(lookup[components] > 0, lookup[components], markers)
    return watershed(-distance, markers, mask=mask)


@pytest.mark.parametrize(("size", "nuclei", "seed"), [(512, 120, 0), (512, 250, 1), (768, 400, 2)])
def test_the_splits_are_the_whole_image_watershed_s(size, nuclei, seed):
    image, _ = synthetic_field(size=size, n_nuclei=nuclei, seed=seed)
    mask = segment_nuclei(image, split_touching=False) > 0
    split = split_touching(mask, 4)
    reference = _whole_image_split(mask, 4)
    assert split.max() == reference.max()  # the same objects, numbered alike
    # equal-distance ties in the watershed are broken within each clump, not by the
    # whole image's queue: a few pixels on the cut between two nuclei may differ
    assert np.mean(split[mask] == reference[mask]) > 0.999


def test_a_clump_is_split_as_it_would_be_alone():
    image, _ = synthetic_field(size=512, n_nuclei=250, seed=1)
    mask = segment_nuclei(image, split_touching=False) > 0
    split = split_touching(mask, 4)
    components = label(mask, connectivity=2)
    clump = max(regionprops(components), key=lambda r: r.area).label  # the largest clump
    alone = split_touching(components == clump, 4)
    inside = components == clump
    pairs = {(a, b) for a, b in zip(split[inside], alone[inside], strict=True)}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}) > 1
