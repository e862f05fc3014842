"""What the classifier dock does with a model: cross-validate, explain, augment, predict.

A mixin of :class:`~.widget.StageClassifierWidget` (its buttons call these); the
work runs in workers over pure functions, the results go to layers and sentences.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QTimer

from ..common.layers import layer_data, layer_problem
from ..common.outputs import owned_output
from ..common.workers import start_worker
from . import actions, preview

#: A prediction still running after this long also shows napari's progress bar.
NAPARI_PROGRESS_AFTER_MS = 2000
#: The predictions layer is inserted hidden and shown this much later (after a frame).
SHOW_AFTER_MS = 16


def shown_index(layer, viewer) -> int:
    """The image of a stack ``layer`` that the viewer shows (0 for a 2D layer)."""
    if layer.ndim < 3:
        return 0
    index = round(float(layer.world_to_data(viewer.dims.point)[0]))
    return min(max(index, 0), layer_data(layer).shape[0] - 1)


class ModelTasks:
    """Cross-validate, Show augmentation, Saliency map and Predict of the classifier dock."""

    def _make_task_timers(self) -> None:
        self._when_long = None  # what to do once a prediction has run for a while
        self._prediction_bar = None  # napari's progress bar of a long prediction
        self._napari_progress_timer = QTimer(
            self, singleShot=True, interval=NAPARI_PROGRESS_AFTER_MS
        )
        self._napari_progress_timer.timeout.connect(self._on_prediction_long)

    def _on_prediction_long(self) -> None:
        if self._when_long is not None:
            self._when_long()

    def _end_prediction_bar(self) -> None:
        """Stop waiting to show napari's progress bar, and close it if it is shown."""
        self._napari_progress_timer.stop()
        self._when_long = None
        bar, self._prediction_bar = self._prediction_bar, None
        if bar is not None:
            bar.close()

    def cross_validate(self):
        """5-fold stratified cross-validation in a worker (the button); a sentence at the end."""
        try:
            options = self.options()
            images = actions.class_images(self._viewer, self.class_layers)
        except (ValueError, TypeError) as exc:
            return self._say(str(exc), "cv", scroll=True)
        folds = []

        def on_fold(fold) -> None:
            folds.append(fold)
            self._cv_progress.advance(fold.fold)
            self._say(f"Fold {fold.fold}/{fold.folds}: accuracy {fold.accuracy:.0%}.", "cv")

        def on_finished() -> None:
            self._cv_progress.end()
            self._update_buttons()
            if folds:
                self._show_folds(folds, list(images), options.model)

        self._cv_progress.begin(5, "cross-validation fold")
        self._say(f"Cross-validating {options.model} on {len(images)} classes…", "cv")
        self._task = start_worker(
            actions.cross_validation_folds, images, options, on_yielded=on_fold,
            on_failure=lambda message: self._on_error(message, "cv"),
            on_finished=on_finished, owner=self,
        )  # fmt: skip
        self._update_buttons()
        return self._task

    def _show_folds(self, folds, classes: list[str], model: str) -> None:
        """The folds' confusion summed, headed by what it counts, and the sentence."""
        confusion = sum(f.confusion for f in folds)
        self._confusion.set_classes(classes)
        self._confusion.show_matrix(confusion)
        self._confusion_heading.setText(
            f"cross-validation confusion, {int(confusion.sum())} images ({len(folds)} "
            "folds; rows: true stage)"
        )
        acc = np.array([f.accuracy for f in folds])
        f1 = np.mean([f.macro_f1 for f in folds])
        seconds = np.mean([f.seconds for f in folds])
        self.results["cv"].say(
            f"{model}, {len(folds)} folds: accuracy {acc.mean():.1%} ± {acc.std():.1%}, macro "
            f"F1 {f1:.2f}, {seconds:.1f} s per fold (confusion summed over the folds).",
            scroll=True,
            also=self._confusion,
        )

    def show_augmentation(self):
        """Add ``<layer>_augmented`` beneath the chosen layer: at each of its images, that
        image and 8 copies as the CNN's augmentation draws them (3 × 3)."""
        name = self.image_name
        if name not in self._viewer.layers:
            return self._say("Choose an image layer first.", "apply", scroll=True)
        layer = self._viewer.layers[name]
        data = layer_data(layer)
        try:
            problem = layer_problem(layer, "augmenting", max_ndim=3)
            if problem:
                raise ValueError(problem)
            options = self.options()
            index = shown_index(layer, self._viewer)
            out = preview.put_augmented(self._viewer, name, data, index, options)
        except (ValueError, TypeError) as exc:
            return self._say(str(exc), "apply", scroll=True)
        which = f"each of its {len(data)} images" if data.ndim == 3 else "the image"
        copies = preview.GRID**2 - 1
        self._say(f"{out.name}, beneath {name}: {which} (top left) and {copies} augmented "
                  "copies, 3 × 3; it follows the slider.", "apply", scroll=True)  # fmt: skip
        return out

    def saliency(self):
        """Compute ``<layer>_saliency`` for the chosen image layer in a worker (the Saliency map
        button): the worker, or None and a sentence; the layer comes when it is done."""
        name = self.image_name
        if self.model is None or name not in self._viewer.layers:
            return self._say("Train or load a model, and choose an image layer, first.", "apply",
                             scroll=True)  # fmt: skip
        try:
            device = self.options().device
        except (ValueError, TypeError) as exc:
            return self._say(str(exc), "apply", scroll=True)
        data = self._viewer.layers[name].data
        index = shown_index(self._viewer.layers[name], self._viewer)
        model, method = self.model, self.saliency_method

        def on_returned(result) -> None:
            maps, shown, note = result
            if name not in self._viewer.layers:
                return self._say(f"{name} is no longer a layer: no saliency map.", "apply", True)
            if not shown.any():
                return self._say(
                    "The model's saliency is 0 everywhere: it does not read the pixels (the "
                    "CNN + measurements model kept its measurement-only start). Train longer.",
                    "apply",
                    scroll=True,
                )
            out = actions.put_saliency(
                self._viewer, name, maps, shown, model.options.model, method
            )
            what = "|gradient × input|" if method == "gradient × input" else method
            self._say(f"{out.name}: {what} {note}. Bright where the network looks.", "apply", True)

        def on_finished() -> None:
            self._task_progress.end()
            self._update_buttons()

        self._task_progress.begin(0, f"saliency of {name}")
        self._task = start_worker(
            actions.saliency_of, model, name, data, index, method, device,
            on_returned=on_returned, on_failure=lambda message: self._on_error(message, "apply"),
            on_finished=on_finished, owner=self,
        )  # fmt: skip
        self._update_buttons()
        return self._task

    def predict(self):
        """Classify every image of the chosen layer into ``<layer>_stage`` (in a worker)."""
        from ...classification.options import Predictions

        name = self.image_name
        if self.model is None or name not in self._viewer.layers:
            return self._say("Train or load a model, and choose an image layer, first.", "apply",
                             scroll=True)  # fmt: skip
        try:
            device = self.options().device
        except (ValueError, TypeError) as exc:
            return self._say(str(exc), "apply", scroll=True)
        layer = self._viewer.layers[name]
        data, blocks = layer.data, []
        if data.ndim == 2 and tuple(data.shape) != tuple(self.model.image_size):
            return self._predict_field(name, data, device)
        n = data.shape[0] if data.ndim == 3 else 1

        def on_block(block) -> None:
            blocks.append(block)
            self._task_progress.advance(block.stop)
            if self._prediction_bar is not None:
                self._prediction_bar.update(block.stop - self._prediction_bar.n)

        def on_long() -> None:
            # napari's progress bar repaints the whole window as it appears (100-200 ms
            # in software OpenGL): shown only for work that lasts, as Qt's own
            # QProgressDialog waits before it appears
            from napari.utils import progress

            # (only called before the prediction has finished: that clears it)
            self._prediction_bar = progress(total=n, desc=f"Classifying {name}")
            self._prediction_bar.update(blocks[-1].stop if blocks else 0)

        def on_finished() -> None:
            self._end_prediction_bar()
            self._task_progress.end()
            self._update_buttons()
            if not blocks or blocks[-1].stop < n or name not in self._viewer.layers:
                return
            probabilities = np.concatenate([b.probabilities for b in blocks])
            self.predictions = Predictions.of(  # an image without finite ones: no class
                probabilities, self.model.class_names,
                np.concatenate([b.positions for b in blocks]), blocks[0].caveat,
            )  # fmt: skip
            new = owned_output(self._viewer, name, "stage") is None
            out = actions.put_predictions(
                self._viewer, name, self.predictions, data.ndim, visible=not new
            )
            if new:  # shown a turn later: napari's insert and its first draw, apart
                viewer, shown = self._viewer, out.name
                QTimer.singleShot(SHOW_AFTER_MS, lambda: actions.show_layer(viewer, shown))
            counts = ", ".join(f"{c} {int(np.sum(self.predictions.labels == c))}"
                               for c in self.model.class_names)  # fmt: skip
            scores = actions.prediction_scores(self.predictions, name)
            note = f" {self.predictions.note}" if self.predictions.note else ""
            self._say(f"{out.name}: {counts}.{scores}{note}", "apply", scroll=True)
            self.files.update_buttons()

        self._task_progress.begin(n, f"predicting {name}")
        self._task = start_worker(
            actions.predict_blocks, self.model, data, device, on_yielded=on_block,
            on_failure=lambda message: self._on_error(message, "apply"),
            on_finished=on_finished, owner=self,
        )  # fmt: skip
        self._when_long = on_long
        self._napari_progress_timer.start()
        self._update_buttons()
        return self._task

    def _predict_field(self, name: str, data, device):
        """Predict on a field: every nucleus found, each classified in a crop of the
        model's size, one point per nucleus in ``<layer>_stage``."""
        h, w = self.model.image_size

        def on_returned(found) -> None:
            from ...classification.options import Predictions

            table, caveat = found
            if name not in self._viewer.layers:
                return None
            classes = tuple(self.model.class_names)
            self.predictions = Predictions(
                np.asarray(table["stage"], dtype=object),
                np.stack([table[f"p_{c}"] for c in classes], 1).astype(np.float32),
                classes, np.stack([table["centroid_y"], table["centroid_x"]], 1),
            )  # fmt: skip
            out = actions.put_predictions(self._viewer, name, self.predictions, 2,
                                          per_nucleus=True)  # fmt: skip
            counts = ", ".join(f"{c} {int(np.sum(table['stage'] == c))}" for c in classes)
            large = int(np.sum(table["larger_than_crop"]))
            note = f" {large} larger than the crop: their stage is less sure." if large else ""
            note += actions.scale_caveat(self.model, table) or (f" {caveat}" if caveat else "")
            nuclei = len(table["stage"])
            self._say(f"{out.name}: {nuclei} nucle{'us' if nuclei == 1 else 'i'} ({source}), "
                      f"each classified in a {h} × {w} crop around it (hover a point for its "
                      f"stage): {counts}.{note}", "apply", scroll=True)  # fmt: skip
            self.files.update_buttons()

        def on_finished() -> None:
            self._task_progress.end()
            self._update_buttons()

        chosen = self.apply.nuclei_layer
        labels = self._viewer.layers[chosen].data if chosen in self._viewer.layers else None
        source = f"from {chosen}" if labels is not None else "found by segment_nuclei"
        self._task_progress.begin(0, f"classifying the nuclei {source}")
        self._task = start_worker(
            actions.field_table, self.model, data, device, labels, on_returned=on_returned,
            on_failure=lambda message: self._on_error(message, "apply"),
            on_finished=on_finished, owner=self,
        )  # fmt: skip
        self._update_buttons()
        return self._task
