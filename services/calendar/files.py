"""Calendar files an administrator imports: one year's holidays (休) and make-up working
days (调休上班) as CSV or YAML, checked line by line before anything is stored."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from ..core.errors import InvalidInput

WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

_HOLIDAY_WORDS = {"holiday", "off", "休", "假", "放假"}
_WORKDAY_WORDS = {"workday", "work", "班", "上班", "调休上班"}


@dataclass(frozen=True)
class DayEntry:
    day: date
    working: bool  # False: holiday; True: a weekend made a working day (调休上班)
    name: str
    line: int


@dataclass(frozen=True)
class CalendarFile:
    """A validated year of holidays and make-up working days."""

    year: int
    days: tuple[DayEntry, ...]
    source: str

    @property
    def holidays(self) -> int:
        return sum(1 for d in self.days if not d.working)

    @property
    def workdays(self) -> int:
        return sum(1 for d in self.days if d.working)


class CalendarFileInvalid(InvalidInput):
    """Every problem found in a calendar file, each as `file:line: message`."""

    code = "calendar.invalid"

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("日历文件有误：\n" + "\n".join(errors), errors=list(errors))
        self.errors = list(errors)


class _Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._found: list[tuple[int, int, str]] = []

    def error(self, line: int, message: str) -> None:
        self._found.append((line, len(self._found), message))

    @property
    def errors(self) -> list[str]:
        """`file:line: message`, in line order."""
        return [f"{self.name}:{line}: {message}" for line, _, message in sorted(self._found)]


def _parse_date(text: str, check: _Checker, line: int) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        check.error(line, f"日期「{text.strip()}」无法识别，应为 YYYY-MM-DD，例如 2027-01-01。")
        return None


def _parse_year(text: str, check: _Checker, line: int) -> int | None:
    text = text.strip()
    if not (text.isdigit() and len(text) == 4 and 1900 <= int(text) <= 2200):
        check.error(line, f"年份「{text}」无法识别，应为四位数字，例如 2027。")
        return None
    return int(text)


def _kind(text: str, check: _Checker, line: int) -> bool | None:
    word = text.strip().lower()
    if word in _HOLIDAY_WORDS:
        return False
    if word in _WORKDAY_WORDS:
        return True
    check.error(line, f"类型「{text.strip()}」无法识别，应为 holiday（休）或 workday（班）。")
    return None


def _validate(
    check: _Checker, year: int | None, stated_at: int, entries: list[DayEntry], cli_year: int | None
) -> CalendarFile:
    if year is None and cli_year is None:
        check.error(stated_at, "未写明年份：CSV 首行写 `year,2027`，YAML 写 `year: 2027`。")
    elif year is not None and cli_year is not None and year != cli_year:
        check.error(stated_at, f"文件写明的年份 {year} 与命令行指定的 {cli_year} 不一致。")
    year = year if year is not None else cli_year
    seen: dict[date, int] = {}
    for entry in entries:
        d = entry.day
        if year is not None and d.year != year:
            check.error(entry.line, f"{d.isoformat()} 不在 {year} 年内。")
        if d in seen:
            check.error(entry.line, f"{d.isoformat()} 重复：第 {seen[d]} 行已列出。")
        else:
            seen[d] = entry.line
        if entry.working and d.weekday() < 5:
            check.error(
                entry.line,
                f"{d.isoformat()} 是{WEEKDAY_LABELS[d.weekday()]}，本就是工作日，"
                "不能列为调休上班日（只有周六、周日可以调成工作日）。",
            )
    if not entries and not check.errors:
        check.error(stated_at, "没有列出任何节假日或调休上班日。")
    if check.errors:
        raise CalendarFileInvalid(check.errors)
    assert year is not None
    days = tuple(sorted(entries, key=lambda e: e.day))
    return CalendarFile(year=year, days=days, source=check.name)


def parse_calendar_csv(text: str, *, name: str, year: int | None = None) -> CalendarFile:
    """CSV: a first row `year,2027`, an optional header `date,kind,name`, then one row a day:
    `2027-01-01,holiday,元旦` or `2027-02-20,workday,春节调休`. `#` starts a comment line."""
    check = _Checker(name)
    stated: int | None = None
    stated_at = 1
    entries: list[DayEntry] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        head = cells[0].lower().lstrip("\ufeff")
        if head == "year":
            if stated is not None or entries:
                check.error(line_no, "年份只能在文件开头写一次。")
                continue
            stated_at = line_no
            stated = _parse_year(cells[1] if len(cells) > 1 else "", check, line_no)
            continue
        if head == "date":
            continue  # the header row
        if len(cells) < 2 or len(cells) > 3:
            check.error(line_no, f"应为「日期,类型[,名称]」三列，实为 {len(cells)} 列。")
            continue
        day = _parse_date(cells[0].lstrip("\ufeff"), check, line_no)
        working = _kind(cells[1], check, line_no)
        if day is not None and working is not None:
            entries.append(DayEntry(day, working, cells[2] if len(cells) == 3 else "", line_no))
    return _validate(check, stated, stated_at, entries, year)


def _yaml_days(node: yaml.Node, working: bool, check: _Checker) -> Iterator[DayEntry]:
    if not isinstance(node, yaml.SequenceNode):
        check.error(node.start_mark.line + 1, "应为列表（每项以 - 开头）。")
        return
    for item in node.value:
        line = item.start_mark.line + 1
        if isinstance(item, yaml.ScalarNode):
            day = _parse_date(item.value, check, line)
            if day is not None:
                yield DayEntry(day, working, "", line)
            continue
        if not isinstance(item, yaml.MappingNode):
            check.error(line, "每项应为日期，或含 date（或 from/to）与 name 的映射。")
            continue
        fields = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        unknown = sorted(set(fields) - {"date", "from", "to", "name"})
        if unknown:
            check.error(line, f"未知字段：{'、'.join(unknown)}（可用 date、from、to、name）。")
            continue
        name_node = fields.get("name")
        name = str(name_node.value) if isinstance(name_node, yaml.ScalarNode) else ""
        if "date" in fields and not ({"from", "to"} & fields.keys()):
            day = _parse_date(str(fields["date"].value), check, line)
            if day is not None:
                yield DayEntry(day, working, name, line)
        elif {"from", "to"} <= fields.keys() and "date" not in fields:
            first = _parse_date(str(fields["from"].value), check, line)
            last = _parse_date(str(fields["to"].value), check, line)
            if first is None or last is None:
                continue
            if last < first or (last - first).days > 31:
                check.error(line, f"区间 {first} 至 {last} 无效（须先早后晚，且不超过一个月）。")
                continue
            for i in range((last - first).days + 1):
                yield DayEntry(first + timedelta(days=i), working, name, line)
        else:
            check.error(line, "每项须有 date，或同时有 from 和 to。")


def parse_calendar_yaml(text: str, *, name: str, year: int | None = None) -> CalendarFile:
    """YAML: `year: 2027`, `holidays:` and `workdays:` lists. An item is a date, a mapping
    `{date: 2027-01-01, name: 元旦}`, or a range `{from: 2027-02-06, to: 2027-02-14}`."""
    check = _Checker(name)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CalendarFileInvalid([f"{name}:{line}: YAML 格式有误：{err}"]) from None
    if not isinstance(root, yaml.MappingNode):
        raise CalendarFileInvalid([f"{name}:1: 应为含 year、holidays、workdays 的映射。"])
    stated: int | None = None
    stated_at = 1
    entries: list[DayEntry] = []
    for key, value in root.value:
        line = key.start_mark.line + 1
        field = key.value if isinstance(key, yaml.ScalarNode) else ""
        if field == "year":
            stated_at = line
            stated = _parse_year(str(value.value), check, line)
        elif field == "holidays":
            entries.extend(_yaml_days(value, False, check))
        elif field == "workdays":
            entries.extend(_yaml_days(value, True, check))
        else:
            check.error(line, f"未知字段「{field}」（可用 year、holidays、workdays）。")
    return _validate(check, stated, stated_at, entries, year)


def read_calendar_file(path: Path, *, year: int | None = None) -> CalendarFile:
    """Parse a .csv or .yaml/.yml calendar file; CalendarFileInvalid lists every problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{path}: 无法读取日历文件：{err}", code="calendar.unreadable") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return parse_calendar_csv(text, name=str(path), year=year)
    if suffix in (".yaml", ".yml"):
        return parse_calendar_yaml(text, name=str(path), year=year)
    raise InvalidInput(
        f"{path}: 无法识别的文件类型「{suffix}」，应为 .csv、.yaml 或 .yml。",
        code="calendar.unreadable",
    )
