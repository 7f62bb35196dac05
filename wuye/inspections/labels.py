"""Printable checkpoint labels: a QR code (segno, pure Python) with the checkpoint's name and the code to type when
the camera cannot read it. `label_svg` feeds the HTML sheet (printed from the browser, which lays out Chinese text
itself); `sheet_png` draws one PNG sheet per route with Pillow, writing names in Noto Sans CJK when Debian's
fonts-noto-cjk is installed (without it names fall back to Pillow's built-in font, and the code stays readable)."""

import io
import os
from dataclasses import dataclass
from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFont

CJK_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: Simplified Chinese
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.otf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
# A4 at 150 dpi, two labels across.
PAGE_WIDTH = 1240
COLUMNS = 2
CELL_WIDTH = PAGE_WIDTH // COLUMNS
CELL_HEIGHT = 560
QR_SCALE = 10


@dataclass(frozen=True)
class LabelText:
    title: str  # the checkpoint's name
    subtitle: str  # estate · route · stop number
    payload: str  # what the QR code holds
    code: str  # what a person types


def label_svg(payload: str, *, scale: int = 4) -> str:
    """The QR code as an inline <svg> (error correction M or better, a quiet zone of 4 modules)."""
    return segno.make(payload, error="m").svg_inline(scale=scale, border=4)


@lru_cache(maxsize=8)
def _font(size: int):
    for path, index in CJK_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size, index=index)
    return ImageFont.load_default(size=size)


def _qr_image(payload: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=QR_SCALE, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def _centred(draw: ImageDraw.ImageDraw, text: str, *, x: int, y: int, size: int) -> None:
    font = _font(size)
    width = draw.textlength(text, font=font)
    while width > CELL_WIDTH - 40 and len(text) > 4:
        text = text[:-2] + "…"
        width = draw.textlength(text, font=font)
    draw.text((x + (CELL_WIDTH - width) / 2, y), text, fill=0, font=font)


def sheet_png(labels: list[LabelText]) -> bytes:
    """One PNG with every label of a route, two across, each framed with a cutting line."""
    rows = max(1, (len(labels) + COLUMNS - 1) // COLUMNS)
    sheet = Image.new("L", (PAGE_WIDTH, rows * CELL_HEIGHT), 255)
    draw = ImageDraw.Draw(sheet)
    for index, label in enumerate(labels):
        x = (index % COLUMNS) * CELL_WIDTH
        y = (index // COLUMNS) * CELL_HEIGHT
        draw.rectangle([x + 8, y + 8, x + CELL_WIDTH - 8, y + CELL_HEIGHT - 8], outline=160, width=2)
        _centred(draw, label.title, x=x, y=y + 22, size=34)
        qr = _qr_image(label.payload)
        qr.thumbnail((360, 360))
        sheet.paste(qr, (x + (CELL_WIDTH - qr.width) // 2, y + 76))
        _centred(draw, label.code, x=x, y=y + 76 + qr.height + 10, size=30)
        _centred(draw, label.subtitle, x=x, y=y + 76 + qr.height + 52, size=22)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# The PDF sheet: A4 portrait in millimetres, two labels across and three down, cut along the grey frames.
PDF_COLUMNS, PDF_ROWS = 2, 3
PDF_MARGIN, PDF_CELL_W, PDF_CELL_H = 10.0, 95.0, 92.0
PDF_QR_SIZE = 52.0
PDF_FONTS = (
    *CJK_FONTS,
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),  # no Chinese glyphs, but the codes stay readable
)


def _pdf_font(pdf) -> str:
    for path, index in PDF_FONTS:
        if os.path.exists(path):
            pdf.add_font("label", "", path, collection_font_number=index)
            return "label"
    return "helvetica"


def _pdf_qr(pdf, payload: str, *, x: float, y: float, size: float) -> None:
    """The QR code drawn as vector squares, so it prints sharp at any size."""
    rows = list(segno.make(payload, error="m").matrix_iter(scale=1, border=4))
    module = size / len(rows)
    for row_index, row in enumerate(rows):
        column = 0
        while column < len(row):
            if row[column]:
                run = column
                while run < len(row) and row[run]:
                    run += 1
                pdf.rect(x + column * module, y + row_index * module, (run - column) * module, module, style="F")
                column = run
            else:
                column += 1


def _pdf_text(pdf, font: str, text: str, *, x: float, y: float, size: float) -> None:
    pdf.set_font(font, size=size)
    if font == "helvetica":
        text = text.encode("latin-1", "replace").decode("latin-1")
    while pdf.get_string_width(text) > PDF_CELL_W - 8 and len(text) > 4:
        text = text[:-2] + "…"
    pdf.set_xy(x, y)
    pdf.cell(PDF_CELL_W, size * 0.5, text, align="C")


def sheet_pdf(labels: list[LabelText], *, title: str = "") -> bytes:
    """The route's labels as an A4 PDF to print and cut: per label the name, the QR code (vector), the code to type
    and estate · route · stop number."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(title or "Checkpoint labels")
    pdf.set_creator("wuye")
    font = _pdf_font(pdf)
    per_page = PDF_COLUMNS * PDF_ROWS
    for index, label in enumerate(labels or []):
        if index % per_page == 0:
            pdf.add_page()
        slot = index % per_page
        x = PDF_MARGIN + (slot % PDF_COLUMNS) * PDF_CELL_W
        y = PDF_MARGIN + (slot // PDF_COLUMNS) * PDF_CELL_H
        pdf.set_draw_color(160)
        pdf.set_line_width(0.2)
        pdf.rect(x + 1, y + 1, PDF_CELL_W - 2, PDF_CELL_H - 2)
        _pdf_text(pdf, font, label.title, x=x, y=y + 5, size=14)
        pdf.set_fill_color(0)
        _pdf_qr(pdf, label.payload, x=x + (PDF_CELL_W - PDF_QR_SIZE) / 2, y=y + 13, size=PDF_QR_SIZE)
        _pdf_text(pdf, font, label.code, x=x, y=y + 13 + PDF_QR_SIZE + 3, size=13)
        _pdf_text(pdf, font, label.subtitle, x=x, y=y + 13 + PDF_QR_SIZE + 11, size=9)
    if not labels:
        pdf.add_page()
    return bytes(pdf.output())
