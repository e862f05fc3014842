"""The classifier dock's file buttons: save / load the model, export history and predictions."""

from __future__ import annotations

from qtpy.QtWidgets import QFileDialog, QGridLayout, QPushButton

from .results import ResultLabel


class FileActions:
    """Save model…, Load model…, Export history CSV…, Export predictions CSV… for a dock."""

    def __init__(self, dock) -> None:
        self._dock = dock
        self.save_button = QPushButton("Save model…")
        self.save_button.setToolTip(
            "Write the model as .pt (weights only) + .json (options, classes, normalisation)."
        )
        self.load_button = QPushButton("Load model…")
        self.load_button.setToolTip("Read a model saved here; it never runs code from the file.")
        self.history_button = QPushButton("Export history CSV…")
        self.history_button.setToolTip("Loss, accuracy and macro F1 of every epoch.")
        self.predictions_button = QPushButton("Export predictions CSV…")
        self.predictions_button.setToolTip("Each image's class and probabilities.")
        self.result = ResultLabel()  # what the last of these buttons did, under them
        self.save_button.clicked.connect(self._on_save_clicked)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.history_button.clicked.connect(self._on_history_clicked)
        self.predictions_button.clicked.connect(self._on_predictions_clicked)

    def layout(self) -> QGridLayout:
        grid = QGridLayout()
        buttons = (self.save_button, self.load_button, self.history_button,
                   self.predictions_button)  # fmt: skip
        for index, button in enumerate(buttons):
            grid.addWidget(button, *divmod(index, 2))
        grid.addWidget(self.result, 2, 0, 1, 2)
        return grid

    def _say(self, text: str) -> None:
        self._dock._say(text, "files", scroll=True)

    def update_buttons(self) -> None:
        dock = self._dock
        self.save_button.setEnabled(dock.model is not None)
        self.history_button.setEnabled(bool(dock.history))
        self.predictions_button.setEnabled(getattr(dock, "predictions", None) is not None)

    # ------------------------------------------------------------------ actions (scriptable)

    def save_model(self, path) -> str:
        from ...classification.model_io import save_classifier

        try:
            saved = save_classifier(path, self._dock.model)
        except (OSError, ValueError) as exc:
            return self._say(f"Could not save the model: {exc}")
        self._say(f"Saved the model to {saved.name} and {saved.with_suffix('.json').name}.")
        return str(saved)

    def load_model(self, path):
        from ...classification.model_io import load_classifier

        try:  # checked whole (and its filters read) before the dock changes at all
            model = load_classifier(path)
            filters = model.first_filters()
        except (ValueError, OSError) as exc:
            return self._say(f"{exc} The dock keeps its model and options.")
        self._dock.reset()
        self._dock.state.model = model
        self._dock.set_options(**model.options.to_dict())
        self._dock._filters.show_filters(filters)
        self._dock._update_buttons()
        names = ", ".join(model.class_names)
        self._say(f"Loaded a {model.options.model} model of {names}: Predict applies it.")
        return model

    def export_history(self, path) -> None:
        from ...classification.model_io import write_history
        from ...tables import save_csv

        history = self._dock.history
        self._write(path, lambda: save_csv(path, lambda file: write_history(file, history)),
                    "the training history")  # fmt: skip

    def export_predictions(self, path) -> None:
        from ...classification.batch_steps import prediction_table
        from ...tables import save_table

        table = prediction_table(self._dock.predictions)
        self._write(path, lambda: save_table(path, table), "the predictions")

    def _write(self, path, save, what: str) -> None:
        from ...tables import written_sentence

        try:
            written = save()
        except OSError as exc:
            return self._say(f"Could not write {what}: {exc}")
        self._say(written_sentence(written, what, path))

    # ------------------------------------------------------------------ dialogs

    def _ask(self, saving: bool, title: str, name: str, kinds: str) -> str:
        ask = QFileDialog.getSaveFileName if saving else QFileDialog.getOpenFileName
        path, _ = ask(self._dock, title, name, kinds)
        return path

    def _on_save_clicked(self) -> None:
        path = self._ask(True, "Save the model", "stage_classifier.pt", "Model (*.pt)")
        if path:
            self.save_model(path)

    def _on_load_clicked(self) -> None:
        path = self._ask(False, "Load a model", "", "Model (*.pt *.json)")
        if path:
            self.load_model(path)

    def _on_history_clicked(self) -> None:
        path = self._ask(True, "Export the training history", "history.csv", "CSV (*.csv)")
        if path:
            self.export_history(path)

    def _on_predictions_clicked(self) -> None:
        path = self._ask(True, "Export the predictions", "predictions.csv", "CSV (*.csv)")
        if path:
            self.export_predictions(path)
