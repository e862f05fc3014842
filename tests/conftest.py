from pathlib import Path

import pytest

REFERENCE_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cell0027_nuclei.npz"


@pytest.fixture(scope="session")
def reference_path() -> Path:
    """The CELL0027 reference dataset beside the checkout (never committed)."""
    if not REFERENCE_DATA.is_file():
        pytest.skip(
            f"reference dataset not found at {REFERENCE_DATA}: it is not part of the "
            "repository; put cell0027_nuclei.npz in ../shared/data/ to run this test"
        )
    return REFERENCE_DATA


@pytest.fixture(scope="session")
def synthetic_with_masks():
    from napari_nuclei_edges.data import synthetic_nuclei

    return synthetic_nuclei(masks=True)
