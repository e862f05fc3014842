"""The "Find the focus" dock: focus measures per slice, plotted, the sharpest picked."""
