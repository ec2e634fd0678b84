"""The report page's building blocks: fonts, paragraph styles, bilingual markup, the two-column
table and the QR code (reportlab). Loaded by :func:`ledger.report.render_pdf` when it prints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import segno
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, Table, TableStyle

CJK_FONT = "STSong-Light"
_CJK = re.compile(r"([\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+)")
RULE = colors.HexColor("#cccccc")


def register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


# --- markup ------------------------------------------------------------------------------------


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rich(text: str) -> str:
    """Paragraph markup: Latin text in Helvetica, CJK runs in the STSong-Light CID font."""
    return _CJK.sub(r'<font face="STSong-Light">\1</font>', escape(text))


def mono(text: str) -> str:
    return f'<font face="Courier">{escape(text)}</font>'


def lines(*parts: str) -> str:
    """Plain text lines (escaped, CJK-aware) joined by line breaks."""
    return "<br/>".join(rich(part) for part in parts)


# --- styles and cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    base: ParagraphStyle
    small: ParagraphStyle
    mono: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    label: ParagraphStyle

    def p(self, text: str, style: ParagraphStyle | None = None) -> Any:
        """A paragraph of plain text (in the base style unless ``style``)."""
        return Paragraph(rich(text), self.base if style is None else style)

    def lab(self, en: str, zh: str) -> Any:
        """A row's label: Chinese, then English."""
        return Paragraph(rich(f"{zh} {en}"), self.label)

    def hexcell(self, value: Any) -> Any:
        return Paragraph(mono(str(value)), self.mono)


def make_styles() -> Styles:
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=8.5, leading=11.5)
    return Styles(
        base=base,
        small=ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        mono=ParagraphStyle("mono", parent=base, fontName="Courier", fontSize=7.2, leading=9),
        h1=ParagraphStyle("h1", parent=base, fontName="Helvetica-Bold", fontSize=15, leading=20),
        h2=ParagraphStyle(
            "h2", parent=base, fontName="Helvetica-Bold", fontSize=10.5, leading=14, spaceBefore=7
        ),
        label=ParagraphStyle("label", parent=base, textColor=colors.HexColor("#444444")),
    )


def kv_table(rows: list[tuple[Any, Any]]) -> Any:
    """Label and value, one row each, ruled below."""
    table = Table(rows, colWidths=[42 * mm, 128 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def qr_drawing(text: str, size: float) -> Any:
    """The QR code as vector squares (crisp when printed)."""
    code = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    border = 4
    n = len(matrix) + 2 * border
    cell = size / n
    drawing = Drawing(size, size)
    drawing.add(Rect(0, 0, size, size, fillColor=colors.white, strokeColor=None))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(
                    Rect(
                        (x + border) * cell,
                        size - (y + border + 1) * cell,
                        cell,
                        cell,
                        fillColor=colors.black,
                        strokeColor=None,
                        strokeWidth=0,
                    )
                )
    return drawing
