"""An operating guide rendered for people: PDF (reportlab, CJK CID font), HTML or Markdown.

Every format shows the title, the item's catalog data, a red banner when the guide is a
default template, every section of the body, and the materials table.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, Literal

from ..catalog.items import read_catalog
from ..core.errors import InvalidInput, NotFound
from .scaffold import BATCH_LABELS
from .store import guide_folder, split_front_matter
from .validation import MATERIALS_SECTION, MODE_LABELS, STATUS_LABELS

Format = Literal["pdf", "html", "md"]
BANNER_LEAD = "【默认模板，不得作为办事依据】"
FONT = "STSong-Light"  # reportlab's built-in Adobe CID font for simplified Chinese


@dataclass(frozen=True)
class GuideDocument:
    """What a rendering needs: the catalog row, the guide's front matter and its body."""

    item: Mapping[str, Any]  # code, batch, seq, name, scenario, lead, cooperating, ...
    front: Mapping[str, Any]
    body: str

    @property
    def is_default(self) -> bool:
        return self.front.get("status") != "complete"

    @property
    def title(self) -> str:
        return f"{self.item['name']}“跨省通办”操作指南"

    def facts(self) -> list[tuple[str, str]]:
        """The catalog data shown above the body, as (label, value) rows."""
        item = self.item
        lead = "、".join(item["lead"]) or "事项清单未列明（附件1本行未印出牵头单位）"
        rows = [
            ("事项编码", str(item["code"])),
            ("事项名称", str(item["name"])),
            ("清单批次", f"{BATCH_LABELS.get(item['batch'], item['batch'])}，第{item['seq']}项"),
            ("应用场景", str(item.get("scenario") or "（事项清单未列明）")),
            ("牵头单位", lead),
            ("配合单位", "、".join(item["cooperating"]) or "（清单未列）"),
        ]
        if item.get("deadline"):
            rows.append(("完成时限", str(item["deadline"])))
        modes = "、".join(MODE_LABELS.get(m, m) for m in self.front.get("modes") or ())
        rows.append(("通办模式", modes))
        status = str(self.front.get("status"))
        rows.append(
            ("指南版本", f"第{self.front.get('version', 1)}版，{STATUS_LABELS.get(status, status)}")
        )
        return rows


def document_from_files(code: str, folder: Traversable | None = None) -> GuideDocument:
    """The guide of `code` as shipped (docs/operating_guides) with its catalog row."""
    row = next((r for r in read_catalog() if r["code"] == code), None)
    if row is None:
        raise NotFound(f"事项「{code}」不在事项清单中。", code="item.not_found")
    path = (folder or guide_folder()) / f"{code}.md"
    if not path.is_file():
        raise NotFound(f"事项「{code}」没有操作指南文件 {code}.md。", code="guide.not_found")
    guide = split_front_matter(path.read_text(encoding="utf-8"), path.name)
    return GuideDocument(row, guide.front, guide.body)


# ---- a small Markdown reader for the subset guides use -------------------------------------


@dataclass
class Block:
    kind: Literal["heading", "para", "quote", "list", "table"]
    source: list[str]  # the Markdown lines of the block
    level: int = 0  # heading level
    ordered: bool = False
    items: list[str] = field(default_factory=list)  # list items, or quote/para text in items[0]
    rows: list[list[str]] = field(default_factory=list)  # table: header first


_LIST = re.compile(r"(?:[-*]|(\d+)\.)\s+(.*)")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if m := re.match(r"(#{1,6})\s+(.*)", line):
            blocks.append(Block("heading", [line], level=len(m[1]), items=[m[2].strip()]))
            i += 1
            continue
        start = i
        if line.startswith(">"):
            while i < len(lines) and lines[i].startswith(">"):
                i += 1
            text = " ".join(x[1:].strip() for x in lines[start:i])
            blocks.append(Block("quote", lines[start:i], items=[text]))
        elif line.startswith("|"):
            while i < len(lines) and lines[i].startswith("|"):
                i += 1
            rows = [_cells(x) for x in lines[start:i] if not re.fullmatch(r"[|\s:-]+", x)]
            blocks.append(Block("table", lines[start:i], rows=rows))
        elif first := _LIST.fullmatch(line):
            items: list[str] = []
            while i < len(lines) and (m := _LIST.fullmatch(lines[i])):
                items.append(m[2])
                i += 1
            blocks.append(Block("list", lines[start:i], ordered=bool(first[1]), items=items))
        else:
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                i += 1
            blocks.append(Block("para", lines[start:i], items=["".join(lines[start:i])]))
    return blocks


def _starts_block(line: str) -> bool:
    return bool(re.match(r"#{1,6}\s|>|\|", line) or _LIST.fullmatch(line))


def content_blocks(doc: GuideDocument) -> list[Block]:
    """The body without what the rendering shows from data: the H1 title, the default banner
    and the preamble's fact list (before the first section); with a materials table made from
    the front matter when the 申请材料 section has none."""
    out: list[Block] = []
    in_preamble = True
    notice = str(doc.front.get("defaults_notice") or "")
    for block in parse_blocks(doc.body):
        if block.kind == "heading" and block.level == 2:
            in_preamble = False
        if in_preamble and (
            (block.kind == "heading" and block.level == 1)
            or block.kind == "list"
            or (block.kind == "quote" and notice and notice in block.items[0])
        ):
            continue
        out.append(block)
    return _with_materials_table(out, doc.front)


def _with_materials_table(blocks: list[Block], front: Mapping[str, Any]) -> list[Block]:
    start = next(
        (
            k
            for k, b in enumerate(blocks)
            if b.kind == "heading" and b.level == 2 and b.items[0] == MATERIALS_SECTION
        ),
        None,
    )
    if start is None:
        return blocks
    end = next(
        (k for k in range(start + 1, len(blocks)) if blocks[k].kind == "heading"), len(blocks)
    )
    if any(b.kind == "table" for b in blocks[start:end]):
        return blocks
    yes = {True: "是", False: "否"}
    rows = [
        [
            "序号",
            "代码",
            "材料名称",
            "是否必需",
            "原件须交办理地审查",
            "份数",
            "可用电子证照替代原件",
        ]
    ]
    for k, m in enumerate(front.get("materials") or (), start=1):
        rows.append(
            [
                str(k),
                str(m["code"]),
                str(m["name"]),
                yes[bool(m.get("required", True))],
                yes[bool(m.get("original", False))],
                str(m.get("copies", 1)),
                yes[bool(m.get("e_licence", False))],
            ]
        )
    source = ["| " + " | ".join(r) + " |" for r in rows]
    source.insert(1, "|" + " --- |" * len(rows[0]))
    table = Block("table", source, rows=rows)
    return [*blocks[:end], table, *blocks[end:]]


def _inline(text: str, bold: tuple[str, str]) -> str:
    """Escape for markup, then **x** -> bold."""
    escaped = html.escape(text, quote=False)
    return re.sub(r"\*\*(.+?)\*\*", lambda m: f"{bold[0]}{m[1]}{bold[1]}", escaped)


# ---- Markdown ------------------------------------------------------------------------------


def render_markdown(doc: GuideDocument) -> str:
    lines = [f"# {doc.title}", ""]
    if doc.is_default:
        lines += [
            f"> **{BANNER_LEAD}** {doc.front.get('defaults_notice', '')}",
            "",
        ]
    lines += ["| 项目 | 内容 |", "| --- | --- |"]
    lines += [f"| {label} | {value} |" for label, value in doc.facts()]
    for block in content_blocks(doc):
        lines += ["", *block.source]
    return "\n".join(lines) + "\n"


# ---- HTML ----------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif;
       max-width: 50rem; margin: 2rem auto; line-height: 1.7; color: #222; }
h1 { font-size: 1.6rem; text-align: center; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #999; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0; }
th, td { border: 1px solid #999; padding: 0.3rem 0.5rem; vertical-align: top; }
th { background: #f0f0f0; }
.facts th { width: 7rem; text-align: left; }
.defaults-banner { color: #b00000; border: 2px solid #b00000; background: #fff0f0;
                   padding: 0.6rem 1rem; font-weight: bold; }
blockquote { border-left: 4px solid #ccc; margin: 0.8rem 0; padding: 0.2rem 1rem; color: #555; }
"""


def _html_blocks(blocks: Sequence[Block]) -> Iterator[str]:
    b = ("<strong>", "</strong>")
    for block in blocks:
        if block.kind == "heading":
            level = block.level
            yield f"<h{level}>{_inline(block.items[0], b)}</h{level}>"
        elif block.kind == "para":
            yield f"<p>{_inline(block.items[0], b)}</p>"
        elif block.kind == "quote":
            yield f"<blockquote>{_inline(block.items[0], b)}</blockquote>"
        elif block.kind == "list":
            tag = "ol" if block.ordered else "ul"
            items = "".join(f"<li>{_inline(x, b)}</li>" for x in block.items)
            yield f"<{tag}>{items}</{tag}>"
        else:
            head, *rows = block.rows or [[]]
            yield (
                "<table><thead><tr>"
                + "".join(f"<th>{_inline(c, b)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join(
                    "<tr>" + "".join(f"<td>{_inline(c, b)}</td>" for c in row) + "</tr>"
                    for row in rows
                )
                + "</tbody></table>"
            )


def render_html(doc: GuideDocument) -> str:
    title = html.escape(doc.title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(str(doc.item['code']))} {title}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
    ]
    if doc.is_default:
        notice = html.escape(str(doc.front.get("defaults_notice", "")))
        parts.append(f'<div class="defaults-banner" role="alert">{BANNER_LEAD}{notice}</div>')
    parts.append('<table class="facts"><tbody>')
    parts += [
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in doc.facts()
    ]
    parts.append("</tbody></table>")
    parts += _html_blocks(content_blocks(doc))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---- PDF -----------------------------------------------------------------------------------


def render_pdf(doc: GuideDocument) -> bytes:
    """A4 PDF in the built-in CID font STSong-Light (no font files needed)."""
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
    from reportlab.platypus import (  # type: ignore[import-untyped]
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        # One face for every weight: <b> must map to a registered font.
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    red = colors.HexColor("#B00000")

    def style(name: str, size: float, **kw: Any) -> Any:
        return ParagraphStyle(
            name, fontName=FONT, fontSize=size, leading=size * 1.6, wordWrap="CJK", **kw
        )

    body = style("body", 10.5, spaceAfter=4)
    cell = style("cell", 9)
    item = style("item", 10.5, leftIndent=16, bulletIndent=2, spaceAfter=2)
    styles = {
        1: style("h1", 18, alignment=TA_CENTER, spaceAfter=10),
        2: style("h2", 13, spaceBefore=10, spaceAfter=4),
        3: style("h3", 11.5, spaceBefore=6, spaceAfter=3),
    }
    quote = style("quote", 9.5, textColor=colors.HexColor("#555555"), leftIndent=8, spaceAfter=4)
    banner = style(
        "banner",
        11,
        textColor=red,
        borderColor=red,
        borderWidth=1.2,
        borderPadding=6,
        backColor=colors.HexColor("#FFF0F0"),
        spaceBefore=4,
        spaceAfter=12,
    )
    b = ("<b>", "</b>")

    def table(rows: Sequence[Sequence[str]]) -> Any:
        data = [[Paragraph(_inline(c, b), cell) for c in row] for row in rows]
        t = Table(data, colWidths=column_widths(rows, width), repeatRows=1, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F0F0F0")),
                ]
            )
        )
        return t

    width = A4[0] - 36 * mm
    story: list[Any] = [Paragraph(html.escape(doc.title), styles[1])]
    if doc.is_default:
        notice = html.escape(str(doc.front.get("defaults_notice", "")))
        story.append(Paragraph(f"{BANNER_LEAD}{notice}", banner))
    facts = Table(
        [[Paragraph(k, cell), Paragraph(html.escape(v), cell)] for k, v in doc.facts()],
        colWidths=[24 * mm, width - 24 * mm],
        hAlign="LEFT",
    )
    facts.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F0F0F0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [facts, Spacer(1, 6)]
    for block in content_blocks(doc):
        if block.kind == "heading":
            story.append(Paragraph(_inline(block.items[0], b), styles[min(block.level, 3)]))
        elif block.kind == "para":
            story.append(Paragraph(_inline(block.items[0], b), body))
        elif block.kind == "quote":
            story.append(Paragraph(_inline(block.items[0], b), quote))
        elif block.kind == "list":
            for k, text in enumerate(block.items, start=1):
                mark = f"{k}." if block.ordered else "•"
                story.append(Paragraph(_inline(text, b), item, bulletText=mark))
        else:
            story.append(table(block.rows))
            story.append(Spacer(1, 4))

    footer = f"{doc.item['code']} {doc.item['name']}"
    if doc.is_default:
        footer += "　默认模板，不得作为办事依据"

    def on_page(canvas: Any, pdf: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        if doc.is_default:
            canvas.setFillColor(red)
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {pdf.page} 页")
        canvas.restoreState()

    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{doc.item['code']} {doc.title}",
        author="tongban 通办",
        subject=STATUS_LABELS.get(str(doc.front.get("status")), ""),
        creator="tongban guides render",
        lang="zh-CN",
        invariant=True,
    )
    pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _display_len(text: str) -> int:
    """Width in half-width units: CJK and full-width characters count two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def column_widths(rows: Sequence[Sequence[str]], total: float) -> list[float]:
    """Column widths in proportion to their longest cell (headers may wrap: half weight),
    so a narrow number column does not squeeze a long name column."""
    columns = max((len(r) for r in rows), default=0)
    weights = []
    for j in range(columns):
        cells = [r[j] for r in rows[1:] if j < len(r)]
        longest = max((_display_len(c) for c in cells), default=0)
        header = _display_len(rows[0][j]) / 2 if rows and j < len(rows[0]) else 0
        weights.append(min(max(longest, header, 5), 48) + 3)  # + cell padding
    scale = total / (sum(weights) or 1)
    return [w * scale for w in weights]


def render(doc: GuideDocument, fmt: str) -> bytes:
    """The guide in `fmt` (pdf | html | md) as bytes (text formats UTF-8)."""
    if fmt == "pdf":
        return render_pdf(doc)
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "md":
        return render_markdown(doc).encode("utf-8")
    raise InvalidInput(f"格式：应为 pdf、html 或 md，实际为「{fmt}」。", field="format")
