"""The threshold dock: a view of its Qt-free state model, histogram, segmentation panels."""
