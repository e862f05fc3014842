"""The threshold dock's image layers: which are listed and ticked, renames, deletions.

A mixin of :class:`~.widget.HistogramThresholdWidget`: it follows the viewer's layer
list into the dock's list and its state (``state.offer``: the tick a new layer gets),
and removes the dock's outputs of a deleted layer (``previews.remove_orphans``).
"""

from __future__ import annotations

from napari.layers import Image, Labels
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QListWidgetItem

from ..common.layers import layer_problem
from ..common.layout import fit_table
from ..common.outputs import OWNER_KEY, is_owned, rename_outputs
from .previews import OUTPUTS, follow_edits, remove_orphans

#: What the dock's layer check is asked for.
PURPOSE = "thresholding"


class LayerListMixin:
    """The dock's list of image layers kept in step with the viewer's (see the module)."""

    def _layer_events(self):
        events = self._viewer.layers.events
        return (events.inserted, events.removed, events.moved)

    def _image_layers(self) -> list:
        return [layer for layer in self._viewer.layers if isinstance(layer, Image)]

    def _offered(self) -> list[tuple[str, bool, tuple]]:
        # the kind: another class of a dataset has the same dtype and image shape; a mask
        # or labels opened as an image is offered unticked, as the plugin's outputs are
        return [(layer.name, is_owned(layer) or _is_labels(layer),
                 (str(layer.dtype), tuple(layer.data.shape[-2:])))
                for layer in self._image_layers()]  # fmt: skip

    def _on_layer_removed(self, event) -> None:
        """The dock's outputs of a deleted layer go with it (after napari's removal is done:
        removing more layers inside it would shift the indices napari is removing)."""
        self._deleted.append(event.value.name)
        QTimer.singleShot(0, self._remove_orphans)  # a bound slot: dropped if the dock goes

    def _remove_orphans(self) -> None:
        names, self._deleted = self._deleted, []
        said = " ".join(filter(None, (remove_orphans(self._viewer, name) for name in names)))
        if said:
            self._say(said)

    def _on_layers_changed(self, event=None) -> None:
        self._layer_list.blockSignals(True)
        self._layer_list.clear()
        for layer in self._image_layers():
            item = QListWidgetItem(layer.name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            problem = layer_problem(layer, PURPOSE)
            if problem:
                item.setToolTip(problem)
                item.setForeground(Qt.gray)
            self._layer_list.addItem(item)
            layer.events.name.disconnect(self._on_layer_renamed)  # no duplicates
            layer.events.name.connect(self._on_layer_renamed)
            self._known_names[id(layer)] = layer.name
        self._layer_list.blockSignals(False)
        truths = [layer.name for layer in self._viewer.layers if not is_owned(layer)
                  and (isinstance(layer, Labels) or _is_labels(layer))]  # fmt: skip
        for layer in self._viewer.layers:
            if is_owned(layer) and layer.metadata[OWNER_KEY].get("output") in OUTPUTS:
                follow_edits(layer)
        self._segmentation_panel.set_truth_choices(truths)
        with self.state.events.layers.blocked():
            self.state.offer(self._offered())
        if self._counted_key() == self._counted:
            # another dock's output came or went: the histograms' layers are the same
            # ones, and counting them again would stall napari at each new layer (the
            # tables are fitted again, as a recount did: cheap, and the dock may have
            # been laid out since they were filled)
            self._show_selection()
            fit_table(self._stats_table)
        else:
            self._on_selection_changed()

    def _counted_key(self) -> tuple:
        return tuple((layer.name, id(layer.data)) for layer in self.selected_layers)

    def _show_selection(self) -> None:
        self._layer_list.blockSignals(True)
        for i in range(self._layer_list.count()):
            item = self._layer_list.item(i)
            item.setCheckState(Qt.Checked if item.text() in self.state.layers else Qt.Unchecked)
        self._layer_list.blockSignals(False)

    def _on_layer_checked(self, item: QListWidgetItem) -> None:
        self.state.choose(item.text(), item.checkState() == Qt.Checked, self._offered())

    def _on_layer_renamed(self, event) -> None:
        """Outputs follow their source's new name, so nothing is orphaned or duplicated."""
        layer = event.source
        old = self._known_names.get(id(layer))
        if old is not None and old != layer.name:
            rename_outputs(self._viewer, old, layer.name)
            with self.state.events.layers.blocked():
                self.state.rename(old, layer.name)
        self._on_layers_changed()


def _is_labels(layer) -> bool:
    """An Image layer that holds a mask or labels (integers, mostly 0, few values)."""
    from ...data import looks_like_labels
    from ..common.layers import layer_data

    return isinstance(layer, Image) and looks_like_labels(layer_data(layer))
