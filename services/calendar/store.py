"""The working-day calendar in force, and the administrator's imports.

Sources, in order (see workflow.calendar): the years an administrator imported
(`tongban calendar import`), the chinese-calendar package, then weekends-only with every
deadline that needed it flagged uncertain.

`calendar_for(uow)` is on the path of every case action, so the admin data is cached on the
runtime and keyed by a version number kept in the settings table. A process re-reads that
row (a primary-key lookup) at most every RECHECK_SECONDS and reloads the days only when an
import moved the version; an import through the same runtime drops the cache at once.
Deadlines that another process computed on its older copy in between are recomputed by the
sweeper (`reconcile_imports`), so no deadline stays on a superseded calendar.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import chinese_calendar  # type: ignore[import-untyped]
import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tongban.models import CalendarDay, CalendarYear, Setting
from tongban.workflow.calendar import (
    SHANGHAI,
    CalendarData,
    Source,
    WorkCalendar,
    day_after,
    due_date,
    local_date,
    period_due,
)

from ..core.errors import InvalidInput
from ..core.uow import UnitOfWork
from ..deadlines.ops import reschedule_running
from .files import CalendarFile

log = structlog.get_logger("tongban.calendar")

VERSION_KEY = "calendar.version"
RECONCILED_KEY = "calendar.reconciled"
# A process re-reads the calendar version at most this often (an import through the same
# runtime is seen at once). Deadlines another process computes on its older copy in that
# window are put right by the sweeper (`reconcile_imports`) once the import has settled.
RECHECK_SECONDS = 5.0
_PACKAGE_ONLY = WorkCalendar()

_HOLIDAY_NAMES: dict[str, str] = {h.value: h.chinese for h in chinese_calendar.Holiday}


# --- the calendar in force -----------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    version: str | None
    calendar: WorkCalendar
    checked_at: float  # time.monotonic() of the last version check


class CalendarCache:
    """One runtime's copy of the calendar in force (threads of one process share it)."""

    def __init__(self) -> None:
        self._entry: _Cached | None = None
        self._lock = threading.Lock()

    def get(self, uow: UnitOfWork) -> WorkCalendar:
        cached = self._entry
        checked = time.monotonic()
        if cached is not None and checked - cached.checked_at < RECHECK_SECONDS:
            return cached.calendar
        session = uow.session
        # Read the version before the days: if an import commits in between, the entry is
        # cached under the older version and the next check reloads it.
        version = _version(session)
        if cached is not None and cached.version == version:
            calendar = cached.calendar
        else:
            calendar = _PACKAGE_ONLY if version is None else load_calendar(session)
        with self._lock:
            self._entry = _Cached(version, calendar, checked)
        return calendar

    def forget(self) -> None:
        with self._lock:
            self._entry = None


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


def calendar_for(uow: UnitOfWork) -> WorkCalendar:
    """The calendar in force, in `uow`'s open transaction: admin-imported years, then the
    package, then weekends only."""
    return uow.rt.calendars.get(uow)


# --- import and show -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    year: int
    holidays: int
    workdays: int
    replaced: bool  # the year had been imported before
    deadlines_rescheduled: int


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
    """Replace one year's calendar, and move every running deadline that runs through it.

    Deadlines computed on the weekends-only guess stop being uncertain once their dates are
    known; their due and warning instants move to what the imported calendar says.
    """
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
        moved = reschedule_running(
            session, load_calendar(session), uow.rt.warning_share, start=start, end=end
        )
        uow.commit()
    uow.rt.calendars.forget()
    report = ImportReport(
        year=calendar.year,
        holidays=calendar.holidays,
        workdays=calendar.workdays,
        replaced=replaced,
        deadlines_rescheduled=moved,
    )
    log.info(
        "calendar.import",
        year=calendar.year,
        source=calendar.source,
        holidays=report.holidays,
        workdays=report.workdays,
        deadlines_rescheduled=moved,
    )
    return report


def reconcile_imports(uow: UnitOfWork, *, now: datetime) -> int:
    """Recompute running deadlines through the years imported since the last reconcile, once
    every such import is older than twice RECHECK_SECONDS (when no process can still be
    computing on the calendar before it). Returns the deadlines recomputed; the sweeper calls
    this each round in its own transaction, and it costs two primary-key reads when there is
    nothing to do."""
    session = uow.session
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
        moved += reschedule_running(session, cal, uow.rt.warning_share, start=start, end=end)
    if row is None:
        session.add(Setting(key=RECONCILED_KEY, value=current))
    else:
        row.value = current
    log.info("calendar.reconciled", version=current, deadlines_rescheduled=moved)
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


def show_year(uow: UnitOfWork, year: int) -> YearView:
    """Every date of `year` with its status and where that comes from."""
    with uow.reading():
        return _year(uow.session, year)


def _year(session: Session, year: int) -> YearView:
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


# --- one period ----------------------------------------------------------------------------

MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class PeriodAnswer:
    """When a period of `days` working days started by an act at `act` ends."""

    act: datetime
    days: int
    starts_on: date  # the first day counted (the day after the act)
    due: datetime  # 24:00 of the last working day, as 00:00 of the next date
    last_day: date
    unconfirmed: tuple[date, ...]  # dates guessed Monday-to-Friday (first few)


def period_of(uow: UnitOfWork, act: datetime, days: int) -> PeriodAnswer:
    """The due instant of `days` working days from an act at `act`, by the calendar in force."""
    if not 0 <= days <= MAX_PERIOD_DAYS:
        raise InvalidInput(f"工作日数：应在 0 到 {MAX_PERIOD_DAYS} 之间。", field="days")
    if act.tzinfo is None:
        raise InvalidInput("起算时间：须带时区，例如 2026-03-10T10:00+08:00。", field="start")
    with uow.reading():
        cal = calendar_for(uow)
    reckoning = period_due(cal, act, days)
    return PeriodAnswer(
        act=act,
        days=days,
        starts_on=day_after(act).date(),
        due=reckoning.instant,
        last_day=due_date(reckoning.instant) if days else local_date(act),
        unconfirmed=reckoning.uncertain_dates,
    )
