"""What every dock shares: owned outputs, the one layer check, themed plots, settings, workers."""
