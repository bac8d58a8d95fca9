"""Working-day arithmetic for the mainland China calendar.

Pure: no database, no HTTP, no wall clock. Every instant is passed in by the caller.

Model ("working seconds"): a limit of N working days is N x 86,400 seconds of *working
time*, and working time is every second whose local (Asia/Shanghai) date is a working day.

Periods count as the law counts them (民法典 第二百零一条、第二百零三条; 行政许可法 第八十二条):
the day of the act does not count, the period starts at 00:00 of the next day and ends at
24:00 of its Nth working day (``period_due``). An act on Tuesday 2026-03-10 10:00 with 3 working
days is due 2026-03-14 00:00 (the end of Friday). Time used is counted in whole days too
(``days_used``): every day from the day after the start up to and including the day of the
question, so banked time is always a whole number of working days.

Whether a date is a working day comes from, in order:

1. ``CalendarData`` loaded by an administrator (explicit dates, then fully loaded years);
2. the ``chinesecalendar`` package, for the years it has data for;
3. a Monday-to-Friday fallback, which marks every result that needed it as *uncertain*.

Choices the callers rely on:

- Sub-second parts of every input are dropped (floored), so all counts are exact integers
  and ``working_seconds_between(s, add_working_seconds(s, n).instant).seconds == n``.
- ``add_working_seconds(cal, s, 0)`` returns ``s`` itself (in Shanghai time), even when ``s``
  falls on a non-working day: zero time to add means nothing moves.
- A result landing exactly at the end of a working day is the following midnight (00:00 of
  the next date); ``due_date`` maps that midnight back to the working day it closes.
- Days are taken to be 24 hours long, which holds for Asia/Shanghai since 1991.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECONDS_PER_DAY = 86_400

Source = Literal["admin", "package", "fallback"]

_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_MAX_UNCERTAIN_DATES = 5
# A float such as 2/3 is not exactly two thirds; snapping it to a nearby small fraction makes
# ``warning_instant`` land on the second a person would compute by hand.
_FRACTION_MAX_DENOMINATOR = 1_000_000


@dataclass(frozen=True)
class CalendarData:
    """Administrator-loaded calendar facts, which take precedence over the package.

    ``days`` maps a date to True (working, e.g. a 调休 make-up Saturday) or False (holiday).
    ``years`` lists years loaded in full: their dates missing from ``days`` follow the plain
    weekday/weekend rule, even where the package says otherwise. A date in ``days`` counts as
    known even if its year is not listed, because the administrator stated it explicitly.
    """

    days: Mapping[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        for day, working in self.days.items():
            # A datetime key would never match the date lookups and silently do nothing.
            if type(day) is not date:
                raise TypeError(f"CalendarData.days keys must be datetime.date, got {day!r}")
            if not isinstance(working, bool):
                raise TypeError(f"CalendarData.days[{day}] must be a bool, got {working!r}")
        # Snapshot, so later edits to the caller's dict cannot move deadlines behind our back.
        object.__setattr__(self, "days", MappingProxyType(dict(self.days)))
        object.__setattr__(self, "years", frozenset(self.years))


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says about one date, and on whose authority."""

    date: date
    working: bool
    source: Source
    name: str | None = None


@dataclass(frozen=True)
class Reckoning:
    """An instant computed from the calendar, with the guesses it relied on."""

    instant: datetime
    uncertain: bool
    uncertain_dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class Span:
    """An exact amount of working time between two instants."""

    seconds: int
    uncertain: bool


@dataclass(frozen=True)
class WorkCalendar:
    """Answers "is this date a working day?" from admin data, the package, or the fallback."""

    data: CalendarData = field(default_factory=CalendarData)

    def is_known(self, d: date) -> bool:
        return self._status(_require_date(d))[1]

    def day_kind(self, d: date) -> DayInfo:
        d = _require_date(d)
        explicit = self.data.days.get(d)
        if explicit is not None:
            return DayInfo(d, explicit, "admin")
        if d.year in self.data.years:
            return DayInfo(d, _is_weekday(d), "admin")
        if _package_covers(d.year):
            working, name = _package_detail(d)
            return DayInfo(d, working, "package", name)
        return DayInfo(d, _is_weekday(d), "fallback")

    def _status(self, d: date) -> tuple[bool, bool]:
        """(working, known) — the hot path of every computation, so no DayInfo is built."""
        explicit = self.data.days.get(d)
        if explicit is not None:
            return explicit, True
        if d.year in self.data.years:
            return _is_weekday(d), True
        if _package_covers(d.year):
            return _package_detail(d)[0], True
        return _is_weekday(d), False


def add_working_seconds(cal: WorkCalendar, start: datetime, seconds: int) -> Reckoning:
    """The instant at which ``seconds`` of working time have elapsed since ``start``."""
    _require_amount(seconds, "seconds")
    local = _to_local(start, "start")
    if seconds == 0:
        return Reckoning(local, False)
    probe = _Probe(cal)
    day, offset = _split(local)
    remaining = seconds
    while True:
        if probe.working(day):
            room = SECONDS_PER_DAY - offset
            if remaining <= room:
                return probe.reckoning(_at(day, offset + remaining))
            remaining -= room
        day += _ONE_DAY
        offset = 0


def working_seconds_between(cal: WorkCalendar, start: datetime, end: datetime) -> Span:
    """Working seconds in [start, end); zero when ``end`` is not after ``start``."""
    lo = _to_local(start, "start")
    hi = _to_local(end, "end")
    if hi <= lo:
        return Span(0, False)
    probe = _Probe(cal)
    day, offset = _split(lo)
    last_day, end_offset = _split(hi)
    if end_offset == 0:
        # Stopping at midnight uses none of the date that midnight opens; asking about it
        # would flag a spurious uncertainty (e.g. a due at 2027-01-01 00:00).
        last_day, end_offset = last_day - _ONE_DAY, SECONDS_PER_DAY
    total = 0
    while day < last_day:
        if probe.working(day):
            total += SECONDS_PER_DAY - offset
        day += _ONE_DAY
        offset = 0
    if probe.working(day):
        total += end_offset - offset
    return Span(total, probe.uncertain)


def day_after(instant: datetime) -> datetime:
    """00:00 local of the day after `instant`'s local date: where a period started by an act
    at `instant` begins (开始的当日不计入)."""
    local = _to_local(instant, "instant")
    return datetime.combine(local.date() + _ONE_DAY, time(), tzinfo=SHANGHAI)


def local_date(instant: datetime) -> date:
    """The date of `instant` in China."""
    return _to_local(instant, "instant").date()


def period_due(cal: WorkCalendar, act: datetime, days: int) -> Reckoning:
    """24:00 of the `days`-th working day after the day of `act`; `act` itself when 0."""
    _require_amount(days, "days")
    if days == 0:
        return Reckoning(_to_local(act, "act"), False)
    return add_working_seconds(cal, day_after(act), days * SECONDS_PER_DAY)


def days_used(cal: WorkCalendar, since: datetime, until: datetime) -> Span:
    """Working time of a period started by an act at `since`, up to and including the whole
    day of `until`: a whole number of working days, in seconds. Zero on the day of the act."""
    return working_seconds_between(cal, day_after(since), day_after(until))


def working_days_between(cal: WorkCalendar, first: date, last: date) -> int:
    """How many working days lie in [first, last] (0 when last < first)."""
    _require_date(first)
    _require_date(last)
    probe = _Probe(cal)
    count = 0
    day = first
    while day <= last:
        count += probe.working(day)
        day += _ONE_DAY
    return count


def share_of(fraction: float | Fraction) -> Fraction:
    """A share of a period as an exact fraction: a float such as 2/3 is snapped to the
    nearby small fraction a person means, so instants land on the second they compute."""
    if isinstance(fraction, Fraction):
        share = fraction
    elif isinstance(fraction, float | int) and math.isfinite(fraction):
        share = Fraction(fraction).limit_denominator(_FRACTION_MAX_DENOMINATOR)
    else:
        raise ValueError(f"fraction must be a finite number >= 0, got {fraction!r}")
    if share < 0:
        raise ValueError(f"fraction must be a finite number >= 0, got {fraction!r}")
    return share


def warning_instant(
    cal: WorkCalendar,
    start: datetime,
    limit_seconds: int,
    fraction: float | Fraction = 2 / 3,
    *,
    used_seconds: int = 0,
) -> Reckoning:
    """The first whole second at which ``fraction`` of ``limit_seconds`` has been used, for
    a period running from ``start`` with ``used_seconds`` of it already used.

    Rounds up, so the warning never fires before the fraction is actually reached.
    """
    _require_amount(limit_seconds, "limit_seconds")
    _require_amount(used_seconds, "used_seconds")
    threshold = math.ceil(share_of(fraction) * limit_seconds)
    return add_working_seconds(cal, start, max(threshold - used_seconds, 0))


def due_date(instant: datetime) -> date:
    """The local date of the last second before ``instant``.

    For an instant returned by ``add_working_seconds`` with a positive amount this is the
    working day on which the time runs out; a due at exactly 00:00 belongs to the day before.
    """
    return (_to_local(instant, "instant") - _ONE_SECOND).date()


class _Probe:
    """Asks the calendar about dates and remembers which answers were only guesses."""

    __slots__ = ("_cal", "uncertain", "unknown")

    def __init__(self, cal: WorkCalendar) -> None:
        self._cal = cal
        self.uncertain = False
        self.unknown: list[date] = []

    def working(self, d: date) -> bool:
        working, known = self._cal._status(d)
        if not known:
            self.uncertain = True
            if len(self.unknown) < _MAX_UNCERTAIN_DATES:
                self.unknown.append(d)
        return working

    def reckoning(self, instant: datetime) -> Reckoning:
        return Reckoning(instant, self.uncertain, tuple(self.unknown))


@functools.cache
def _package_covers(year: int) -> bool:
    """Whether the installed package has data for ``year``; its coverage is whole years."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


# Bounded: only called for covered years (a few thousand dates). The package rescans its
# whole table on every call, so caching is what makes thousands of deadlines per second.
@functools.cache
def _package_detail(d: date) -> tuple[bool, str | None]:
    """(working, holiday name) from the package; only call for years it covers."""
    on_holiday, name = chinese_calendar.get_holiday_detail(d)
    return not on_holiday, None if name is None else str(name)


def _is_weekday(d: date) -> bool:
    return d.weekday() < 5


def _require_date(d: date) -> date:
    # A datetime is a date subclass but would miss every date-keyed lookup.
    if type(d) is not date:
        raise TypeError(f"expected a datetime.date, got {d!r}")
    return d


def _require_amount(value: int, name: str) -> None:
    # bool and float would pass a bare `< 0` check but break the exact integer arithmetic.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _to_local(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got naive {instant.isoformat()}; "
            "attach a time zone, e.g. tzinfo=ZoneInfo('Asia/Shanghai')"
        )
    # Flooring to whole seconds everywhere keeps every count an exact integer.
    return instant.astimezone(SHANGHAI).replace(microsecond=0)


def _split(local: datetime) -> tuple[date, int]:
    """(local date, seconds since local midnight)."""
    return local.date(), local.hour * 3600 + local.minute * 60 + local.second


def _at(d: date, second_of_day: int) -> datetime:
    # second_of_day may be exactly 86,400: the result is then the next date's midnight.
    return datetime.combine(d, time(), tzinfo=SHANGHAI) + timedelta(seconds=second_of_day)


def local_minute(at: datetime | None, missing: str = "—") -> str:
    """An instant as people in China read it: Shanghai time to the minute."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else missing


def local_due(at: datetime | None, missing: str = "—") -> str:
    """A due instant as the law states it: a period ending at 00:00 is read as 24:00 of the
    day it closes (2026-03-13 24:00, not 2026-03-14 00:00)."""
    if at is None:
        return missing
    local = at.astimezone(SHANGHAI)
    if local.time() == time():
        return f"{(local - _ONE_DAY).strftime('%Y-%m-%d')} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")
