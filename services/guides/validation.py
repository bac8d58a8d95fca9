"""Checks on operating guides (docs/operating_guides/<code>.md): schema, catalog, sections.

Pure: text in, errors out. Every error carries the file and the line of the offending front
matter key (from the YAML node marks) or body heading, printed as `file:line: message`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tongban.workflow.delivery import DELIVERY_LABELS
from tongban.workflow.guide import DECISION_KINDS
from tongban.workflow.modes import MODE_LABELS as CASE_MODE_LABELS
from tongban.workflow.stages import STAGE_LABELS, Stage

SECTIONS = (
    "申请条件",
    "申报方式",
    "受理模式",
    "审核程序",
    "办理时限",
    "发证方式",
    "收费标准",
    "申请材料",
)
MATERIALS_SECTION = "申请材料"
MODE_LABELS = {mode.value: label for mode, label in CASE_MODE_LABELS.items()}
CHANNEL_LABELS = {"window": "“跨省通办”专窗", "online": "网上申报"}
RESULT_LABELS = {method.value: label for method, label in DELIVERY_LABELS.items()}
STATUS_LABELS = {"complete": "正式指南", "default": "默认模板（待牵头单位补充完善）"}
REQUIRED_LIMITS = (Stage.FORWARD, Stage.ACCEPT, Stage.DECIDE, Stage.DELIVER)
LIMIT_STAGES = frozenset(stage.value for stage in Stage)

_TOP_REQUIRED = (
    "item",
    "version",
    "status",
    "modes",
    "conditions",
    "channels",
    "review",
    "time_limits",
    "results",
    "fees",
    "materials",
)
_TOP_KEYS = frozenset((*_TOP_REQUIRED, "defaults_notice", "decision"))
_MATERIAL_KEYS = ("code", "name", "required", "original", "copies", "e_licence")
# May be left out: `agent: true` asks for the material only when an agent appears;
# `paper: true` lets it travel on paper only, with no scan pushed (纸质件).
_OPTIONAL_MATERIAL_KEYS = ("agent", "paper")
_ITEM_CODE = re.compile(r"[1-9]-\d{2}")
_MATERIAL_CODE = re.compile(r"[a-z][a-z0-9_]*")
_FRONT_FIRST_LINE = 2  # the front matter text starts on the file's second line
# libyaml's loader when PyYAML was built with it (10x faster; the same node marks).
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, order=True)
class GuideError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    line: int  # of the entry in the catalog file


@dataclass(frozen=True)
class CatalogIndex:
    file: str
    items: Mapping[str, CatalogEntry]


def catalog_index(text: str | None = None, *, file: str = "catalog.yaml") -> CatalogIndex:
    """Codes, names and lines of the catalog entries (the packaged catalog by default)."""
    if text is None:
        text = (files("tongban.docs") / "catalog.yaml").read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=SAFE_LOADER)
    items: dict[str, CatalogEntry] = {}
    if isinstance(root, SequenceNode):
        for entry in root.value:
            if isinstance(entry, MappingNode):
                fields = {k.value: v.value for k, v in entry.value if isinstance(v, ScalarNode)}
                code = str(fields.get("code", ""))
                items[code] = CatalogEntry(str(fields.get("name", "")), entry.start_mark.line + 1)
    return CatalogIndex(file, items)


class _Checker:
    """Collects errors for one guide; `line(node)` maps a front matter node to a file line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[GuideError] = []

    def add(self, line: int, message: str) -> None:
        self.errors.append(GuideError(self.file, line, message))

    @staticmethod
    def line(node: Node) -> int:
        return node.start_mark.line + _FRONT_FIRST_LINE

    def mapping(self, node: MappingNode, where: str) -> dict[str, tuple[Node, Node]]:
        """Key -> (key node, value node); reports duplicate and non-string keys."""
        out: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if not (isinstance(key, ScalarNode) and key.tag == "tag:yaml.org,2002:str"):
                self.add(self.line(key), f"{where}的键须为字符串，实际为「{key.value}」。")
                continue
            if key.value in out:
                first = self.line(out[key.value][0])
                self.add(
                    self.line(key), f"{where}字段「{key.value}」重复（首次出现在第{first}行）。"
                )
                continue
            out[key.value] = (key, value)
        return out

    def text(self, key: str, node: Node, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            self.add(self.line(node), f"{key} 须为非空文字。")

    def positive_int(self, key: str, node: Node, value: Any) -> None:
        if type(value) is not int or value <= 0:
            self.add(self.line(node), f"{key} 须为正整数，实际为「{_show(value)}」。")

    def flag(self, key: str, node: Node, value: Any) -> None:
        if type(value) is not bool:
            self.add(self.line(node), f"{key} 须为 true 或 false，实际为「{_show(value)}」。")

    def choices(
        self, key: str, key_node: Node, node: Node, value: Any, allowed: Mapping[str, str]
    ) -> None:
        """A non-empty list of distinct values from `allowed`; element errors on their own line."""
        if not isinstance(value, list) or not value or not isinstance(node, SequenceNode):
            self.add(self.line(key_node), f"{key} 须为非空列表，可选：{_options(allowed)}。")
            return
        seen: set[Any] = set()
        for element, element_node in zip(value, node.value, strict=True):
            if not isinstance(element, str) or element not in allowed:
                self.add(
                    self.line(element_node),
                    f"{key}：「{_show(element)}」不是可选值；可选：{_options(allowed)}。",
                )
            elif element in seen:
                self.add(self.line(element_node), f"{key}：「{element}」重复。")
            seen.add(element if isinstance(element, str) else repr(element))


def _show(value: Any) -> str:
    if value is None:
        return "空"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _options(allowed: Mapping[str, str]) -> str:
    return "、".join(f"{k}（{v}）" for k, v in allowed.items())


@dataclass(frozen=True)
class _Section:
    title: str
    line: int
    text: str  # the section's lines up to the next heading


def _split(text: str) -> tuple[list[str], int] | str:
    """(front matter lines, index of the closing ---) or a message about a missing marker."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return "操作指南须以 YAML 前言开头：第一行应为「---」。"
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return lines, i
    return "YAML 前言缺少结束标记：前言之后应有一行「---」。"


def _sections(lines: list[str], first: int) -> Iterator[_Section]:
    """The `## ` sections of the body, whose first line is lines[first]."""
    heads = [i for i in range(first, len(lines)) if lines[i].startswith("## ")]
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(lines)
        yield _Section(lines[i][3:].strip(), i + 1, "\n".join(lines[i + 1 : end]))


def validate_guide(
    text: str,
    file: str,
    *,
    known_items: Collection[str] | None = None,
    file_name: str | None = None,
) -> list[GuideError]:
    """Every error in one guide, sorted by line. `file` names it in the messages;
    `file_name` (default: the last part of `file`) must be `<item code>.md`.
    `known_items` are the catalog codes (None: skip that check)."""
    check = _Checker(file)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    split = _split(text)
    if isinstance(split, str):
        check.add(1, split)
        return check.errors
    lines, close = split
    loader = SAFE_LOADER("\n".join(lines[1:close]))
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + _FRONT_FIRST_LINE if mark is not None else 1
        message = f"YAML 语法错误：{err.problem or err.context}"
        if err.context and err.context_mark is not None and err.problem:
            message += f"（{err.context}，始于第{err.context_mark.line + _FRONT_FIRST_LINE}行）"
        check.add(line, message + "。")
        return check.errors
    finally:
        loader.dispose()
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        check.add(_FRONT_FIRST_LINE, "YAML 前言须为「字段: 值」的映射。")
        return check.errors
    sections = list(_sections(lines, close + 1))
    name = file_name if file_name is not None else Path(file).name
    _check_front(check, check.mapping(root, ""), data, name, known_items, sections)
    _check_body(check, lines, close, sections, data)
    return sorted(check.errors)


def _check_decision(check: _Checker, at: Node, value: Any) -> None:
    """`decision`: general | licence, or {approve: …, refuse: …} in the item's own words."""
    if isinstance(value, str) and value in DECISION_KINDS:
        return
    if (
        isinstance(value, dict)
        and set(value) == {"approve", "refuse"}
        and all(isinstance(v, str) and 0 < len(v.strip()) <= 20 for v in value.values())
    ):
        return
    check.add(
        check.line(at),
        "decision 须为 general（准予办理/不予办理）、licence（准予许可/不予许可），"
        "或 {approve: 准予时的称谓, refuse: 不予时的称谓}（各20字以内）。",
    )


def _check_front(
    check: _Checker,
    keys: dict[str, tuple[Node, Node]],
    data: dict[str, Any],
    file_name: str,
    known_items: Collection[str] | None,
    sections: list[_Section],
) -> None:
    for key in keys.keys() - _TOP_KEYS:
        check.add(
            check.line(keys[key][0]),
            f"未知字段「{key}」；可用字段：{'、'.join(sorted(_TOP_KEYS))}。",
        )
    for key in _TOP_REQUIRED:
        if key not in keys:
            check.add(1, f"缺少必需字段「{key}」。")

    def node(key: str) -> Node | None:
        return keys[key][1] if key in keys else None

    if (n := node("item")) is not None:
        item = data["item"]
        if not isinstance(item, str) or not _ITEM_CODE.fullmatch(item):
            check.add(
                check.line(n), f'item 须为带引号的事项编码，如 "1-01"，实际为「{_show(item)}」。'
            )
        else:
            if known_items is not None and item not in known_items:
                check.add(check.line(n), f"事项「{item}」不在事项清单（catalog.yaml）中。")
            if file_name != f"{item}.md":
                check.add(
                    check.line(n),
                    f"文件名应为「{item}.md」（与 item 一致），实际为「{file_name}」。",
                )
    if (n := node("version")) is not None:
        check.positive_int("version", n, data["version"])
    if (n := node("decision")) is not None:
        _check_decision(check, n, data["decision"])
    status = data.get("status") if node("status") is not None else None
    if (n := node("status")) is not None and status not in STATUS_LABELS:
        check.add(
            check.line(n),
            f"status：「{_show(status)}」不是可选值；可选：{_options(STATUS_LABELS)}。",
        )
    if (n := node("defaults_notice")) is not None:
        check.text("defaults_notice", n, data["defaults_notice"])
        if status == "complete":
            check.add(
                check.line(n),
                "正式指南（status: complete）不得保留 defaults_notice（默认模板提示）。",
            )
    elif status == "default":
        check.add(
            check.line(keys["status"][0]),
            "默认模板（status: default）须有 defaults_notice，写明内容待牵头单位补充完善。",
        )
    for key, allowed in (
        ("modes", MODE_LABELS),
        ("channels", CHANNEL_LABELS),
        ("results", RESULT_LABELS),
    ):
        if key in keys:
            check.choices(key, *keys[key], data[key], allowed)
    for key in ("conditions", "review", "fees"):
        if (n := node(key)) is not None:
            check.text(key, n, data[key])
    if "time_limits" in keys:
        _check_limits(check, *keys["time_limits"], data["time_limits"])
    if "materials" in keys:
        body = next((s for s in sections if s.title == MATERIALS_SECTION), None)
        _check_materials(check, *keys["materials"], data["materials"], body)


def _check_limits(check: _Checker, at: Node, node: Node, value: Any) -> None:
    if not isinstance(node, MappingNode) or not isinstance(value, dict):
        check.add(check.line(at), "time_limits 须为「环节: 工作日数」的映射。")
        return
    keys = check.mapping(node, "time_limits ")
    for stage in REQUIRED_LIMITS:
        if stage.value not in keys:
            check.add(check.line(at), f"time_limits 缺少环节「{stage.value}」。")
    for key, (key_node, value_node) in keys.items():
        if key not in LIMIT_STAGES:
            options = "、".join(f"{s.value}（{STAGE_LABELS[s]}）" for s in Stage)
            check.add(check.line(key_node), f"time_limits：未知环节「{key}」；可选：{options}。")
        else:
            check.positive_int(f"time_limits.{key}（工作日）", value_node, value[key])


def _check_materials(
    check: _Checker, at: Node, node: Node, value: Any, section: _Section | None
) -> None:
    if not isinstance(node, SequenceNode) or not isinstance(value, list) or not value:
        check.add(check.line(at), "materials 须为非空的材料列表。")
        return
    first_line: dict[str, int] = {}
    for k, (m_node, m) in enumerate(zip(node.value, value, strict=True), start=1):
        where = f"materials 第{k}项"
        if not isinstance(m_node, MappingNode) or not isinstance(m, dict):
            check.add(check.line(m_node), f"{where}须为映射（code、name、required …）。")
            continue
        keys = check.mapping(m_node, f"{where} ")
        for key in keys.keys() - {*_MATERIAL_KEYS, *_OPTIONAL_MATERIAL_KEYS}:
            known = "、".join((*_MATERIAL_KEYS, *_OPTIONAL_MATERIAL_KEYS))
            check.add(check.line(keys[key][0]), f"{where}：未知字段「{key}」；可用：{known}。")
        for key in _MATERIAL_KEYS:
            if key not in keys:
                check.add(check.line(m_node), f"{where}缺少字段「{key}」。")
        code = m.get("code")
        if "code" in keys:
            code_node = keys["code"][1]
            if not isinstance(code, str) or not _MATERIAL_CODE.fullmatch(code):
                check.add(
                    check.line(code_node),
                    f"{where}：code 须为小写字母、数字和下划线，实际为「{_show(code)}」。",
                )
            elif code in first_line:
                check.add(
                    check.line(code_node),
                    f"材料代码「{code}」重复（首次出现在第{first_line[code]}行）。",
                )
            else:
                first_line[code] = check.line(code_node)
                if section is not None and code not in section.text:
                    check.add(
                        check.line(code_node),
                        f"材料「{code}」未列入正文「## {MATERIALS_SECTION}」一节。",
                    )
        if "name" in keys:
            check.text(f"{where} name", keys["name"][1], m["name"])
        for key in ("required", "original", "e_licence", "agent", "paper"):
            if key in keys:
                check.flag(f"{where} {key}", keys[key][1], m[key])
        if "copies" in keys:
            check.positive_int(f"{where} copies（份数）", keys["copies"][1], m["copies"])
    if not any(isinstance(m, dict) and m.get("required") is True for m in value):
        check.add(check.line(at), "materials 至少须有一项必需材料（required: true）。")


def _check_body(
    check: _Checker, lines: list[str], close: int, sections: list[_Section], data: dict[str, Any]
) -> None:
    body_line = close + 2  # first line after the closing ---
    seen: dict[str, int] = {}
    for section in sections:
        if section.title in seen:
            check.add(
                section.line,
                f"章节「## {section.title}」重复（首次出现在第{seen[section.title]}行）。",
            )
            continue
        seen[section.title] = section.line
        if section.title in SECTIONS and not section.text.strip():
            check.add(section.line, f"章节「## {section.title}」没有内容。")
    for title in SECTIONS:
        if title not in seen:
            check.add(body_line, f"正文缺少必需章节「## {title}」。")
    notice = data.get("defaults_notice")
    if data.get("status") == "default" and isinstance(notice, str) and notice.strip():
        top = next((line for line in lines[close + 1 :] if line.strip()), "")
        if notice.strip() not in top:
            check.add(body_line, "默认模板的正文第一段须醒目显示 defaults_notice 的提示原文。")


def guide_paths(folder: Traversable) -> list[Traversable]:
    """The guide files of a folder (or the one file given), sorted by name."""
    if folder.is_file():
        return [folder]
    return sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)


@dataclass(frozen=True)
class ValidationReport:
    files: int
    errors: list[GuideError]


def validate_folder(
    folder: Traversable,
    *,
    catalog: CatalogIndex | None = None,
    require_every_item: bool = False,
    label: str | None = None,
) -> ValidationReport:
    """Validate every guide in `folder` (or the single guide file it names).

    `label` is how the folder is named in messages (default: str(folder)). With
    `require_every_item`, a catalog item without a guide is an error at its catalog line.
    """
    catalog = catalog or catalog_index()
    prefix = label if label is not None else str(folder)
    paths = guide_paths(folder)
    errors: list[GuideError] = []
    for path in paths:
        shown = prefix if folder.is_file() else f"{prefix.rstrip('/')}/{path.name}"
        text = path.read_text(encoding="utf-8")
        errors += validate_guide(text, shown, known_items=catalog.items, file_name=path.name)
    if require_every_item and not folder.is_file():
        have = {p.name.removesuffix(".md") for p in paths}
        for code, entry in catalog.items.items():
            if code not in have:
                errors.append(
                    GuideError(
                        catalog.file,
                        entry.line,
                        f"事项「{code} {entry.name}」没有操作指南 {prefix.rstrip('/')}/{code}.md；"
                        "运行 tongban guides scaffold 生成默认模板。",
                    )
                )
    return ValidationReport(len(paths), errors)
