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
