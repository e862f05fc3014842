"""The one CSV writer of every export (the docks' buttons and the batch command).

A CSV is opened by people in spreadsheets, so a cell never becomes a formula:
text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
a leading ``'`` (OWASP's advice), while numbers stay numbers (``-0.5`` is written
as ``-0.5``). Commas, quotes and newlines inside names are quoted (RFC 4180) and
read back whole by any CSV reader. Text that is not valid Unicode (a file name
in another encoding, read with ``surrogateescape``) is written with its bytes shown
as ``\\xNN``, and counted, so that the caller says it once. Files are UTF-8, with
``\\n`` line ends, replaced whole (never half written).

numpy and the standard library only.

Examples
--------
>>> import numpy as np
>>> print(table_csv({"name": np.array(["=1+1", "a, b"]), "x": np.array([-0.5, np.nan])}), end="")
name,x
'=1+1,-0.5
"a, b",
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["FORMULA_STARTS", "CsvTable", "safe_text", "save_csv", "save_table", "table_csv",
           "unreadable_note", "written_sentence"]  # fmt: skip

#: Text beginning with one of these is escaped with a leading ``'`` (a spreadsheet formula).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Format = Callable[[float], str]
#: Characters that make a cell quoted (the csv module of Python 3.11 leaves a lone CR bare).
_SPECIAL = re.compile(r'[,"\r\n]')


def _g6(value: float) -> str:
    return f"{value:.6g}"


def safe_text(text: str) -> tuple[str, bool]:
    """``text`` as a cell: formulas escaped, bytes that are not UTF-8 shown as ``\\xNN``.

    Returns the cell and whether the text held bytes that are not UTF-8.

    >>> safe_text("@SUM(1)"), safe_text("caf\\udce9")
    (("'@SUM(1)", False), ('caf\\\\xe9', True))
    """
    replaced = False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        replaced = True
        try:  # the bytes a file name had: \xNN
            raw = text.encode("utf-8", "surrogateescape")
            text = raw.decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate of another kind: \udNNN
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text, replaced


class CsvTable:
    """Rows written to an open text file under one header, by columns or by rows.

    ``formats``: how a column's floats are written (default 6 significant digits);
    NaN and infinities are empty cells. ``unreadable`` counts the cells whose text
    was not valid Unicode (see :func:`safe_text`).
    """

    def __init__(self, file, header: Iterable[str], formats: Mapping[str, Format] | None = None):
        self.header = [str(name) for name in header]
        self._formats = [(formats or {}).get(name, _g6) for name in self.header]
        self._file = file
        self.unreadable = 0
        self.rows = 0
        self._file.write(_line([self._text(name) for name in self.header]))

    def write_rows(self, rows: Iterable) -> None:
        """Write each row (a sequence, in the header's order)."""
        for row in rows:
            self._file.write(
                _line([self._cell(v, f) for v, f in zip(row, self._formats, strict=True)])
            )
            self.rows += 1

    def write_columns(self, columns: Mapping[str, np.ndarray]) -> None:
        """Write the rows of equal-length ``columns``, named as the header is."""
        arrays = [np.asarray(columns[name]) for name in self.header]
        self.write_rows(zip(*arrays, strict=True))

    def _cell(self, value, fmt: Format) -> str:
        if isinstance(value, (float, np.floating)):
            return fmt(float(value)) if math.isfinite(value) else ""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return str(int(value))
        if value is None:
            return ""
        return self._text(str(value))

    def _text(self, text: str) -> str:
        text, replaced = safe_text(text)
        self.unreadable += replaced
        return text


def _line(cells: list[str]) -> str:
    """One CSV line: a cell with a comma, a quote, a CR or a LF quoted (RFC 4180)."""
    return (
        ",".join(
            '"' + cell.replace('"', '""') + '"' if _SPECIAL.search(cell) else cell
            for cell in cells
        )
        + "\n"
    )


def table_csv(table: Mapping[str, np.ndarray], formats: Mapping[str, Format] | None = None):
    """Columns of equal length (a :func:`measure` table, predictions) as CSV text.

    >>> print(table_csv({"image": np.array([0, 1]), "area": np.array([12.0, np.nan])}), end="")
    image,area
    0,12
    1,
    """
    out = io.StringIO()
    CsvTable(out, table, formats).write_columns(table)
    return out.getvalue()


def save_csv(path, write: Callable[[io.TextIOBase], CsvTable]) -> CsvTable:
    """Write a CSV to ``path`` whole: ``write(file)`` fills it; its :class:`CsvTable` returned.

    The file is written beside ``path`` and then replaced, so a failure (a full disk)
    leaves the previous file, and no half-written one.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as file:
            table = write(file)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return table


def save_table(path, table: Mapping[str, np.ndarray], formats=None) -> CsvTable:
    """Write the columns of ``table`` to ``path`` whole (:func:`save_csv`)."""

    def write(file) -> CsvTable:
        written = CsvTable(file, table, formats)
        written.write_columns(table)
        return written

    return save_csv(path, write)


def written_sentence(table: CsvTable, what: str, path) -> str:
    """``Wrote <what> to <file>.``, and the names that were not valid UTF-8 when any were."""
    name = Path(path).name
    return " ".join(filter(None, (f"Wrote {what} to {name}.",
                                  unreadable_note(table.unreadable, name))))  # fmt: skip


def unreadable_note(count: int, where: str) -> str:
    """The one sentence that says names were not valid Unicode ('' when none were)."""
    if not count:
        return ""
    names = "name is" if count == 1 else "names are"
    return (f"{count} {names} not valid UTF-8 (a file name in another encoding): {where} shows "
            "their bytes as \\xNN.")  # fmt: skip
