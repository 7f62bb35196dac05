"""Reading the tables people keep in Excel: CSV (UTF-8, or GB18030/GBK as Chinese Excel saves it) and .xlsx.

`table_read` turns an uploaded file into a header and rows of trimmed text, each row with the number Excel shows
beside it, so that whatever checks the rows can say "row 17, column 手机号". It knows nothing about what the columns
mean. Every problem with the file itself is raised as `ValidationFailed` naming the field "file".
"""

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .errors import FieldError, ValidationFailed

FILE_FIELD = "file"

_ZIP_MAGIC = b"PK\x03\x04"
# Old binary .xls files and password-protected .xlsx files are OLE compound documents.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
# An .xlsx is zipped XML, which compresses about 10–20 times. Refusing archives that would expand far beyond that
# keeps a small "zip bomb" from filling memory (openpyxl loads the shared strings whole, even in read-only mode).
_XLSX_MAX_EXPANSION = 40
# Excel keeps 15 significant digits; formatting a float to 15 keeps 89.55 from reading as 89.55000000000001.
_EXCEL_DIGITS = 15


@dataclass(frozen=True)
class TableRow:
    """One non-blank row: its number as a spreadsheet shows it (the first row is 1) and its trimmed cells."""

    number: int
    cells: list[str]

    def cell(self, index: int) -> str:
        return self.cells[index] if index < len(self.cells) else ""


@dataclass
class Table:
    """The first non-blank row of a file (the column headers) and every later non-blank row."""

    header: list[str]
    header_row: int
    rows: list[TableRow] = field(default_factory=list)


def file_error(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field=FILE_FIELD, code=code, message=message)])


def table_read(*, filename: str, content: bytes, max_rows: int, max_bytes: int) -> Table:
    """Read a CSV or .xlsx file (the first sheet). Rows that are entirely blank are skipped but still counted, so row
    numbers match what the user sees in Excel. Raises `ValidationFailed` when the file is too big, has more than
    `max_rows` rows after the header, is empty, or cannot be read."""
    if len(content) > max_bytes:
        raise file_error(
            "file_too_large",
            _("The file is larger than %(limit)s, the most that can be imported at once. Split it into smaller files.")
            % {"limit": _format_bytes(max_bytes)},
        )
    if not content.strip():
        raise file_error("empty_file", _("The file is empty."))
    suffix = _suffix(filename)
    if content.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise file_error(
            "unsupported_format",
            _(
                "This is an old Excel .xls file or a password-protected workbook. "
                "In Excel, save it as .xlsx (without a password) or as CSV, then import that."
            ),
        )
    if suffix in _XLSX_SUFFIXES or (content.startswith(_ZIP_MAGIC) and suffix not in _CSV_SUFFIXES):
        rows = _xlsx_rows(content, max_bytes=max_bytes)
    elif suffix in _CSV_SUFFIXES or suffix == "":
        rows = _csv_rows(content)
    else:
        raise file_error(
            "unsupported_format",
            _("Files of type %(suffix)s cannot be imported: upload a .csv or .xlsx file.") % {"suffix": suffix},
        )
    try:
        return _table_from_rows(rows, max_rows=max_rows)
    finally:
        rows.close()  # releases the workbook at once when reading stops early


def _suffix(filename: str) -> str:
    name = (filename or "").strip().lower()
    dot = name.rfind(".")
    return name[dot:] if dot > name.rfind("/") and dot != -1 else ""


def _format_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _table_from_rows(rows: Iterator[list[str]], *, max_rows: int) -> Table:
    table: Table | None = None
    for number, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        if table is None:
            table = Table(header=cells, header_row=number)
            continue
        if len(table.rows) >= max_rows:
            # Stop reading at once: a huge file is refused without being read to the end.
            raise file_error(
                "too_many_rows",
                _("The file has more than %(limit)d rows; split it into files of at most %(limit)d rows.")
                % {"limit": max_rows},
            )
        if len(cells) < len(table.header):
            cells = cells + [""] * (len(table.header) - len(cells))
        table.rows.append(TableRow(number=number, cells=cells))
    if table is None:
        raise file_error("empty_file", _("The file is empty."))
    return table


def _csv_text(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated.
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in content:
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        try:
            # Excel on Chinese Windows saves CSV in the ANSI code page (GBK); GB18030 is its superset.
            return content.decode("gb18030")
        except UnicodeDecodeError:
            pass
    raise file_error(
        "unreadable_text",
        _("The file is not readable text in UTF-8 or GBK. In Excel, choose “Save as → CSV UTF-8” or save as .xlsx."),
    )


def _csv_rows(content: bytes) -> Generator[list[str]]:
    text = _csv_text(content)
    first_line = next((line for line in io.StringIO(text) if line.strip()), "")
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            yield [cell.strip() for cell in record]
    except csv.Error:
        raise file_error(
            "malformed_csv",
            _("The CSV file is malformed near line %(line)d: look for an unclosed quotation mark or a huge cell.")
            % {"line": reader.line_num},
        ) from None


def _xlsx_rows(content: bytes, *, max_bytes: int) -> Generator[list[str]]:
    from openpyxl import load_workbook  # imported here: only .xlsx uploads pay for loading it

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _unreadable_xlsx() from None
    if expanded > max_bytes * _XLSX_MAX_EXPANSION:
        raise file_error(
            "file_too_large",
            _("The workbook holds too much data to import at once. Split it into smaller files."),
        )
    # A damaged or hand-made workbook can make openpyxl raise almost anything (KeyError, lxml or zip errors);
    # each means "this is not a workbook we can read", which is the user's problem to fix, not a server error.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise _unreadable_xlsx() from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # The stored dimensions may claim thousands of columns; without them each row has only its real cells.
        sheet.reset_dimensions()
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_xlsx_text(value) for value in values]
        except Exception:
            raise _unreadable_xlsx() from None
    finally:
        workbook.close()


def _unreadable_xlsx() -> ValidationFailed:
    return file_error(
        "unreadable_xlsx",
        _("The file could not be read as an Excel workbook (.xlsx). Open it in Excel and save again."),
    )


def _xlsx_text(value) -> str:
    """A cell as the text Excel shows for it in a plain cell: 101 not 101.0, dates as 2024-05-01."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    return str(value).strip()


def _number_text(value: float) -> str:
    try:
        number = Decimal(format(value, f".{_EXCEL_DIGITS}g"))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")
