"""The classifier dock's state, without Qt: renames, and a run kept for the next dock."""

import gc

import numpy as np

from napari_nuclei_edges._qt.classify.state import RunState, keep, take


def test_a_renamed_class_layer_is_found_under_its_new_name():
    run = RunState()
    run.begin(["interphase", "metaphase"], [3, 2])
    run.rename("metaphase", "metaphase (day 2)")
    assert run.layer_names == ("interphase", "metaphase (day 2)")
    assert run.locate(4) == ("metaphase (day 2)", 1)
    run.rename("anaphase", "late")  # not a class layer: nothing changes
    assert run.layer_names == ("interphase", "metaphase (day 2)")


class Viewer:
    """Anything a dock is opened on (a proxy is followed to what it wraps)."""


class Proxy:
    def __init__(self, wrapped):
        self.__wrapped__ = wrapped


def test_a_run_with_a_model_is_kept_once_per_viewer_and_only_while_it_lives():
    viewer, other = Viewer(), Viewer()
    run = RunState(model="a model")
    keep(Proxy(viewer), run, predictions=np.zeros(3))  # kept by the dock's proxy
    assert take(other) is None
    kept = take(viewer)
    assert kept.run is run and kept.predictions.shape == (3,)
    assert take(viewer) is None  # once
    keep(viewer, RunState())  # no model: nothing kept, and what was is dropped
    assert take(viewer) is None
    keep(viewer, run)
    keep(viewer, RunState())
    assert take(viewer) is None
    from napari_nuclei_edges._qt.classify import state

    before = len(state._KEPT)
    keep(other, run)
    assert len(state._KEPT) == before + 1
    del other
    gc.collect()
    assert len(state._KEPT) == before  # the viewer gone, its run with it
