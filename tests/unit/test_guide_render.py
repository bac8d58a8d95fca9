"""`tongban guides render`: PDF (read back with pypdf), HTML and Markdown of a guide."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from tongban.api.cli.main import app
from tongban.services.core.errors import NotFound
from tongban.services.guides.render import (
    BANNER_LEAD,
    GuideDocument,
    column_widths,
    document_from_files,
    render_html,
    render_markdown,
    render_pdf,
)
from tongban.services.guides.validation import SECTIONS

RED_FILL = b".690196 0 0 rg"  # #B00000, the banner and footer colour, as a PDF fill operator


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, re.sub(r"\s+", "", text)


def content_streams(reader: PdfReader) -> bytes:
    return b"".join(page.get_contents().get_data() for page in reader.pages)  # type: ignore[union-attr]


def test_complete_guide_pdf_has_catalog_data_sections_and_materials() -> None:
    doc = document_from_files("1-01")
    reader, text = pdf_text(render_pdf(doc))
    assert len(reader.pages) >= 2
    assert reader.metadata is not None
    assert reader.metadata.title == "1-01 学历公证“跨省通办”操作指南"
    assert "学历公证“跨省通办”操作指南" in text
    for label, value in doc.facts():
        assert label + re.sub(r"\s+", "", value) in text, label
    assert "第一批，第1项" in text and "市司法局" in text and "市教育和体育局" in text
    for title in SECTIONS:
        assert title in text, title
    for code in ("id_card", "diploma", "application_form", "power_of_attorney"):
        assert code in text, code
    assert "默认模板" not in text
    assert RED_FILL not in content_streams(reader)


def test_default_guide_pdf_shows_the_banner_in_red() -> None:
    doc = document_from_files("1-21")
    assert doc.is_default
    reader, text = pdf_text(render_pdf(doc))
    assert BANNER_LEAD + doc.front["defaults_notice"] in text
    assert "事项清单未列明（附件1本行未印出牵头单位）" in text
    assert reader.metadata is not None
    assert (reader.metadata.subject or "").startswith("默认模板")
    assert RED_FILL in content_streams(reader)
    # every page carries the warning in its footer
    for page in reader.pages:
        assert "默认模板，不得作为办事依据" in re.sub(r"\s+", "", page.extract_text())


def test_pdf_uses_the_cid_font_and_is_reproducible() -> None:
    doc = document_from_files("2-61")
    data = render_pdf(doc)
    assert data.startswith(b"%PDF-")
    assert b"STSong-Light" in data
    assert render_pdf(doc) == data  # invariant: no timestamps or random ids


def test_html_marks_default_guides_and_lists_every_section() -> None:
    default = render_html(document_from_files("2-03"))
    assert '<div class="defaults-banner" role="alert">' + BANNER_LEAD in default
    assert "多地联办" in default
    complete = render_html(document_from_files("2-21"))
    assert 'role="alert"' not in complete and BANNER_LEAD not in complete
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in complete
    assert "<td>photo</td>" in complete
    assert complete.count("<h1>") == 1  # the body's own H1 is replaced by the title


def test_html_escapes_guide_text() -> None:
    doc = document_from_files("1-01")
    hostile = GuideDocument(
        {**doc.item, "name": "<script>x</script>"}, doc.front, doc.body + "\n\n<b>&</b>\n"
    )
    out = render_html(hostile)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in out


def test_markdown_keeps_the_body_and_adds_the_facts() -> None:
    out = render_markdown(document_from_files("3-07"))
    assert out.startswith("# 工伤职工异地就医结算“跨省通办”操作指南\n")
    assert f"> **{BANNER_LEAD}**" in out
    assert "| 完成时限 | 2022年底前 |" in out
    assert "| 配合单位 | 市医保局 |" in out
    assert out.count("## 申请材料") == 1


def test_materials_table_comes_from_the_front_matter_when_the_body_has_none() -> None:
    doc = document_from_files("2-21")
    body = re.sub(r"\n\|.*", "", doc.body.split("## 申请材料")[0]) + "## 申请材料\n\n见下表。\n"
    out = render_markdown(GuideDocument(doc.item, doc.front, body))
    section = out.split("## 申请材料")[1]
    assert "| 1 | id_card | 申请人居民身份证（或其他有效身份证件） | 是 | 否 | 1 | 是 |" in section
    assert section.count("\n|") == len(doc.front["materials"]) + 2


def test_column_widths_follow_content_and_fill_the_width() -> None:
    widths = column_widths([["序号", "材料名称"], ["1", "学历证书（毕业证书）原件及复印件"]], 400)
    assert sum(widths) == pytest.approx(400)
    assert widths[1] > 3 * widths[0]


def test_unknown_item_is_not_found() -> None:
    with pytest.raises(NotFound) as err:
        document_from_files("9-99")
    assert err.value.code == "item.not_found"


def test_render_cli_writes_each_format(tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("pdf", "html", "md"):
        out = tmp_path / f"g.{fmt}"
        result = runner.invoke(
            app, ["guides", "render", "1-49", "--format", fmt, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        data = out.read_bytes()
        assert data.startswith({"pdf": b"%PDF-", "html": b"<!DOCTYPE html>", "md": b"# "}[fmt])
    assert "航空安全员资格认定" in (tmp_path / "g.md").read_text(encoding="utf-8")
    missing = runner.invoke(app, ["guides", "render", "9-99", "--out", str(tmp_path / "x.pdf")])
    assert missing.exit_code == 2
    assert "item.not_found" in missing.output
    assert not (tmp_path / "x.pdf").exists()
