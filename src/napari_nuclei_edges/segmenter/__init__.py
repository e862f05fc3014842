"""Learn a segmentation: a small U-Net trained from labelled or scribbled nuclei.

- :func:`fit_segmenter`: train the network on images and their labels (instance
  labels, or scribbles with ``sparse=True``), as a generator of
  :class:`SegmenterStep`, one per epoch, with validation loss, pixel Dice and
  object F1 and the model as trained so far.
- :func:`segment_with`: instance labels of any image or stack (numpy or dask),
  tile by tile with overlap, so memory stays bounded on a 4096² image.
- :func:`save_segmenter` / :func:`load_segmenter`: a state dict (loaded with
  ``weights_only=True``) and a JSON file; nothing executes code on load.

Importing this package imports torch only when a function that needs it is
called; no Qt, no napari.
"""

from __future__ import annotations

from .api import fit_segmenter, segment_with
from .model_io import load_segmenter, save_segmenter
from .options import (
    CLASSES,
    LOSSES,
    SegmenterDiverged,
    SegmenterOptions,
    SegmenterStep,
    receptive_field,
)

__all__ = [
    "CLASSES",
    "LOSSES",
    "SegmenterDiverged",
    "SegmenterOptions",
    "SegmenterStep",
    "fit_segmenter",
    "load_segmenter",
    "receptive_field",
    "save_segmenter",
    "segment_with",
]
