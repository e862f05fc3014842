"""The segmenter dock's rules, without Qt: its curves, what it says, scribbles guessed."""

import math
from types import SimpleNamespace

import numpy as np

from napari_nuclei_edges._qt.segmenter.state import Baseline, SegmenterState, guess_kind


def _step(epoch, dice=0.8, f1=0.7):
    return SimpleNamespace(epoch=epoch, loss=1 / epoch, val_loss=1.2 / epoch, val_dice=dice,
                           val_f1=f1, elapsed=2.0 * epoch, model=f"model {epoch}")  # fmt: skip


def test_each_epoch_adds_a_point_to_every_curve_and_the_model_follows():
    state, heard = SegmenterState(), []
    state.events.epochs.connect(lambda value: heard.append(value))
    for epoch in (1, 2, 3):
        state.add(_step(epoch))
    assert state.epochs == (1, 2, 3) and heard[-1] == (1, 2, 3)
    assert state.loss == (1.0, 0.5, 1 / 3) and state.model == "model 3"
    state.begin()
    assert state.epochs == () and state.model is None and state.baseline is None


def test_an_epoch_says_its_scores_beside_the_threshold_s():
    state = SegmenterState(baseline=Baseline(0.87, 0.8))
    said = state.progress_text(_step(4, dice=0.934, f1=0.91))
    assert said == ("Epoch 4, 8 s: held-out Dice 0.93 (threshold 0.87), nuclei F1 0.91 "
                    "(threshold 0.80).")  # fmt: skip
    scribbled = SegmenterState().progress_text(_step(2, dice=0.9, f1=math.nan))
    assert scribbled == "Epoch 2, 4 s: held-out Dice 0.90."  # no objects to count
    nothing = SegmenterState().progress_text(_step(1, dice=math.nan, f1=math.nan))
    assert nothing.endswith("(nothing held out to score on).")


def test_the_verdict_says_whether_the_network_earns_its_place():
    state = SegmenterState(baseline=Baseline(0.87, 0.8))
    assert state.verdict() == ""  # no epoch yet
    for epoch, f1 in ((1, 0.5), (2, 0.85)):
        state.add(_step(epoch, f1=f1))
    assert state.verdict().startswith("It beats the threshold on the held-out nuclei (F1 0.85")
    state.add(_step(3, f1=0.6))
    assert "train longer, or label more nuclei" in state.verdict()
    scribbles = SegmenterState(baseline=Baseline(0.87, math.nan))
    scribbles.add(_step(1, dice=0.9, f1=math.nan))
    assert "(Dice 0.90 against 0.87)" in scribbles.verdict()


def test_strokes_of_1_and_2_are_scribbles_and_labels_are_nuclei():
    strokes = np.zeros((20, 20), np.uint8)
    strokes[2, 2:9], strokes[15, 3:12] = 1, 2
    assert guess_kind(strokes) == "scribbles"
    nuclei = np.zeros((20, 20), np.int32)
    nuclei[2:6, 2:6], nuclei[10:14, 10:14], nuclei[15:18, 1:4] = 1, 2, 3
    assert guess_kind(nuclei) == "nuclei"
    assert guess_kind(nuclei.clip(0, 1)) == "nuclei"  # a mask: whole nuclei
