"""The rows of an uploaded CSV or XLSX file, read one at a time and never more than asked.

A sheet is read row by row from the file the upload was kept in, and refused the moment it
holds more rows than the caller takes: a small XLSX can describe a million rows (144 KB of
them took a gigabyte and 16 s when read whole before counting).

An XLSX is a zip of XML parts, and opening one with openpyxl reads some of them whole: the
shared strings, and every sheet that does not state its size (a `<dimension>`), which it
parses to the end to measure. So before openpyxl sees a workbook, one that would unpack
beyond `XLSX_UNPACKED_MAX` is refused, and every part's rows are counted up to the cap
(stopping at a stated size, or one row past the cap).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Generator
from datetime import date
from typing import IO
from xml.etree import ElementTree

from matcher.errors import Issue, ProblemInvalid

XLSX_UNPACKED_MAX = 200 * 1024 * 1024

Rows = Generator[dict[str, str], None, None]


def read_table(filename: str, file: IO[bytes], max_rows: int) -> list[dict[str, str]]:
    """Rows as {column: text}, from CSV (UTF-8) or XLSX (first sheet, header row first);
    `ProblemInvalid` as soon as there is a row beyond `max_rows`."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        rows = _xlsx_rows(file, max_rows)
    elif name.endswith(".csv") or name.endswith(".txt"):
        rows = _csv_rows(file)
    else:
        raise ProblemInvalid([Issue(("file",), "expected a .csv or .xlsx file")])
    table: list[dict[str, str]] = []
    try:
        for row in rows:
            if len(table) == max_rows:
                raise ProblemInvalid([Issue(("file",), f"more than {max_rows} rows")])
            table.append(row)
    finally:
        rows.close()
    return table


def _csv_rows(file: IO[bytes]) -> Rows:
    file.seek(0)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        while True:
            try:
                row = next(reader, None)
            except UnicodeDecodeError:
                raise ProblemInvalid([Issue(("file",), "CSV is not UTF-8 text")]) from None
            except csv.Error as error:
                line = reader.line_num
                raise ProblemInvalid(
                    [Issue(("rows", line), f"not readable CSV: {error}")]
                ) from None
            if row is None:
                return
            yield dict(row)
    finally:
        text.detach()  # the upload's file is closed by its owner, not here


def _unreadable() -> ProblemInvalid:
    return ProblemInvalid([Issue(("file",), "not a readable .xlsx workbook")])


def _xlsx_rows(file: IO[bytes], max_rows: int) -> Rows:
    from openpyxl import load_workbook

    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
            if unpacked > XLSX_UNPACKED_MAX:
                megabytes = XLSX_UNPACKED_MAX // 1024 // 1024
                raise ProblemInvalid([Issue(("file",), f"unpacks to more than {megabytes} MB")])
            for part in archive.infolist():
                if part.filename.endswith(".xml"):
                    with archive.open(part) as source:
                        _rows_within(source, max_rows)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, ValueError):
        raise _unreadable() from None
    file.seek(0)
    # openpyxl raises many types for a file that is not a workbook, or a sheet that breaks
    # off part of the way.
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception:
        raise _unreadable() from None
    try:
        if not book.worksheets:
            raise _unreadable()
        sheet = book.worksheets[0]
        # A stated size is not trusted: one too small would cut rows off without a word.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        names: list[str] | None = None
        while True:
            try:
                values = next(rows, None)
            except Exception:
                raise _unreadable() from None
            if values is None:
                return
            if names is None:
                names = [str(h).strip() if h is not None else "" for h in values]
                continue
            cells = {}
            for name, value in zip(names, values, strict=False):
                if not name:
                    continue
                if isinstance(value, date):
                    value = value.isoformat()[:10]
                cells[name] = "" if value is None else str(value)
            yield cells
    finally:
        book.close()


def _rows_within(part: IO[bytes], max_rows: int) -> None:
    """Refuse a part with more than a header and `max_rows` rows, reading no further than
    the row that shows it, or than a stated size (which openpyxl then reads instead)."""
    rows = 0
    for _, element in ElementTree.iterparse(part, events=("start",)):
        tag = element.tag.rpartition("}")[2]
        if tag == "dimension":
            return
        if tag == "row":
            rows += 1
            if rows > max_rows + 1:
                raise ProblemInvalid([Issue(("file",), f"more than {max_rows} rows")])
