"""Fixtures for the tile loop behind sobel()."""

import pytest

from napari_nuclei_edges.gradients import _tiles


@pytest.fixture
def tile_pixels(monkeypatch):
    """Set the tile size (small sizes: many tiles of every geometry)."""

    def set_size(pixels: int) -> None:
        monkeypatch.setattr(_tiles, "TILE_PIXELS", pixels)

    return set_size
