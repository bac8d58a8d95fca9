"""The working-day calendar services compute deadlines with, and the admin's calendar files.

Sources, in order (see workflow.calendar): the years an administrator imported
(`tongban calendar import`), the chinese-calendar package, then weekends-only with every
deadline that needed it flagged uncertain.

`calendar_for(session)` is on the path of every case action, so the admin data is cached per
engine and keyed by a version number kept in the settings table. A process re-reads that
row (a primary-key lookup) at most every RECHECK_SECONDS and reloads the days only when an
import moved the version; an import in the same process drops the cache at once. Clocks that
another process computed on its older copy in between are recomputed by the sweeper
(`reconcile_imports`), so no deadline stays on a superseded calendar.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from weakref import WeakKeyDictionary

import chinese_calendar  # type: ignore[import-untyped]
import structlog
import yaml
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.orm import Session

from tongban.models import CalendarDay, CalendarYear, Setting
from tongban.workflow.calendar import SHANGHAI, CalendarData, Source, WorkCalendar

from .errors import InvalidInput
from .uow import UnitOfWork

log = structlog.get_logger("tongban.calendar")

VERSION_KEY = "calendar.version"
RECONCILED_KEY = "calendar.reconciled"
# A process re-reads the calendar version at most this often (an import in the same
# process is seen at once). Clocks another process computes on its older copy in that
# window are put right by the sweeper (`reconcile_imports`) once the import has settled.
RECHECK_SECONDS = 5.0
_PACKAGE_ONLY = WorkCalendar()

_HOLIDAY_NAMES: dict[str, str] = {h.value: h.chinese for h in chinese_calendar.Holiday}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


# --- the calendar in force -----------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    version: str | None
    calendar: WorkCalendar
    checked_at: float  # time.monotonic() of the last version check


_cache: WeakKeyDictionary[Engine, _Cached] = WeakKeyDictionary()
_cache_lock = threading.Lock()


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _version(session: Session) -> str | None:
    return session.execute(
        select(Setting.value).where(Setting.key == VERSION_KEY)
    ).scalar_one_or_none()


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar from the database as it stands in this transaction (no cache)."""
    days = {row.day: row.working for row in session.scalars(select(CalendarDay))}
    years = frozenset(session.scalars(select(CalendarYear.year)))
    if not days and not years:
        return _PACKAGE_ONLY
    return WorkCalendar(CalendarData(days=days, years=years))


def calendar_for(session: Session) -> WorkCalendar:
    """The calendar in force: admin-imported years, then the package, then weekends only."""
    engine = _engine_of(session)
    cached = _cache.get(engine)
    checked = time.monotonic()
    if cached is not None and checked - cached.checked_at < RECHECK_SECONDS:
        return cached.calendar
    # Read the version before the days: if an import commits in between, the entry is
    # cached under the older version and the next check reloads it.
    version = _version(session)
    if cached is not None and cached.version == version:
        calendar = cached.calendar
    else:
        calendar = _PACKAGE_ONLY if version is None else load_calendar(session)
    with _cache_lock:
        _cache[engine] = _Cached(version, calendar, checked)
    return calendar


def forget_cached_calendar(engine: Engine) -> None:
    with _cache_lock:
        _cache.pop(engine, None)


# --- calendar files ------------------------------------------------------------------------

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


# --- import and show -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    year: int
    holidays: int
    workdays: int
    replaced: bool  # the year had been imported before
    clocks_rescheduled: int


def _bump_version(session: Session) -> int:
    row = session.scalars(
        select(Setting).where(Setting.key == VERSION_KEY).with_for_update()
    ).one_or_none()
    if row is None:
        row = Setting(key=VERSION_KEY, value="0")
        session.add(row)
        session.add(Setting(key=RECONCILED_KEY, value="0"))
    row.value = str(int(row.value) + 1)
    return int(row.value)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first and last instants (exclusive) of a Shanghai calendar year."""
    return (
        datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC),
        datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC),
    )


def import_calendar(uow: UnitOfWork, calendar: CalendarFile, *, now: datetime) -> ImportReport:
    """Replace one year's calendar, and move every running clock that runs through it.

    Clocks computed on the weekends-only guess stop being uncertain once their dates are
    known; their due and warning instants move to what the imported calendar says.
    """
    from .clocks import reschedule_running  # clocks imports this module

    with uow:
        session = uow.session
        version = _bump_version(session)
        existing = session.get(CalendarYear, calendar.year)
        replaced = existing is not None
        session.execute(delete(CalendarDay).where(CalendarDay.year == calendar.year))
        session.add_all(
            CalendarDay(day=d.day, year=calendar.year, working=d.working, name=d.name)
            for d in calendar.days
        )
        if existing is None:
            existing = CalendarYear(year=calendar.year)
            session.add(existing)
        existing.loaded_at = now
        existing.source = calendar.source[-255:]
        existing.holidays = calendar.holidays
        existing.workdays = calendar.workdays
        existing.version = version
        session.flush()
        start, end = year_bounds(calendar.year)
        moved = reschedule_running(session, load_calendar(session), start=start, end=end)
        uow.commit()
        engine = _engine_of(session)
    forget_cached_calendar(engine)
    report = ImportReport(
        year=calendar.year,
        holidays=calendar.holidays,
        workdays=calendar.workdays,
        replaced=replaced,
        clocks_rescheduled=moved,
    )
    log.info(
        "calendar.import",
        year=calendar.year,
        source=calendar.source,
        holidays=report.holidays,
        workdays=report.workdays,
        clocks_rescheduled=moved,
    )
    return report


def reconcile_imports(session: Session, *, now: datetime) -> int:
    """Recompute running clocks through the years imported since the last reconcile, once
    every such import is older than twice RECHECK_SECONDS (when no process can still be
    computing on the calendar before it). Returns the clocks recomputed; the sweeper calls
    this each round, and it costs two primary-key reads when there is nothing to do."""
    from .clocks import reschedule_running  # clocks imports this module

    current = _version(session)
    if current is None:
        return 0
    row = session.scalars(
        select(Setting).where(Setting.key == RECONCILED_KEY).with_for_update()
    ).one_or_none()
    done = int(row.value) if row is not None else 0
    if done >= int(current):
        return 0
    years = session.scalars(
        select(CalendarYear).where(CalendarYear.version > done).order_by(CalendarYear.year)
    ).all()
    settle = timedelta(seconds=2 * RECHECK_SECONDS)
    if any(y.loaded_at > now - settle for y in years):
        return 0  # a process may still hold the older calendar: next round
    cal = load_calendar(session)
    moved = 0
    for y in years:
        start, end = year_bounds(y.year)
        moved += reschedule_running(session, cal, start=start, end=end)
    if row is None:
        session.add(Setting(key=RECONCILED_KEY, value=current))
    else:
        row.value = current
    log.info("calendar.reconciled", version=current, clocks_rescheduled=moved)
    return moved


@dataclass(frozen=True)
class ShownDay:
    day: date
    working: bool
    name: str
    source: Source


@dataclass(frozen=True)
class YearView:
    year: int
    source: Source  # admin: imported; package: chinese-calendar; fallback: weekends only
    loaded_at: datetime | None
    loaded_from: str | None
    # Dates whose status differs from the plain Monday-to-Friday rule, in date order.
    exceptions: tuple[ShownDay, ...]
    # Every date of the year with its status, for a month grid.
    days: tuple[ShownDay, ...]


def show_year(session: Session, year: int) -> YearView:
    cal = load_calendar(session)
    loaded = session.get(CalendarYear, year)
    names = {
        row.day: row.name
        for row in session.scalars(select(CalendarDay).where(CalendarDay.year == year))
    }
    shown: list[ShownDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        info = cal.day_kind(day)
        name = names.get(day) or _HOLIDAY_NAMES.get(info.name or "", info.name or "")
        shown.append(ShownDay(day, info.working, name, info.source))
        day += timedelta(days=1)
    source: Source
    if loaded is not None:
        source = "admin"
    elif _PACKAGE_ONLY.is_known(date(year, 7, 1)):
        source = "package"
    else:
        source = "fallback"
    return YearView(
        year=year,
        source=source,
        loaded_at=loaded.loaded_at if loaded else None,
        loaded_from=loaded.source if loaded else None,
        exceptions=tuple(d for d in shown if d.working != (d.day.weekday() < 5)),
        days=tuple(shown),
    )


SOURCE_LABELS: dict[str, str] = {
    "admin": "管理员导入",
    "package": "chinese-calendar 软件包",
    "fallback": "无数据，仅按周末推算（期限标记为“日历未确认”）",
}
