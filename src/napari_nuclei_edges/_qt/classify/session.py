"""A trained model outlives its dock: closed with the ×, the next Classify shows it again.

A mixin of :class:`~.widget.StageClassifierWidget`. napari's × deletes the dock
and a reopened one is a new widget: without this, minutes of training were
thrown away without a word. The run (model, curves, scores) is kept in memory
for the session (:func:`~.state.keep`), per viewer, and the next dock opened on
that viewer takes it back and says so; *Save model…* keeps it beyond the session.
"""

from __future__ import annotations

from .state import keep, take


class KeptModel:
    """Keep the run when the dock goes; show it again in the next dock."""

    def _keep(self) -> None:
        keep(self._viewer, self.state, self.predictions)

    def _take_kept(self) -> None:
        kept = take(self._viewer)
        if kept is None or kept.run is self.state:  # this dock's own (shown again)
            return
        run, model = kept.run, kept.run.model
        self.state, self.predictions = run, kept.predictions
        present = [name for name in run.layer_names if name in self._viewer.layers]
        if present:
            self.class_layers = present
        self._images = {
            name: self._viewer.layers[name].data
            for name, count in zip(run.layer_names, run.counts, strict=False)
            if name in present and len(self._viewer.layers[name].data) == count
        }
        last = run.last
        if last is not None:
            self._curves.set_chance(len(run.layer_names))
            self._curves.begin(last.epochs)
            self._curves.set_baseline(run.baseline)
            self._confusion.set_classes(run.layer_names)
            self._progress_bar.setRange(0, last.epochs)
            self._progress_bar.setFormat("epoch %v/%m")
            self._refresh(final=True)
        else:  # a loaded model: no curves to show
            self._filters.show_filters(model.first_filters())
        how = f" (epoch {last.epoch}, validation accuracy {last.val_accuracy:.0%})" if last else ""
        self._say(
            "The model from before Classify was closed is kept: "
            f"{model.options.model} of {', '.join(model.class_names)}{how}. Predict applies "
            "it; Save model… keeps it after napari closes.",
            scroll=True,
        )
        self._update_buttons()
