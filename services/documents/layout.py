"""The page every document shares: A4, the built-in CID font STSong-Light (no font files),
a heavy title, the issuing unit and document number on every page, bordered tables that
flow over pages, "第 X 页 共 Y 页", and bytes that depend on the content only.

Determinism: reportlab's invariant mode fixes the document id, and the creation date is
the time of the event the document renders (not the clock), so one case gives one PDF.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tongban.workflow.calendar import SHANGHAI

FONT = "STSong-Light"  # reportlab's built-in Adobe CID font for simplified Chinese
PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
WIDTH = PAGE_W - 2 * MARGIN
GRID = colors.HexColor("#404040")
SHADE = colors.HexColor("#EFEFEF")
SEAL_RED = colors.HexColor("#C00000")


def _font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)


# Registered once, on import: paragraphs look the font's family up when they are made.
_font()


def _style(name: str, size: float, **kw: Any) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=FONT, fontSize=size, leading=size * 1.55, wordWrap="CJK", **kw
    )


BODY = _style("body", 11, firstLineIndent=22, spaceAfter=4)
PLAIN = _style("plain", 11, spaceAfter=3)
CELL = _style("cell", 9.5)
CELL_SMALL = _style("cell_small", 8.5)
HEAD = _style("head", 9.5, alignment=TA_CENTER)
SUBTITLE = _style("subtitle", 10, alignment=TA_CENTER, textColor=colors.HexColor("#333333"))
SECTION = _style("section", 12, spaceBefore=8, spaceAfter=4)
CENTER = _style("center", 10, alignment=TA_CENTER)
RIGHT = _style("right", 11, alignment=TA_RIGHT)
DECISION = _style("decision", 14, alignment=TA_CENTER, spaceBefore=6, spaceAfter=8)
NOTE = _style("note", 9, textColor=colors.HexColor("#444444"), spaceBefore=2)


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def local(at: datetime, *, minutes: bool = True) -> str:
    shown = at.astimezone(SHANGHAI)
    if not minutes:
        return f"{shown.year}年{shown.month}月{shown.day}日"
    return f"{shown.year}年{shown.month}月{shown.day}日 {shown:%H:%M}"


class Title(Flowable):  # type: ignore[misc]
    """The official title: large, centred and stroked as well as filled, which gives the
    song face the weight of a 黑体 heading (a CID font has no bold face)."""

    def __init__(self, text: str, size: float = 20) -> None:
        super().__init__()
        self.text = text
        self.size = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.size * 1.8

    def draw(self) -> None:
        canvas = self.canv
        spaced = " ".join(self.text) if len(self.text) <= 8 else self.text
        width = pdfmetrics.stringWidth(spaced, FONT, self.size)
        text = canvas.beginText((self.width - width) / 2, self.size * 0.45)
        text.setFont(FONT, self.size)
        text.setTextRenderMode(2)  # fill and stroke
        canvas.setLineWidth(self.size / 28)
        text.textOut(spaced)
        canvas.drawText(text)


def title_block(title: str, doc_no: str) -> list[Any]:
    return [Title(title), Paragraph(f"文书编号：{esc(doc_no)}", SUBTITLE), Spacer(1, 5 * mm)]


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text (escaped); use `Paragraph` directly for markup."""
    return Paragraph(esc(text), style)


def _cell(value: object, style: ParagraphStyle = CELL) -> Any:
    if isinstance(value, Flowable):
        return value
    return Paragraph(esc(value).replace("\n", "<br/>"), style)


def facts(rows: Sequence[tuple[str, object]], label_width: float = 28 * mm) -> Table:
    """Label / value rows in a bordered table (labels shaded)."""
    data = [[Paragraph(esc(k), CELL), _cell(v)] for k, v in rows]
    table = Table(data, colWidths=[label_width, WIDTH - label_width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, GRID),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def grid(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    style: ParagraphStyle = CELL,
) -> Table:
    """A bordered table whose header row repeats on every page it flows onto. Every cell is
    a wrapping paragraph, so a long value makes its row taller instead of being clipped."""
    scale = WIDTH / sum(widths)
    data = [[Paragraph(esc(h), HEAD) for h in header]]
    data += [[_cell(v, style) for v in row] for row in rows]
    table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


class SealMark(Flowable):  # type: ignore[misc]
    """Where the seal goes: a red ring with the issuing unit, beside the electronic seal
    (the signature) that makes it binding."""

    def __init__(self, unit: str, size: float = 36 * mm) -> None:
        super().__init__()
        self.unit = unit
        self.size = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        c = self.canv
        r = self.size / 2
        c.saveState()
        c.setStrokeColor(SEAL_RED)
        c.setFillColor(SEAL_RED)
        c.setLineWidth(1.6)
        c.circle(r, r, r - 1, stroke=1, fill=0)
        c.setFont(FONT, 16)
        c.drawCentredString(r, r - 6, "★")
        # The unit's name along the upper arc, each character turned to face outwards.
        name = self.unit if len(self.unit) <= 22 else self.unit[:21] + "…"
        size = 8.0 if len(name) > 14 else 9.5
        span = min(230.0, 16.0 * len(name))
        for i, ch in enumerate(name):
            angle = 90 + span / 2 - (span * (i + 0.5) / len(name))
            c.saveState()
            c.translate(r, r)
            c.rotate(angle - 90)
            c.setFont(FONT, size)
            c.drawCentredString(0, r - size - 3, ch)
            c.restoreState()
        c.setFont(FONT, 8)
        c.drawCentredString(r, r - r * 0.55, "电子印章")
        c.restoreState()


def signature_block(unit: str, at: datetime) -> KeepTogether:
    """The issuing unit, the date and its seal mark, at the right, kept on one page."""
    mark = SealMark(unit)
    lines = Table(
        [
            [Paragraph(esc(unit), RIGHT)],
            [Paragraph(esc(local(at, minutes=False)), RIGHT)],
        ],
        colWidths=[WIDTH - 40 * mm],
    )
    block = Table([[lines, mark]], colWidths=[WIDTH - 40 * mm, 40 * mm], hAlign="RIGHT")
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return KeepTogether([Spacer(1, 8 * mm), block])


def _pdf_date(at: datetime) -> Callable[..., str]:
    shown = at.astimezone(SHANGHAI)
    text = f"D:{shown:%Y%m%d%H%M%S}+08'00'"
    return lambda *_: text


def _canvas_class(at: datetime, case_no: str) -> type:
    """A canvas that holds its pages until the end, to print "第 X 页 共 Y 页" on each."""

    class Numbered(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.setDateFormatter(_pdf_date(at))
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                self._number(total)
                super().showPage()
            super().save()

        def _number(self, total: int) -> None:
            self.saveState()
            self.setFont(FONT, 9)
            self.drawCentredString(PAGE_W / 2, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
            self.drawString(MARGIN, 10 * mm, f"办件编号 {case_no}")
            self.restoreState()

    return Numbered


def build(
    story: list[Any], *, title: str, issuer: str, doc_no: str, case_no: str, at: datetime
) -> bytes:
    """The PDF of `story`, the same bytes for the same input."""
    _font()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.HexColor("#333333"))
        canvas.drawString(MARGIN, PAGE_H - 12 * mm, issuer)
        canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - 12 * mm, doc_no)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, PAGE_H - 13.5 * mm, PAGE_W - MARGIN, PAGE_H - 13.5 * mm)
        canvas.line(MARGIN, 14 * mm, PAGE_W - MARGIN, 14 * mm)
        canvas.restoreState()

    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"{title} {doc_no}",
        author=issuer,
        subject=f"办件 {case_no}",
        creator="tongban documents",
        producer="tongban (ReportLab)",
        lang="zh-CN",
        invariant=True,
    )
    pdf.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=_canvas_class(at, case_no),
    )
    return out.getvalue()
