"""The contracted-vs-achieved report as an Excel workbook (openpyxl): one sheet, one line per contracted dimension."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from .choices import AchievedStatus
from .selectors import AchievedReport

FILLS = {
    AchievedStatus.PASS: PatternFill("solid", fgColor="D1E7DD"),
    AchievedStatus.FAIL: PatternFill("solid", fgColor="F8D7DA"),
}


def _safe(value: str) -> str:
    """Text as text: a cell starting with = + - @ would be read as a formula by spreadsheet programs."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def achieved_xlsx(report: AchievedReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{report.year}-{report.month:02d}"
    sheet["A1"] = _safe(
        _("%(estate)s: contracted vs achieved, %(year)d-%(month)02d")
        % {"estate": report.estate.name, "year": report.year, "month": report.month}
    )
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = _safe(_("Service level: %(levels)s") % {"levels": "、".join(report.profile_names) or "—"})
    headers = [_("Dimension"), _("Target"), _("Achieved"), _("Result"), _("How it is measured")]
    sheet.append([])
    sheet.append(headers)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for line in report.lines:
        sheet.append(
            [
                _safe(line.label),
                _safe(line.target),
                _safe(line.achieved),
                str(AchievedStatus(line.status).label),
                _safe(line.detail),
            ]
        )
        fill = FILLS.get(line.status)
        if fill is not None:
            sheet.cell(row=sheet.max_row, column=4).fill = fill
    for column, width in zip("ABCDE", (26, 20, 44, 10, 60), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
