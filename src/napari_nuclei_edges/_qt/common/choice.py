"""A dock's image-layer box that keeps in step with napari's layer list.

Every dock that works on one image layer offers it in a combo box. The box follows
what the user does in napari, not only what they do in the dock:

- a layer renamed in the layer list keeps its place in the box, under its new name,
  and the plugin's outputs of it follow (``<old>_sobel_gx`` becomes ``<new>_sobel_gx``);
- a layer removed leaves the box (the choice falls to the selected layer, else the last);
- the layer selected in napari's layer list is the dock's image, until the user picks
  one in the dock's box (then the dock keeps that one while it exists).
"""

from __future__ import annotations

from collections.abc import Callable

from .layers import keep_narrow, user_image_layers
from .outputs import rename_outputs


class LayerChoice:
    """Keep ``combo`` filled with the user's image layers of ``viewer`` (see module doc).

    Parameters
    ----------
    combo : QComboBox
        The dock's box; its ``currentTextChanged`` still tells the dock of a change.
    viewer : napari.Viewer
    on_refill : callable, optional
        Called with the names offered after each refill (a dock that lists them elsewhere).
    on_renamed : callable, optional
        Called with ``(old, new)`` when a user's image layer is renamed, before the box
        shows the new name (a dock's state keyed by the name follows it).

    Examples
    --------
    >>> choice = LayerChoice(QComboBox(), viewer)  # doctest: +SKIP
    >>> choice.attach(); choice.name  # doctest: +SKIP
    'apoptosis'
    """

    def __init__(
        self,
        combo,
        viewer,
        on_refill: Callable[[list[str]], None] | None = None,
        on_renamed: Callable[[str, str], None] | None = None,
    ):
        self._combo, self._viewer = combo, viewer
        self._on_refill, self._on_renamed_hook = on_refill, on_renamed
        # every layer's name by its place in the list, at the last refill (napari tells a
        # rename by the place; the proxy napari hands a dock gives no stable identity)
        self._by_index: list[str] = []
        self._offered: list[str] = []
        self.picked = False  # the user chose in the dock: stop following the selection
        keep_narrow(combo)
        combo.activated.connect(self._on_user_pick)  # activated: the user's clicks only

    @property
    def name(self) -> str:
        """The chosen layer's name ("" when there is none)."""
        return self._combo.currentText()

    @name.setter
    def name(self, name: str) -> None:
        """Choose ``name`` as the user does in the box (the selection is no longer followed)."""
        self._combo.setCurrentText(name)
        self.picked = self._combo.currentText() == name

    def attach(self) -> None:
        events = self._viewer.layers.events
        for event in (events.inserted, events.removed, events.moved):
            event.connect(self.refill)
        events.renamed.connect(self._on_renamed)
        self._viewer.layers.selection.events.active.connect(self._on_active)
        self.refill()

    def detach(self) -> None:
        events = self._viewer.layers.events
        for event in (events.inserted, events.removed, events.moved):
            event.disconnect(self.refill)
        events.renamed.disconnect(self._on_renamed)
        self._viewer.layers.selection.events.active.disconnect(self._on_active)

    def refill(self, event=None, *, keep: str | None = None) -> list[str]:
        """Offer the user's image layers again; the choice stays (``keep``: its new name)."""
        self._by_index = [layer.name for layer in self._viewer.layers]
        names = self._offered = [layer.name for layer in user_image_layers(self._viewer)]
        current = keep if keep is not None else self._combo.currentText()
        if current not in names:
            self.picked = False  # the picked layer is gone: follow the selection again
            active = self._viewer.layers.selection.active
            current = active.name if active is not None and active.name in names else ""
            current = current or (names[-1] if names else "")
        combo, before = self._combo, self._combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(names)
        combo.setCurrentText(current)
        combo.blockSignals(False)
        if current != before:  # the dock hears of a change, and only of one
            combo.currentTextChanged.emit(current)
        if self._on_refill is not None:
            self._on_refill(names)
        return names

    def _on_renamed(self, event) -> None:
        layer = self._viewer.layers[event.index]
        old = self._by_index[event.index] if event.index < len(self._by_index) else None
        chosen = self._combo.currentText()
        if old not in self._offered or old == layer.name:  # not a user's image layer
            self._by_index = [layer.name for layer in self._viewer.layers]
            return None
        rename_outputs(self._viewer, old, layer.name)
        if self._on_renamed_hook is not None:
            self._on_renamed_hook(old, layer.name)
        self.refill(keep=layer.name if old == chosen else chosen)

    def _on_active(self, event=None) -> None:
        active = self._viewer.layers.selection.active
        if self.picked or active is None or active.name not in self._offered:
            return
        self._combo.setCurrentText(active.name)

    def _on_user_pick(self, index: int) -> None:
        self.picked = index >= 0
