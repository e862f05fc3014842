"""KernelTrainingWidget: learn a convolution kernel live, watching the loss and the kernel."""

from __future__ import annotations

from pathlib import Path

import napari.viewer
import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtWidgets import QFileDialog, QWidget

from ...training.options import TrainingOptions, TrainingStep
from ...training.presets import PRESETS, preset
from ..common import settings as _settings
from ..common.choice import LayerChoice
from ..common.layers import keep_narrow
from ..common.lifetime import DockLife
from ..common.plots import follow_theme
from ..common.workers import start_worker
from . import actions, dock_layout
from .actions import SOBEL_TARGETS

#: Seconds between the steps the worker sends to the dock (the views redraw on each):
#: 15 a second looks live, and leaves the training thread most of the GIL.
REPORT_INTERVAL = 1 / 15


class KernelTrainingWidget(QWidget):
    """Train a ``Conv2d`` on (image, target) pairs of layers and watch it learn.

    Examples
    --------
    >>> t = KernelTrainingWidget(viewer)  # doctest: +SKIP
    >>> t.start(); t.is_running           # doctest: +SKIP
    True
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("training")
        self._worker = None
        self._input_name: str | None = None
        self._options: TrainingOptions | None = None
        self.history: list[TrainingStep] = []
        self.bias: np.ndarray | None = None  # of the kernel shown
        self._stop_reason = ""
        self._target_kind: str | None = None  # the Sobel kind the kernel shown imitates
        dock_layout.make_controls(self, viewer)
        self._target_after_rename: str | None = None
        self._choice = LayerChoice(
            self._input_combo, viewer, self._on_layers_changed, self._on_renamed
        )
        dock_layout.lay_out(self)
        self._restore_settings()
        self._connect()
        self._attach()
        self._life = DockLife(self)
        self._update_buttons()
        self._warm_up()

    def _connect(self) -> None:
        self._start_button.clicked.connect(self.start)
        self._pause_button.clicked.connect(self._on_pause_clicked)
        self._stop_button.clicked.connect(self.stop)
        self._reset_button.clicked.connect(self.reset)
        self._options_panel.presetChosen.connect(self._on_preset_chosen)
        self._target_combo.currentTextChanged.connect(
            lambda label: self._options_panel.set_target(SOBEL_TARGETS.get(label))
        )
        self._apply_button.clicked.connect(self.apply_kernel)
        for name in ("save", "load", "csv"):
            button = getattr(self, f"_{name}_button")
            button.clicked.connect(lambda *_, name=name: self._on_file_clicked(name))

    # ------------------------------------------------------------------ public API

    @property
    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    @property
    def kernel(self) -> np.ndarray | None:
        """The kernel shown: the latest learned one, or a loaded one."""
        return self._kernel_view.learned

    @property
    def input_name(self) -> str:
        return self._choice.name

    @input_name.setter
    def input_name(self, name: str) -> None:
        self._choice.name = name

    @property
    def target(self) -> str:
        return self._target_combo.currentText()

    @target.setter
    def target(self, label: str) -> None:
        if self._target_combo.findText(label) < 0:
            raise ValueError(f"no target {label!r}; choose one of {self._target_labels()}.")
        self._target_combo.setCurrentText(label)

    def options(self) -> TrainingOptions:
        """The options the controls describe now."""
        return self._options_panel.options(report_interval=REPORT_INTERVAL)

    def set_options(self, **values) -> None:
        """Set controls by :class:`TrainingOptions` field name (``learning_rate=None``: auto)."""
        self._options_panel.set_options(**values)

    @property
    def preset(self) -> str:
        """The preset the options and the target match now, or ``"custom"``."""
        return self._options_panel.preset

    @preset.setter
    def preset(self, name: str) -> None:
        """Set every option and the target of a preset (the preset menu)."""
        self._options_panel.apply_preset(name)

    def start(self):
        """Start training (the Start button): the running worker, or None and a message."""
        if self.is_running:
            return self._worker
        self._save_settings()
        try:
            options = self.options()
            inputs, targets, held_out, note = self._training_data(options)
        except (ValueError, TypeError) as exc:
            return self._say(str(exc))
        self.reset()
        self._loss_view.clear(options.steps)
        self._loss_view.set_units(normalised=options.normalisation != "none")
        self._input_name, self._options = self.input_name, options
        self._target_kind = SOBEL_TARGETS.get(self.target)
        self._progress.begin(options.steps)
        self._stop_reason = ""
        worker = start_worker(
            actions.training_steps, inputs, targets, options, held_out, start=False,
            on_yielded=self._on_step, on_failure=self._on_error,
            on_finished=self._on_finished, owner=self,
        )  # fmt: skip
        worker.paused.connect(self._on_paused)
        worker.resumed.connect(self._on_resumed)
        self._worker = worker
        worker.start()
        paced = f", pausing {options.pace * 1000:g} ms after each step" if options.pace else ""
        self._say(note or f"Training on {len(inputs)} images of {self._input_name}{paced}…")
        self._update_buttons(running=True)
        return worker

    def stop(self, reason: str = "") -> None:
        """Stop training after the current step (the Stop button)."""
        if self._worker is not None:
            self._stop_reason = reason
            self._worker.quit()
            if self._worker.is_paused:
                self._worker.resume()  # a paused generator only sees the quit when it runs

    def pause(self) -> None:
        if self.is_running:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None and self._worker.is_paused:
            self._worker.resume()

    def reset(self) -> None:
        """Stop, and forget the history, the plot and the kernel (the Reset button)."""
        self.stop()
        self.history = []
        self.bias = None
        self._loss_view.clear()
        self._kernel_view.clear()
        self._progress.clear()
        self._say("")
        self._update_buttons()

    def apply_kernel(self):
        """Filter the input layer with the current kernel into ``<input>_learned``."""
        problem = self._apply_problem()
        if problem is not None:
            self._say(problem)
            return None
        layer, message = actions.apply_kernel(
            self._viewer, self.input_name, self.kernel, self.bias, self._options,
            target=self._target_kind,
        )  # fmt: skip
        self._say(message)
        return layer

    def save_kernel(self, path) -> None:
        """Save the kernel: ``.npy`` + ``.json``, or Fiji Convolve text for ``.txt``."""
        self._say(actions.save_kernel(
            path, self.kernel, self.bias, input_name=self._input_name, target=self.target,
            options=self._options, history=self.history,
        ))  # fmt: skip

    def load_kernel(self, path) -> None:
        """Show a saved kernel in the dock, ready to apply (or say why the file cannot be)."""
        kernel, bias, options, target, message = actions.load_kernel(path)
        if kernel is not None:
            self.reset()
            self.bias, self._options = bias, options
            self._target_kind = SOBEL_TARGETS.get(target)
            self._kernel_view.show_kernels(kernel, None)
            self._update_buttons()
        self._say(message)

    def export_loss_csv(self, path) -> None:
        self._say(actions.export_loss_csv(path, self.history))

    # ------------------------------------------------------------------ worker events

    def _on_step(self, step: TrainingStep) -> None:
        self.history.append(step)
        self.bias = step.bias
        self._loss_view.add(step)
        self._kernel_view.show_kernels(step.weight, step.reference, step.error, step)
        self._progress.show_step(step)
        message = actions.step_message(step, self._options)
        if message is not None:
            self._say(message)
        if step.status != "running":
            self._update_buttons()

    def _on_preset_chosen(self, name: str) -> None:
        kind = preset(name)[1]
        self.target = next(label for label, k in SOBEL_TARGETS.items() if k == kind)
        if not self.is_running:
            self._say(PRESETS[name].about)

    def _on_paused(self) -> None:
        step = self.history[-1].step if self.history else 0
        self._say(f"Paused at step {step}: Resume goes on from here, Stop ends the run.")
        self._update_buttons()

    def _on_resumed(self) -> None:
        self._say(f"Training on {self._input_name}…")
        self._update_buttons()

    def _on_error(self, message: str) -> None:
        self._stop_reason = message  # what _on_finished says last
        show_warning(message)

    def _on_finished(self) -> None:
        if self._stop_reason:
            self._say(self._stop_reason)
        elif self.history and self.history[-1].status == "running":
            step = self.history[-1].step
            self._say(f"Stopped at step {step}.")
            self._progress.stopped(step)
        self._update_buttons(running=False)

    # ------------------------------------------------------------------ internals

    def _warm_up(self) -> None:
        """Import torch's optimisers and run a tiny fit in a worker while the user reads the dock.

        torch builds its first optimiser by importing ``torch._dynamo`` (about a
        second), and first calls set up kernels; paid here, Start responds at once
        and the first run does not hold the GIL in long stretches.
        """
        from ..._plugin.memory import keep_frozen

        self._warm_worker = start_worker(
            actions.warm_up, on_failure=lambda message: None, on_finished=keep_frozen
        )

    def _training_data(self, options: TrainingOptions | None = None):
        options = self.options() if options is None else options
        layers = options.layers if options.model == "cnn" else 1
        return actions.training_data(
            self._viewer, self.input_name, self.target, SOBEL_TARGETS,
            held_out=self._held_out_check.isChecked(),
            radius=(options.kernel_size // 2) * layers,
        )  # fmt: skip

    def _target_labels(self) -> list[str]:
        return [self._target_combo.itemText(i) for i in range(self._target_combo.count())]

    def _on_file_clicked(self, button: str) -> None:
        """Ask for a file, then save, load or export (the file buttons)."""
        saving, title, name, kinds = actions.FILE_DIALOGS[button]
        ask = QFileDialog.getSaveFileName if saving else QFileDialog.getOpenFileName
        path, _ = ask(self, title, name.format(input=self.input_name), kinds)
        act = {"save": self.save_kernel, "load": self.load_kernel, "csv": self.export_loss_csv}
        if not path:
            return
        try:
            act[button](path)
        except Exception as exc:  # a file the checks did not foresee: a sentence, no traceback
            self._say(f"Cannot {button} {Path(path).name}: {type(exc).__name__}: {exc}")

    def _on_pause_clicked(self) -> None:
        if self._worker is not None and self._worker.is_paused:
            self.resume()
        else:
            self.pause()

    def _update_buttons(self, *_, running: bool | None = None) -> None:
        running = self.is_running if running is None else running
        paused = self._worker is not None and self._worker.is_paused
        self._start_button.setEnabled(not running)
        self._pause_button.setEnabled(running)
        self._pause_button.setText("Resume" if paused else "Pause")
        self._stop_button.setEnabled(running)
        self._save_button.setEnabled(self._kernel_view.learned is not None)
        problem = self._apply_problem()
        self._apply_button.setEnabled(problem is None)
        self._apply_button.setToolTip(
            problem or "Make <input>_learned: the input filtered by the kernel."
        )
        self._csv_button.setEnabled(bool(self.history))

    def _apply_problem(self) -> str | None:
        """Why Apply has nothing sensible to do now (None: it has)."""
        status = self.history[-1].status if self.history else None
        return actions.apply_problem(
            self._viewer, self.input_name, self.kernel, self._options, status
        )

    def _on_layers_changed(self, names: list[str]) -> None:
        """The input box was refilled (``LayerChoice``): a layer target follows it."""
        target = self._target_after_rename or self._target_combo.currentText()
        self._target_after_rename = None
        keep_narrow(self._target_combo)
        self._target_combo.clear()
        self._target_combo.addItems([*SOBEL_TARGETS, *(f"layer: {n}" for n in names)])
        if target in self._target_labels():
            self._target_combo.setCurrentText(target)
        self._update_buttons()

    def _on_renamed(self, old: str, new: str) -> None:
        """A layer renamed in napari: a run on it, and a target that names it, follow."""
        if self._input_name == old:
            self._input_name = new
        if self._target_combo.currentText() == f"layer: {old}":
            self._target_after_rename = f"layer: {new}"

    def _on_layer_removed(self, event) -> None:
        if self.is_running and event.value.name == self._input_name:
            message = f"{self._input_name} was removed: training stopped."
            self.stop(message)
            show_warning(message)

    def _restyle(self, colors: dict[str, str]) -> None:
        self._loss_view.restyle(colors)
        self._kernel_view.restyle(colors)

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))

    def _save_settings(self) -> None:
        self._options_panel.save(self._settings)
        self._settings.setValue("target", self.target)
        self._settings.setValue("held_out", self._held_out_check.isChecked())

    def _restore_settings(self) -> None:
        self._options_panel.restore(self._settings)
        self._held_out_check.setChecked(_settings.read(self._settings, "held_out", False))
        self._target_combo.addItems(list(SOBEL_TARGETS))
        layer = str(self._settings.value("target", "")).startswith("layer: ")  # listed later
        targets = None if layer else _settings.limits(self._target_combo)
        target = _settings.read(self._settings, "target", "Sobel Gx", targets)
        self._target_combo.setCurrentText(target)
        self._say(_settings.reset_sentence(self._settings))  # once: the bad values are gone

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        """Follow the viewer's layers and theme (on opening, and when shown again)."""
        self._viewer.layers.events.removed.connect(self._on_layer_removed)
        self._unfollow_theme = follow_theme(self._viewer, self._restyle)
        self._choice.attach()

    def _detach(self) -> None:
        """Stop training and every viewer event: the dock was closed or hidden."""
        self.stop("The dock was closed: training stopped.")
        if getattr(self, "_warm_worker", None) is not None:
            self._warm_worker.quit()
        self._viewer.layers.events.removed.disconnect(self._on_layer_removed)
        self._choice.detach()
        self._unfollow_theme()
