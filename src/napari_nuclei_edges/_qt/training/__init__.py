"""The kernel-training dock, its options panel and views."""
