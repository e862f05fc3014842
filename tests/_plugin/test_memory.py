"""The launcher freezes its start-up objects out of the garbage collector; nothing else does."""

import gc

from napari_nuclei_edges._plugin.memory import freeze_startup_objects, keep_frozen


def test_a_process_that_did_not_freeze_is_left_alone():
    assert gc.get_freeze_count() == 0  # no test before this one froze the session
    keep_frozen()  # what the training dock's warm-up calls when it ends
    assert gc.get_freeze_count() == 0


def test_once_frozen_later_objects_are_frozen_too():
    try:
        freeze_startup_objects()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        later = [[i] for i in range(1000)]  # what a warm-up makes
        keep_frozen()
        assert gc.get_freeze_count() >= frozen + len(later)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
