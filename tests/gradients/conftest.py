"""Fixtures for the engines behind sobel(): the fused native kernel and torch's operations."""

import pytest

from napari_nuclei_edges.gradients import _native, _tiles


@pytest.fixture(params=["eager", "native"])
def engine(request, monkeypatch):
    """Each CPU engine in turn: torch's operations, then the fused kernel of ``_sobel.c``."""
    if request.param == "eager":
        monkeypatch.setattr(_native, "kernel", lambda: None)
    elif not _native.warm_up(wait=True):
        # not a stand-in for a missing feature: the torch operations are this
        # machine's engine, and the "eager" run of the same test covers them
        pytest.skip(f"the native kernel cannot be built here ({_native.reason()})")
    return request.param


@pytest.fixture
def tile_pixels(monkeypatch):
    """Set the tile size of both engines (small sizes: many tiles of every geometry)."""

    def set_size(pixels: int) -> None:
        monkeypatch.setattr(_tiles, "TILE_PIXELS", pixels)
        monkeypatch.setattr(_tiles, "NATIVE_TILE_PIXELS", pixels)

    return set_size
