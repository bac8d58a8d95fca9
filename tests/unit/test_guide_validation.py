"""`tongban guides validate` and `tongban guides scaffold`: every shipped guide is valid, every
catalog item has one, and a broken guide is reported at the right file and line."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tongban.api.cli.main import app
from tongban.services.catalog.items import read_catalog
from tongban.services.guides.scaffold import default_guide, default_mode, scaffold_guides
from tongban.services.guides.store import guide_folder, split_front_matter
from tongban.services.guides.validation import (
    SECTIONS,
    GuideError,
    catalog_index,
    validate_folder,
    validate_guide,
)

COMPLETE = {"1-01", "2-21", "2-61"}  # written by hand; every other guide is a default
CODES = {row["code"] for row in read_catalog()}


def shipped(code: str) -> str:
    return (guide_folder() / f"{code}.md").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of `text` that equals `needle` (the test's own oracle)."""
    hits = [k for k, line in enumerate(text.split("\n"), start=1) if line == needle]
    assert len(hits) >= nth, (needle, hits)
    return hits[nth - 1]


# ---- the shipped guides ---------------------------------------------------------------------


def test_every_catalog_item_has_a_valid_guide() -> None:
    report = validate_folder(guide_folder(), require_every_item=True)
    assert report.errors == []
    assert report.files == 140
    names = {p.name for p in guide_folder().iterdir() if p.name.endswith(".md")}
    assert names == {f"{code}.md" for code in CODES}


def test_default_guides_are_visibly_marked_and_complete_ones_are_not() -> None:
    rows = {row["code"]: row for row in read_catalog()}
    statuses = {}
    for code, row in rows.items():
        guide = split_front_matter(shipped(code), f"{code}.md")
        statuses[code] = guide.front["status"]
        top = guide.body.lstrip().split("\n", 1)[0]
        if code in COMPLETE:
            assert "defaults_notice" not in guide.front
            assert "默认" not in top
            continue
        notice = guide.front["defaults_notice"]
        lead = "、".join(row["lead"]) or "事项清单未列明牵头单位"
        assert notice == (
            f"本指南为系统按事项清单生成的默认模板，内容待牵头单位（{lead}）补充完善，"
            "不得作为办事依据。"
        )
        assert top.startswith("> **【默认模板】**") and notice in top
        assert [m["original"] for m in guide.front["materials"]] == [False, False]
        assert guide.front["time_limits"] == {"forward": 1, "accept": 2, "decide": 20, "deliver": 1}
        assert guide.front["modes"] == [default_mode(row["scenario"], row["name"])]
        assert row["name"] in guide.body
    assert sorted(code for code, s in statuses.items() if s == "complete") == sorted(COMPLETE)
    assert sum(s == "default" for s in statuses.values()) == 137


def test_lead_missing_items_say_the_catalog_prints_no_lead() -> None:
    missing = [row for row in read_catalog() if row["lead_missing"]]
    assert {row["code"] for row in missing} == {"1-21", "1-22", "1-23", "1-49"}
    for row in missing:
        text = shipped(row["code"])
        assert "事项清单未列明牵头单位" in text
        assert "本行未印出牵头单位" in text


@pytest.mark.parametrize(
    ("scenario", "mode"),
    [
        ("申请人可异地网上申请不动产抵押登记，不受不动产登记地限制。", "online"),
        ("申请人可向转入地申请，转入地与转出地协同办理失业保险关系转移接续。", "joint"),
        ("申请人可异地申请开具有无犯罪记录证明，不受户籍地限制。", "proxy"),
        ("", "proxy"),
    ],
)
def test_default_mode_follows_the_scenario_wording(scenario: str, mode: str) -> None:
    assert default_mode(scenario) == mode


# ---- scaffold -------------------------------------------------------------------------------


def test_scaffold_writes_exactly_the_missing_guides_and_never_overwrites(tmp_path: Path) -> None:
    for code in ("1-01", "2-21"):
        shutil.copy(str(guide_folder() / f"{code}.md"), tmp_path / f"{code}.md")
    edited = default_guide(next(r for r in read_catalog() if r["code"] == "1-02")).replace(
        "申请表（申请人签字或盖章）", "公证申请表（牵头单位已修改）"
    )
    (tmp_path / "1-02.md").write_text(edited, encoding="utf-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    report = scaffold_guides(tmp_path, read_catalog())

    assert sorted(report.created) == sorted(CODES - {"1-01", "2-21", "1-02"})
    assert report.kept == 3
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data, name
    assert validate_folder(tmp_path, require_every_item=True).errors == []
    again = scaffold_guides(tmp_path, read_catalog())
    assert (again.created, again.kept) == ([], 140)


def test_scaffold_cli_reports_what_it_wrote(tmp_path: Path) -> None:
    shutil.copy(str(guide_folder() / "2-61.md"), tmp_path / "2-61.md")
    result = CliRunner().invoke(app, ["guides", "scaffold", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "新生成 139 份，已有 1 份" in result.output
    assert len(list(tmp_path.glob("*.md"))) == 140


# ---- malformed guides -----------------------------------------------------------------------

BASE = shipped("1-01")


def _sub(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return apply


# (mutation, the line that should be blamed as it reads after the mutation, message part)
BROKEN: dict[str, tuple[Callable[[str], str], str, str]] = {
    "decide_zero": (_sub("  decide: 15", "  decide: 0"), "  decide: 0", "time_limits.decide"),
    "decide_text": (
        _sub("  decide: 15", "  decide: 十五"),
        "  decide: 十五",
        "须为正整数",
    ),
    "unknown_stage": (
        _sub("  deliver: 1\n", "  deliver: 1\n  archive: 3\n"),
        "  archive: 3",
        "未知环节「archive」",
    ),
    "duplicate_material": (
        _sub("  - code: diploma", "  - code: id_card"),
        "  - code: id_card",  # the second one: see nth below
        "材料代码「id_card」重复",
    ),
    "unknown_mode": (
        _sub("modes: [proxy, online]", "modes: [proxy, courier]"),
        "modes: [proxy, courier]",
        "「courier」不是可选值",
    ),
    "unknown_result": (
        _sub("results: [mail, window]", "results: [mail, pigeon]"),
        "results: [mail, pigeon]",
        "「pigeon」不是可选值",
    ),
    "unknown_channel": (
        _sub("channels: [window, online]", "channels: [window, fax]"),
        "channels: [window, fax]",
        "「fax」不是可选值",
    ),
    "original_not_bool": (
        _sub("    original: true", '    original: "true"'),
        '    original: "true"',
        "original 须为 true 或 false",
    ),
    "copies_negative": (
        _sub("    copies: 1", "    copies: -1"),
        "    copies: -1",
        "copies（份数） 须为正整数",
    ),
    "unknown_material_key": (
        _sub("    e_licence: false", "    e_licence: false\n    colour: red"),
        "    colour: red",
        "未知字段「colour」",
    ),
    "duplicate_key": (
        _sub("version: 1\n", "version: 1\nversion: 2\n"),
        "version: 2",
        "字段「version」重复",
    ),
    "yaml_syntax": (
        _sub("modes: [proxy, online]", "modes: [proxy, online"),
        "conditions: " + BASE.split("conditions: ", 1)[1].split("\n", 1)[0],  # where PyYAML notices
        "YAML 语法错误",
    ),
    "missing_section": (_sub("## 收费标准\n", "收费标准\n"), "", "缺少必需章节「## 收费标准」"),
    "empty_section": (
        lambda t: re.sub(r"## 发证方式\n.*?(?=## 收费标准)", "## 发证方式\n\n", t, flags=re.S),
        "## 发证方式",
        "章节「## 发证方式」没有内容",
    ),
    "duplicate_section": (
        _sub("## 收费标准\n", "## 申请条件\n\n重复。\n\n## 收费标准\n"),
        "## 申请条件",  # the second one
        "章节「## 申请条件」重复",
    ),
    "material_not_in_body": (
        _sub(
            "materials:\n",
            "materials:\n  - code: household_register\n    name: 户口簿\n    required: false\n"
            "    original: false\n    copies: 1\n    e_licence: false\n",
        ),
        "  - code: household_register",
        "材料「household_register」未列入正文",
    ),
    "default_without_notice": (
        _sub("status: complete", "status: default"),
        "status: default",
        "须有 defaults_notice",
    ),
    "complete_with_notice": (
        _sub("status: complete\n", "status: complete\ndefaults_notice: 待补充。\n"),
        "defaults_notice: 待补充。",
        "不得保留 defaults_notice",
    ),
    "item_unquoted_number": (_sub('item: "1-01"', "item: 101"), "item: 101", "item 须为带引号"),
    "decision_unknown_kind": (
        _sub("decision: {approve: 出具公证书, refuse: 不予办理公证}", "decision: permit"),
        "decision: permit",
        "decision 须为 general",
    ),
    "decision_half_named": (
        _sub("decision: {approve: 出具公证书, refuse: 不予办理公证}", "decision: {approve: 出具}"),
        "decision: {approve: 出具}",
        "{approve: 准予时的称谓, refuse: 不予时的称谓}",
    ),
    "material_agent_not_a_flag": (
        _sub("    e_licence: true\n", "    e_licence: true\n    agent: 是\n"),
        "    agent: 是",
        "agent",
    ),
    "no_front_matter": (lambda t: t.split("---\n", 2)[2], "", "须以 YAML 前言开头"),
}
NTH = {"duplicate_material": 2, "duplicate_section": 2}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_malformed_guide_is_reported_at_its_file_and_line(case: str, tmp_path: Path) -> None:
    mutate, needle, message = BROKEN[case]
    text = mutate(BASE)
    if case == "missing_section":
        expected = line_of(text, "---", 2) + 1  # the body's first line
    elif case == "no_front_matter":
        expected = 1
    else:
        expected = line_of(text, needle, NTH.get(case, 1))
    errors = validate_guide(text, "guides/1-01.md", known_items=CODES)
    assert len(errors) == 1, errors
    assert (errors[0].file, errors[0].line) == ("guides/1-01.md", expected)
    assert message in errors[0].message


def test_a_misspelt_key_is_unknown_where_it_stands_and_missing_at_the_top() -> None:
    text = BASE.replace("\nfees: ", "\nfeez: ")
    feez = next(k for k, ln in enumerate(text.split("\n"), start=1) if ln.startswith("feez: "))
    errors = validate_guide(text, "1-01.md", known_items=CODES)
    assert [(e.line, e.message.split("；")[0]) for e in errors] == [
        (1, "缺少必需字段「fees」。"),
        (feez, "未知字段「feez」"),
    ]


def test_item_must_exist_and_match_the_file_name() -> None:
    text = BASE.replace('item: "1-01"', 'item: "9-99"')
    errors = validate_guide(text, "9-99.md", known_items=CODES)
    assert errors == [
        GuideError("9-99.md", 2, "事项「9-99」不在事项清单（catalog.yaml）中。"),
    ]
    errors = validate_guide(BASE, "1-02.md", known_items=CODES)
    assert [(e.line, e.message) for e in errors] == [
        (2, "文件名应为「1-01.md」（与 item 一致），实际为「1-02.md」。")
    ]


def test_a_guide_without_any_required_material_is_refused() -> None:
    front = BASE.split("---\n")[1]
    data = yaml.safe_load(front)
    assert any(m["required"] for m in data["materials"])
    text = BASE.replace("    required: true", "    required: false")
    errors = validate_guide(text, "1-01.md", known_items=CODES)
    assert [(e.line, e.message) for e in errors] == [
        (line_of(text, "materials:"), "materials 至少须有一项必需材料（required: true）。")
    ]


def test_every_required_section_is_checked() -> None:
    for title in SECTIONS:
        text = BASE.replace(f"## {title}\n", f"### {title}\n")
        errors = validate_guide(text, "1-01.md", known_items=CODES)
        assert any(f"缺少必需章节「## {title}」" in e.message for e in errors), title


def test_a_folder_reports_each_file_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "1-01.md").write_text(BASE.replace("  accept: 2", "  accept: -2"), "utf-8")
    (tmp_path / "2-21.md").write_text(shipped("2-21"), "utf-8")
    broken = shipped("2-61").replace("results: [electronic, window]", "results: []")
    (tmp_path / "2-61.md").write_text(broken, "utf-8")
    (tmp_path / "notes.txt").write_text("not a guide", "utf-8")

    report = validate_folder(tmp_path, label="g")

    assert report.files == 3
    assert [(e.file, e.line) for e in report.errors] == [
        ("g/1-01.md", line_of(BASE, "  accept: 2")),
        ("g/2-61.md", line_of(broken, "results: []")),
    ]
    single = validate_folder(tmp_path / "1-01.md", label="one.md")
    assert [str(e).split(": ", 1)[0] for e in single.errors] == [
        f"one.md:{line_of(BASE, '  accept: 2')}"
    ]


def test_a_missing_guide_is_blamed_on_its_catalog_line(tmp_path: Path) -> None:
    shutil.copy(str(guide_folder() / "1-01.md"), tmp_path / "1-01.md")
    catalog_text = (files("tongban.docs") / "catalog.yaml").read_text(encoding="utf-8")
    index = catalog_index(catalog_text, file="docs/catalog.yaml")
    report = validate_folder(tmp_path, catalog=index, require_every_item=True, label="g")
    assert len(report.errors) == 139
    first = report.errors[0]
    assert (first.file, first.line) == (
        "docs/catalog.yaml",
        line_of(catalog_text, '- code: "1-02"'),
    )
    assert "1-02 学位公证" in first.message


# ---- the command ----------------------------------------------------------------------------


def test_validate_cli_passes_on_the_shipped_guides() -> None:
    result = CliRunner().invoke(app, ["guides", "validate"])
    assert result.exit_code == 0, result.output
    assert "140 份，错误 0 处" in result.output


def test_validate_cli_prints_file_line_message_and_fails(tmp_path: Path) -> None:
    text = BASE.replace("  decide: 15", "  decide: 0")
    (tmp_path / "1-01.md").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["guides", "validate", str(tmp_path)])
    assert result.exit_code == 1
    line = line_of(text, "  decide: 0")
    assert f"{tmp_path}/1-01.md:{line}: time_limits.decide（工作日） 须为正整数" in result.output
    assert "1 份，错误 1 处" in result.output
