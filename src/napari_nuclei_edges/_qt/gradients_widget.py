"""Public import path of the Sobel dock (see ``_qt/edges/``)."""

from .edges.widget import SobelWidget

__all__ = ["SobelWidget"]
