"""napari-nuclei-edges: histograms, thresholds, Sobel edges and kernel learning for nuclei."""

__version__ = "0.1.0"
