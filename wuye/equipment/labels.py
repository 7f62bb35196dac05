"""Printable equipment labels: a QR code (segno) holding the URL of the item's page, with its asset number, name,
place and the label code to type when the camera cannot read it.

`sheet_png` draws an A4-wide PNG with Pillow; `sheet_pdf` an A4 PDF with fpdf2 (the QR codes as embedded PNGs, the
text in Noto Sans CJK from Debian's fonts-noto-cjk, as the KPI report does). Without the font the PNG falls back to
Pillow's built-in font and the PDF to Helvetica with the Chinese left out (the code and URL stay readable).
"""

from __future__ import annotations

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
CELL_HEIGHT = 600
QR_SCALE = 8
# PDF: A4 portrait in mm, 2 × 4 labels per page.
PDF_COLUMNS, PDF_ROWS = 2, 4
PDF_CELL_W, PDF_CELL_H = 95.0, 68.0
PDF_MARGIN_X, PDF_MARGIN_Y = 10.0, 12.0


@dataclass(frozen=True)
class Label:
    title: str  # asset number and name
    subtitle: str  # estate · place
    url: str  # what the QR code holds: the item's page
    code: str  # the label code people type


def qr(url: str) -> segno.QRCode:
    # Error correction Q: a label in a pump room gets dirty and scratched.
    return segno.make(url, error="q", micro=False)


def label_svg(url: str, *, scale: int = 4) -> str:
    return qr(url).svg_inline(scale=scale, border=4)


def _qr_png(url: str, scale: int = QR_SCALE) -> Image.Image:
    buffer = io.BytesIO()
    qr(url).save(buffer, kind="png", scale=scale, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


@lru_cache(maxsize=8)
def _font(size: int):
    for path, index in CJK_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size, index=index)
    return ImageFont.load_default(size=size)


def _centred(draw: ImageDraw.ImageDraw, text: str, *, x: int, y: int, size: int) -> None:
    font = _font(size)
    width = draw.textlength(text, font=font)
    while width > CELL_WIDTH - 40 and len(text) > 4:
        text = text[:-2] + "…"
        width = draw.textlength(text, font=font)
    draw.text((x + (CELL_WIDTH - width) / 2, y), text, fill=0, font=font)


def sheet_png(labels: list[Label]) -> bytes:
    """One PNG with every label, two across, each framed with a cutting line."""
    rows = max(1, (len(labels) + COLUMNS - 1) // COLUMNS)
    sheet = Image.new("L", (PAGE_WIDTH, rows * CELL_HEIGHT), 255)
    draw = ImageDraw.Draw(sheet)
    for index, label in enumerate(labels):
        x = (index % COLUMNS) * CELL_WIDTH
        y = (index // COLUMNS) * CELL_HEIGHT
        draw.rectangle([x + 8, y + 8, x + CELL_WIDTH - 8, y + CELL_HEIGHT - 8], outline=160, width=2)
        _centred(draw, label.title, x=x, y=y + 22, size=32)
        # A whole number of pixels per module, so the code stays crisp (no resampling).
        modules = qr(label.url).symbol_size(scale=1, border=4)[0]
        image = _qr_png(label.url, scale=max(2, 380 // modules))
        sheet.paste(image, (x + (CELL_WIDTH - image.width) // 2, y + 72))
        _centred(draw, label.code, x=x, y=y + 72 + image.height + 10, size=30)
        _centred(draw, label.subtitle, x=x, y=y + 72 + image.height + 52, size=22)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _cjk_font_path() -> str | None:
    path, _index = CJK_FONTS[0]
    return path if os.path.exists(path) else None


def sheet_pdf(labels: list[Label]) -> bytes:
    """An A4 PDF, eight labels a page, each framed with a cutting line."""
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    font_path = _cjk_font_path()
    if font_path:
        pdf.add_font("noto", fname=font_path, collection_font_number=CJK_FONTS[0][1])
        family = "noto"
    else:  # pragma: no cover - fonts-noto-cjk is installed where wuye runs
        family = "helvetica"

    def text(value: str) -> str:
        return value if font_path else value.encode("latin-1", "replace").decode("latin-1")

    per_page = PDF_COLUMNS * PDF_ROWS
    for index, label in enumerate(labels or []):
        if index % per_page == 0:
            pdf.add_page()
        slot = index % per_page
        x = PDF_MARGIN_X + (slot % PDF_COLUMNS) * PDF_CELL_W
        y = PDF_MARGIN_Y + (slot // PDF_COLUMNS) * PDF_CELL_H
        pdf.set_draw_color(160, 160, 160)
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.rect(x + 1, y + 1, PDF_CELL_W - 2, PDF_CELL_H - 2)
        pdf.set_dash_pattern()
        image = _qr_png(label.url, scale=6)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        pdf.image(buffer, x=x + 4, y=y + 6, w=44, h=44)
        pdf.set_xy(x + 50, y + 8)
        pdf.set_font(family, size=11)
        pdf.multi_cell(PDF_CELL_W - 54, 5.5, text(label.title), new_x="LEFT", new_y="NEXT")
        pdf.set_font(family, size=8)
        pdf.set_x(x + 50)
        pdf.multi_cell(PDF_CELL_W - 54, 4.5, text(label.subtitle), new_x="LEFT", new_y="NEXT")
        pdf.set_font("courier", size=12)
        pdf.set_xy(x + 4, y + 52)
        pdf.cell(44, 6, label.code, align="C")
        pdf.set_font(family, size=6)
        pdf.set_xy(x + 4, y + 59)
        pdf.cell(PDF_CELL_W - 8, 4, label.url[:90])
    if not labels:
        pdf.add_page()
    return bytes(pdf.output())
