"""The Learn a segmentation dock."""
