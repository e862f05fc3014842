"""The threshold dock: a view of a Qt-free state model, its histogram, statistics and segmentation panels."""
