"""The classifier dock's class-layer list, in step with napari's layer list.

A mixin of :class:`~.widget.StageClassifierWidget`: the list of image layers
(one class each, ticked) and the image-layer choice follow every insert,
removal and rename of a layer; a renamed layer keeps its tick, a run's images
are found under the new name and its outputs are renamed with it. A trained
model's class names stay as they were trained.
"""

from __future__ import annotations

from napari.utils.notifications import show_warning
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QListWidgetItem

from ..common.layers import fill_image_combo, user_image_layers
from ..common.outputs import rename_outputs
from . import actions


class ClassLayers:
    """The ticked class layers, followed through inserts, removals and renames."""

    @property
    def class_layers(self) -> list[str]:
        """The ticked class layers, in list order."""
        items = (self._class_list.item(i) for i in range(self._class_list.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    @class_layers.setter
    def class_layers(self, names) -> None:
        for i in range(self._class_list.count()):
            item = self._class_list.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked
            )

    def _follow_layers(self, on: bool) -> None:
        """Connect (or disconnect) the layer list's events this dock follows."""
        events = self._viewer.layers.events
        for event, handler in ((events.inserted, self._on_layers_changed),
                               (events.removed, self._on_layers_changed),
                               (events.removed, self._on_layer_removed),
                               (events.renamed, self._on_layer_renamed),
                               (self._viewer.layers.selection.events.active,
                                self._on_active_layer)):  # fmt: skip
            if on:
                event.connect(handler)
            else:
                event.disconnect(handler)
        if on:
            self._on_layers_changed()

    def _on_active_layer(self, event=None) -> None:
        """The image to apply to is the layer selected in napari's layer list, until the
        user picks one in the dock's box (Qt's ``activated``: clicks only)."""
        if getattr(self, "_image_picked", False):
            return
        active = self._viewer.layers.selection.active
        if active is not None and self._image_combo.findText(active.name) >= 0:
            self._image_combo.setCurrentText(active.name)

    def _on_image_picked(self, index: int) -> None:
        self._image_picked = index >= 0

    def _on_layers_changed(self, event=None, ticked=None) -> None:
        """Offer every user image layer; keep the ticks (``ticked``: the names to tick)."""
        self._known = {layer.unique_id: layer.name for layer in self._viewer.layers}
        chosen = self._image_combo.currentText()
        fill_image_combo(self._image_combo, self._viewer)
        if chosen and self._image_combo.currentText() != chosen:
            self._image_picked = False  # the picked layer is gone: follow the selection
        names = [layer.name for layer in user_image_layers(self._viewer)]
        if ticked is None:
            first = self._class_list.count() == 0
            ticked = actions.default_class_layers(self._viewer) if first else self.class_layers
        ticked = set(ticked)
        self._class_list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = name in ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self._class_list.addItem(item)
        self._offer_nuclei()

    def _offer_nuclei(self, *_) -> None:
        """The Labels layers of the chosen image's size, as the nuclei a field's Predict reads
        (the network's segmentation first, then Apply's labels)."""
        from napari.layers import Labels

        name = self._image_combo.currentText()
        image = next((layer for layer in self._viewer.layers if layer.name == name), None)
        shape = None if image is None else tuple(image.data.shape)
        names = [layer.name for layer in self._viewer.layers
                 if isinstance(layer, Labels) and tuple(layer.data.shape) == shape]  # fmt: skip
        self.apply.offer_nuclei(names, [f"{name}_segmentation", f"{name}_labels"])

    def _on_layer_renamed(self, event) -> None:
        """The list, the image choice, a run's layers and their outputs take the new name."""
        layer = self._viewer.layers[event.index]
        old, new = self._known.get(layer.unique_id), layer.name
        self._known[layer.unique_id] = new
        if old is None or old == new:
            return self._on_layers_changed()
        ticked = [new if name == old else name for name in self.class_layers]
        chosen = self._image_combo.currentText()
        self.state.rename(old, new)
        if old in self._images:
            self._images = {new if k == old else k: v for k, v in self._images.items()}
            self._show_misclassified()  # each thumbnail jumps to the layer's new name
        self._on_layers_changed(ticked=ticked)
        if chosen == old:
            self._image_combo.setCurrentText(new)
        rename_outputs(self._viewer, old, new)  # <old>_stage becomes <new>_stage

    def _on_layer_removed(self, event) -> None:
        if self.is_running and event.value.name in self.state.layer_names:
            message = f"{event.value.name} was removed: training stopped; the model is kept."
            self.stop(message)
            show_warning(message)
