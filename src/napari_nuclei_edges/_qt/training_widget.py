"""Public import path of the kernel-training dock (see ``_qt/training/``)."""

from .training.widget import KernelTrainingWidget

__all__ = ["KernelTrainingWidget"]
