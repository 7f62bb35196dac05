"""How KPI numbers read to people (units, status words) and the monthly report as an Excel workbook and a PDF.

The PDF is drawn with fpdf2 and the Noto Sans CJK font from Debian's fonts-noto-cjk package (its OpenType/CFF
outlines are what fpdf2 can embed and ReportLab cannot), so Chinese renders on any reader.
"""

import datetime as dt
import io
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from .choices import KPI_BY_CODE, KPIS, Group, Unit
from .selectors import Dashboard

# The Simplified Chinese face of the collection (index 2: JP, KR, SC, TC, HK).
PDF_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PDF_FONT_INDEX = 2


class FontMissing(Exception):
    """The CJK font the PDF needs is not installed."""


def format_minutes(minutes: float) -> str:
    if minutes < 120:
        return _("%(n)s min") % {"n": f"{minutes:.0f}"}
    if minutes < 48 * 60:
        return _("%(n)s h") % {"n": f"{minutes / 60:.1f}"}
    return _("%(n)s days") % {"n": f"{minutes / 1440:.1f}"}


def format_value(code: str, value: float | None) -> str:
    """A KPI value as people read it: 92.5%, 38 分钟 / 6.2 小时, 4.62, 31.5‰; "—" when there is no data yet."""
    if value is None:
        return "—"
    unit = KPI_BY_CODE[code].unit
    if unit == Unit.PERCENT:
        return f"{value:.1f}%"
    if unit == Unit.PER_THOUSAND:
        return f"{value:.1f}‰"
    if unit == Unit.SCORE:
        return f"{value:.2f}"
    if unit == Unit.COUNT:
        return f"{value:,.0f}"
    return format_minutes(value)


def status_label(status: str) -> str:
    return {
        "good": _("On target"),
        "warn": _("Close to target"),
        "bad": _("Below target"),
    }.get(status, "—")


def period_label(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def report_title(data: Dashboard) -> str:
    return _("Service quality report: %(scope)s, %(period)s") % {
        "scope": data.scope.name,
        "period": period_label(data.start, data.end),
    }


def _excel_value(code: str, value: float | None):
    if value is None:
        return None
    return round(value, 2)


def _excel_safe(value: str) -> str:
    """Names go into the workbook as text: a leading =, +, - or @ would make Excel run them as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def unit_label(code: str) -> str:
    return str(Unit(KPI_BY_CODE[code].unit).label)


def excel_report(data: Dashboard) -> bytes:
    """The monthly report as a workbook: the KPIs with target, actual, last year and status; the next level down;
    the 12-month trend."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("KPIs")[:31]
    sheet.append([_excel_safe(report_title(data))])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Last year"), period_label(data.last_year_start, data.last_year_end), _("Orders"), data.orders])
    sheet.append([])
    sheet.append([_("Group"), _("KPI"), _("Unit"), _("Target"), _("Actual"), _("Last year"), _("Status")])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for line in data.kpis:
        sheet.append(
            [
                str(Group(line.group).label),
                line.label,
                unit_label(line.code),
                _excel_value(line.code, line.target),
                _excel_value(line.code, line.value),
                _excel_value(line.code, line.last_year),
                status_label(line.status),
            ]
        )
    for column, width in zip("ABCDEFG", (18, 34, 12, 10, 10, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width
    if data.children:
        children = workbook.create_sheet(_("Drill-down")[:31])
        children.append([_("Name"), _("Orders"), *[str(spec.label) for spec in KPIS]])
        for cell in children[1]:
            cell.font = Font(bold=True)
        for child in data.children:
            children.append(
                [
                    _excel_safe(child.name),
                    child.orders,
                    *[_excel_value(spec.code, child.values.get(spec.code)) for spec in KPIS],
                ]
            )
    trend = workbook.create_sheet(_("Trend")[:31])
    trend.append([_("KPI"), *[f"{month:%Y-%m}" for month in data.trend_months]])
    for cell in trend[1]:
        cell.font = Font(bold=True)
    for spec in KPIS:
        trend.append([str(spec.label), *[_excel_value(spec.code, v) for v in data.trend.get(spec.code, [])]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _font_path() -> str:
    path = getattr(settings, "KPIS_PDF_FONT", PDF_FONT)
    if not Path(path).exists():
        raise FontMissing(path)
    return path


def pdf_report(data: Dashboard) -> bytes:
    """The monthly report as an A4 PDF with the CJK font embedded (subset)."""
    from fpdf import FPDF

    font = _font_path()
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("noto", fname=font, collection_font_number=PDF_FONT_INDEX)
    pdf.add_page()
    pdf.set_font("noto", size=15)
    pdf.multi_cell(0, 9, report_title(data), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=9)
    pdf.cell(
        0,
        6,
        _("Orders reported: %(n)s · last year same period: %(ly)s (%(period)s)")
        % {
            "n": f"{data.orders:,}",
            "ly": f"{data.orders_last_year:,}",
            "period": period_label(data.last_year_start, data.last_year_end),
        },
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = (70, 28, 28, 28, 26)
    headings = (_("KPI"), _("Target"), _("Actual"), _("Last year"), _("Status"))
    colours = {"good": (25, 135, 84), "warn": (204, 140, 0), "bad": (220, 53, 69)}
    group = None
    for line in data.kpis:
        if line.group != group:
            group = line.group
            pdf.ln(1)
            pdf.set_font("noto", size=11)
            pdf.cell(0, 7, str(Group(group).label), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("noto", size=9)
            pdf.set_fill_color(233, 236, 239)
            for width, heading in zip(widths, headings, strict=True):
                pdf.cell(width, 6, heading, border=1, fill=True)
            pdf.ln()
        cells = (
            line.label,
            format_value(line.code, line.target),
            format_value(line.code, line.value),
            format_value(line.code, line.last_year),
        )
        for width, text in zip(widths, cells, strict=False):
            pdf.cell(width, 6, text, border=1)
        pdf.set_text_color(*colours.get(line.status, (108, 117, 125)))
        pdf.cell(widths[-1], 6, status_label(line.status), border=1)
        pdf.set_text_color(0, 0, 0)
        pdf.ln()
    if data.children:
        table = [spec for spec in KPIS if spec.in_table][:6]
        pdf.add_page()
        pdf.set_font("noto", size=11)
        pdf.cell(0, 7, _("Drill-down"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("noto", size=7)
        first, rest = 40, (190 - 40 - 14) / len(table)
        pdf.set_fill_color(233, 236, 239)
        pdf.cell(first, 9, _("Name"), border=1, fill=True)
        pdf.cell(14, 9, _("Orders"), border=1, fill=True)
        for spec in table:
            pdf.cell(rest, 9, str(spec.label)[:14], border=1, fill=True)
        pdf.ln()
        for child in data.children:
            pdf.cell(first, 6, child.name[:22], border=1)
            pdf.cell(14, 6, f"{child.orders:,}", border=1)
            for spec in table:
                pdf.set_text_color(*colours.get(child.statuses.get(spec.code, "none"), (0, 0, 0)))
                pdf.cell(rest, 6, format_value(spec.code, child.values.get(spec.code)), border=1)
                pdf.set_text_color(0, 0, 0)
            pdf.ln()
    return bytes(pdf.output())
