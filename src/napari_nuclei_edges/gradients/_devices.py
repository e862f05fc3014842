"""Which torch devices :func:`~napari_nuclei_edges.gradients.sobel` can run on here.

torch only.
"""

from __future__ import annotations

import torch


def default_device() -> str:
    """CUDA or MPS when torch sees one, else ``"cpu"``.

    Examples
    --------
    >>> default_device() in ("cuda", "mps", "cpu")
    True
    """
    if torch.cuda.is_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    """The device choices to offer: ``"auto"``, ``"cpu"``, then any GPU torch sees.

    ``"auto"`` stands for :func:`default_device` (``device=None`` in
    :func:`~napari_nuclei_edges.gradients.sobel`).

    Returns
    -------
    list of str
        ``["auto", "cpu"]``, followed by ``"cuda"`` and ``"mps"`` where present.

    Examples
    --------
    >>> available_devices()[:2]
    ['auto', 'cpu']
    """
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if _mps_available():
        devices.append("mps")
    return devices


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()
