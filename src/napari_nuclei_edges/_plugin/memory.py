"""Keeping Python's garbage collector out of the launcher's event loop (no Qt, no napari).

After start-up, napari, Qt, torch and the docks hold about 600,000 objects that
live as long as the window. A full collection walks all of them: 0.36 s with
the window frozen, at a moment chosen by the allocator, often the click that
makes new layers. Frozen (:func:`gc.freeze`), they are skipped; what the user's
work makes is still collected as usual.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then leave every object alive now out of later collections."""
    gc.collect()
    gc.freeze()


def keep_frozen() -> None:
    """Also freeze what a warm-up made, where start-up objects were frozen (the launcher).

    A dock opened in someone else's napari leaves the collector as it found it.
    """
    if gc.get_freeze_count():
        gc.freeze()
