"""The docks' tab titles (no Qt: the command line reads them before Qt starts)."""

from __future__ import annotations

#: Tab titles that a laptop's tab bar shows whole (the docks' display names otherwise).
SHORT_TITLES = {
    "Histograms and threshold": "Threshold",
    "Classify the stage": "Classify",
    "Learn a segmentation": "Segment",
}


def short_title(title: str) -> str:
    """A dock's tab title: its display name without napari's "(napari-nuclei-edges)",
    shortened where it is long.

    Examples
    --------
    >>> short_title("Classify the stage (napari-nuclei-edges)")
    'Classify'
    >>> short_title("Sobel edges (napari-nuclei-edges)")
    'Sobel edges'
    """
    name = title.removesuffix(" (napari-nuclei-edges)")
    return SHORT_TITLES.get(name, name)
