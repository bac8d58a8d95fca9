"""Working-day arithmetic: properties, official holiday dates, and the admin override path."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.workflow.calendar import (
    SECONDS_PER_DAY,
    SHANGHAI,
    CalendarData,
    DayInfo,
    Reckoning,
    Span,
    WorkCalendar,
    add_working_seconds,
    due_date,
    warning_instant,
    working_seconds_between,
)

DEFAULT = WorkCalendar()
# 2027 元旦 falls on a Friday: Jan 1-3 off, no make-up day. The 2027 春节 entries are invented
# (the notice is not out) but shaped like one: Feb 6-14 off, Saturday Feb 20 worked.
DATA_2027 = CalendarData(
    days={
        date(2027, 1, 1): False,
        **{date(2027, 2, 6) + timedelta(days=i): False for i in range(9)},
        date(2027, 2, 20): True,
    },
    years=frozenset({2027}),
)
LOADED_2027 = WorkCalendar(DATA_2027)

ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Shanghai",
        "UTC",
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "America/St_Johns",
        "Pacific/Chatham",
        "Pacific/Kiritimati",
        "America/Adak",
    )
]

instants = st.datetimes(
    min_value=datetime(2023, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59, 59),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
amounts = st.integers(min_value=0, max_value=60 * SECONDS_PER_DAY)
calendars = st.sampled_from([DEFAULT, LOADED_2027])


def add_days(cal: WorkCalendar, start: datetime, days: int) -> Reckoning:
    """`days` x 86,400 seconds of working time on from `start`."""
    return add_working_seconds(cal, start, days * SECONDS_PER_DAY)


def working(cal: WorkCalendar, d: date) -> bool:
    return cal.day_kind(d).working


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=SHANGHAI)


def utc_order(*instants: datetime) -> list[datetime]:
    # Aware datetimes sharing a tzinfo compare by wall time, which misorders DST folds.
    return sorted(instants, key=lambda t: t.astimezone(ZoneInfo("UTC")))


# --- properties ---------------------------------------------------------------------------


@given(calendars, instants, amounts)
def test_between_inverts_add(cal: WorkCalendar, start: datetime, n: int) -> None:
    result = add_working_seconds(cal, start, n)
    span = working_seconds_between(cal, start, result.instant)
    assert span.seconds == n
    assert span.uncertain == result.uncertain


@given(calendars, instants, st.integers(min_value=1, max_value=60 * SECONDS_PER_DAY))
def test_result_is_earliest_instant_on_a_working_day(
    cal: WorkCalendar, start: datetime, n: int
) -> None:
    instant = add_working_seconds(cal, start, n).instant
    assert instant.tzinfo is SHANGHAI
    assert instant > start
    assert working(cal, due_date(instant))
    # One second earlier is one working second short: the result is not later than needed.
    assert working_seconds_between(cal, start, instant - timedelta(seconds=1)).seconds == n - 1


@given(calendars, instants, st.integers(min_value=1, max_value=60))
def test_whole_days_end_on_a_working_day(cal: WorkCalendar, start: datetime, days: int) -> None:
    result = add_days(cal, start, days)
    assert working(cal, due_date(result.instant))
    assert result == add_working_seconds(cal, start, days * SECONDS_PER_DAY)


@given(calendars, instants, instants, instants)
def test_between_is_additive(cal: WorkCalendar, x: datetime, y: datetime, z: datetime) -> None:
    a, b, c = utc_order(x, y, z)
    ab = working_seconds_between(cal, a, b)
    bc = working_seconds_between(cal, b, c)
    ac = working_seconds_between(cal, a, c)
    assert ab.seconds + bc.seconds == ac.seconds
    assert ac.uncertain == (ab.uncertain or bc.uncertain)


@given(calendars, instants, instants)
def test_between_is_zero_backwards(cal: WorkCalendar, x: datetime, y: datetime) -> None:
    early, late = utc_order(x, y)
    assert working_seconds_between(cal, late, early) == Span(0, False)
    # Never more working time than elapsed time (+1 for the dropped sub-second part).
    assert working_seconds_between(cal, early, late).seconds <= (late - early).total_seconds() + 1


@given(calendars, instants, amounts, amounts)
def test_add_is_strictly_monotone(cal: WorkCalendar, start: datetime, m: int, n: int) -> None:
    lo, hi = sorted((m, n))
    early = add_working_seconds(cal, start, lo).instant
    late = add_working_seconds(cal, start, hi).instant
    assert early < late if lo < hi else early == late


@given(calendars, instants, amounts, amounts)
def test_add_composes_like_a_paused_deadline(
    cal: WorkCalendar, start: datetime, m: int, n: int
) -> None:
    # Stopping after m seconds and resuming for n more is the same as running m + n at once.
    first = add_working_seconds(cal, start, m)
    second = add_working_seconds(cal, first.instant, n)
    whole = add_working_seconds(cal, start, m + n)
    assert second.instant == whole.instant
    assert whole.uncertain == (first.uncertain or second.uncertain)


@given(instants, amounts)
def test_same_instant_in_any_zone_gives_same_result(start: datetime, n: int) -> None:
    utc = start.astimezone(ZoneInfo("UTC"))
    assert add_working_seconds(DEFAULT, start, n) == add_working_seconds(DEFAULT, utc, n)


# --- known dates, checked against the State Council notices ------------------------------


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize(
    ("off_first", "off_last", "makeup"),
    [
        # 2024 国庆: Oct 1-7 off; Sep 29 (Sun) and Oct 12 (Sat) worked.
        (date(2024, 10, 1), date(2024, 10, 7), [date(2024, 9, 29), date(2024, 10, 12)]),
        # 2024 春节: Feb 10-17 off; Feb 4 (Sun) and Feb 18 (Sun) worked.
        (date(2024, 2, 10), date(2024, 2, 17), [date(2024, 2, 4), date(2024, 2, 18)]),
        # 2025 春节: Jan 28-Feb 4 off; Jan 26 (Sun) and Feb 8 (Sat) worked.
        (date(2025, 1, 28), date(2025, 2, 4), [date(2025, 1, 26), date(2025, 2, 8)]),
        # 2025 国庆+中秋: Oct 1-8 off; Sep 28 (Sun) and Oct 11 (Sat) worked.
        (date(2025, 10, 1), date(2025, 10, 8), [date(2025, 9, 28), date(2025, 10, 11)]),
        # 2026 春节 (package data): Feb 15-23 off; Feb 14 (Sat) and Feb 28 (Sat) worked.
        (date(2026, 2, 15), date(2026, 2, 23), [date(2026, 2, 14), date(2026, 2, 28)]),
        # 2026 国庆 (package data): Oct 1-7 off; Sep 20 (Sun) and Oct 10 (Sat) worked.
        (date(2026, 10, 1), date(2026, 10, 7), [date(2026, 9, 20), date(2026, 10, 10)]),
    ],
)
def test_official_holidays(off_first: date, off_last: date, makeup: list[date]) -> None:
    for d in days(off_first, off_last):
        info = DEFAULT.day_kind(d)
        assert (info.working, info.source) == (False, "package"), d
        assert info.name is not None
    for d in makeup:
        assert d.weekday() >= 5  # a weekend turned into a working day
        info = DEFAULT.day_kind(d)
        assert (info.working, info.source) == (True, "package"), d
    # The ordinary weekdays just outside the break are working days.
    for d in (off_first - timedelta(days=1), off_last + timedelta(days=1)):
        if d.weekday() < 5:
            assert working(DEFAULT, d), d


def test_day_kind_names_and_sources() -> None:
    assert DEFAULT.day_kind(date(2024, 10, 1)) == DayInfo(
        date(2024, 10, 1), False, "package", "National Day"
    )
    assert DEFAULT.day_kind(date(2024, 9, 29)) == DayInfo(
        date(2024, 9, 29), True, "package", "National Day"
    )
    assert DEFAULT.day_kind(date(2024, 3, 5)) == DayInfo(date(2024, 3, 5), True, "package")
    assert DEFAULT.day_kind(date(2024, 3, 9)) == DayInfo(date(2024, 3, 9), False, "package")
    assert DEFAULT.day_kind(date(2027, 1, 1)) == DayInfo(date(2027, 1, 1), True, "fallback")
    assert DEFAULT.day_kind(date(2027, 1, 2)) == DayInfo(date(2027, 1, 2), False, "fallback")
    assert LOADED_2027.day_kind(date(2027, 1, 1)) == DayInfo(date(2027, 1, 1), False, "admin")
    assert LOADED_2027.day_kind(date(2027, 1, 4)) == DayInfo(date(2027, 1, 4), True, "admin")
    assert LOADED_2027.day_kind(date(2027, 2, 20)) == DayInfo(date(2027, 2, 20), True, "admin")
    assert not working(LOADED_2027, date(2027, 2, 8))  # a Monday inside the break


def test_known_years() -> None:
    assert DEFAULT.is_known(date(2004, 1, 1))
    assert DEFAULT.is_known(date(2026, 12, 31))
    assert not DEFAULT.is_known(date(2027, 1, 1))
    assert not DEFAULT.is_known(date(2003, 12, 31))
    assert LOADED_2027.is_known(date(2027, 7, 1))
    assert not LOADED_2027.is_known(date(2028, 1, 3))
    # An explicitly stated date is known even when its year is not loaded in full.
    partial = WorkCalendar(CalendarData(days={date(2028, 1, 3): False}))
    assert partial.is_known(date(2028, 1, 3))
    assert not partial.is_known(date(2028, 1, 4))


@pytest.mark.parametrize(
    ("received", "limit_days", "due"),
    [
        # Mon before 国庆: 15h on Sep 30, then Oct 1-7 off, 9h on Tue Oct 8.
        (sh(2024, 9, 30, 9), 1, sh(2024, 10, 8, 9)),
        # Fri 15:00: Sat 28th off, Sun 29th is the make-up working day.
        (sh(2024, 9, 27, 15), 1, sh(2024, 9, 29, 15)),
        # 2024 除夕 (Feb 9) is a working day; Feb 10-17 off; Sun Feb 18 worked.
        (sh(2024, 2, 9, 10), 1, sh(2024, 2, 18, 10)),
        # Received Saturday: the deadline starts on the make-up Sunday Feb 4 at 00:00.
        (sh(2024, 2, 3, 12), 1, sh(2024, 2, 5)),
        # 2025 春节: 10h Fri Jan 24, Sat off, Sun Jan 26 worked (34h), 14h on Mon Jan 27.
        (sh(2025, 1, 24, 14), 2, sh(2025, 1, 27, 14)),
        (sh(2025, 1, 27, 14), 1, sh(2025, 2, 5, 14)),
        # 2025 国庆+中秋: 8h Sep 30, Oct 1-8 off, Oct 9-10 (56h), 16h on Sat Oct 11 (worked).
        (sh(2025, 9, 30, 16), 3, sh(2025, 10, 11, 16)),
        # 2026 春节: 14h Fri Feb 13, Sat Feb 14 worked (38h), Feb 15-23 off, 10h Tue Feb 24.
        (sh(2026, 2, 13, 10), 2, sh(2026, 2, 24, 10)),
        # 2026 中秋: 12h Thu Sep 24, Sep 25-27 off, 12h Mon Sep 28.
        (sh(2026, 9, 24, 12), 1, sh(2026, 9, 28, 12)),
        # 2026 国庆: 15h Sep 30, Oct 1-7 off, Oct 8-9 (63h), 9h on Sat Oct 10 (worked).
        (sh(2026, 9, 30, 9), 3, sh(2026, 10, 10, 9)),
        # Plain week: Friday 16:00 plus one day is Monday 16:00.
        (sh(2024, 3, 8, 16), 1, sh(2024, 3, 11, 16)),
        # Landing exactly at the end of a working day gives the next midnight.
        (sh(2024, 3, 4), 1, sh(2024, 3, 5)),
    ],
)
def test_hand_computed_deadlines(received: datetime, limit_days: int, due: datetime) -> None:
    result = add_days(DEFAULT, received, limit_days)
    assert result == Reckoning(due, False, ())
    assert working_seconds_between(DEFAULT, received, due) == Span(
        limit_days * SECONDS_PER_DAY, False
    )
    # Exactly limit_days whole working days, to the second (working_days_between is gone).
    assert working_seconds_between(DEFAULT, received, due).seconds == limit_days * SECONDS_PER_DAY


def test_received_in_another_zone() -> None:
    # 2024-09-27 07:00 UTC is Fri 15:00 in Shanghai.
    received = datetime(2024, 9, 27, 7, tzinfo=ZoneInfo("UTC"))
    assert add_days(DEFAULT, received, 1).instant == sh(2024, 9, 29, 15)


def test_due_date_midnight_belongs_to_the_previous_day() -> None:
    assert due_date(sh(2024, 3, 5)) == date(2024, 3, 4)
    assert due_date(sh(2024, 3, 5, 0, 0, 1)) == date(2024, 3, 5)
    assert due_date(sh(2024, 2, 5)) == date(2024, 2, 4)  # the make-up Sunday
    # 2024-03-04 16:00 UTC is 2024-03-05 00:00 in Shanghai.
    assert due_date(datetime(2024, 3, 4, 16, tzinfo=ZoneInfo("UTC"))) == date(2024, 3, 4)


# --- beyond the package data ---------------------------------------------------------------


def test_case_running_into_an_unpublished_year() -> None:
    received = sh(2026, 12, 20, 10)  # a Sunday
    guess = add_days(DEFAULT, received, 20)
    # Dec 21-25 and 28-31 (9 days), then weekdays only: Jan 1, 4-8, 11-15 (11 days).
    assert guess.instant == sh(2027, 1, 16)
    assert due_date(guess.instant) == date(2027, 1, 15)
    assert guess.uncertain
    assert guess.uncertain_dates == tuple(date(2027, 1, d) for d in range(1, 6))

    loaded = add_days(LOADED_2027, received, 20)
    # 元旦 Jan 1 is off, so the 20th working day becomes Monday Jan 18.
    assert loaded == Reckoning(sh(2027, 1, 19), False, ())
    assert due_date(loaded.instant) == date(2027, 1, 18)
    assert working_seconds_between(LOADED_2027, received, loaded.instant) == Span(
        20 * SECONDS_PER_DAY, False
    )


def test_explicit_day_without_loaded_year_moves_due_but_stays_uncertain() -> None:
    cal = WorkCalendar(CalendarData(days={date(2027, 1, 1): False}))
    result = add_days(cal, sh(2026, 12, 20, 10), 20)
    assert result.instant == sh(2027, 1, 19)
    assert result.uncertain
    assert result.uncertain_dates[0] == date(2027, 1, 2)


def test_stopping_at_midnight_before_unknown_year_is_certain() -> None:
    result = add_days(DEFAULT, sh(2026, 12, 31), 1)
    assert result == Reckoning(sh(2027, 1, 1), False, ())
    assert working_seconds_between(DEFAULT, sh(2026, 12, 31), sh(2027, 1, 1)) == Span(
        SECONDS_PER_DAY, False
    )
    one_more = working_seconds_between(DEFAULT, sh(2026, 12, 31), sh(2027, 1, 1, 0, 0, 1))
    assert one_more == Span(SECONDS_PER_DAY + 1, True)


def test_uncertain_dates_are_capped_at_five() -> None:
    result = add_days(DEFAULT, sh(2027, 3, 1), 30)
    assert result.uncertain
    assert len(result.uncertain_dates) == 5
    assert result.uncertain_dates[0] == date(2027, 3, 1)


def test_admin_overrides_package_in_a_package_year() -> None:
    extra_holiday = WorkCalendar(CalendarData(days={date(2024, 10, 8): False}))
    assert add_days(extra_holiday, sh(2024, 9, 30, 9), 1).instant == sh(2024, 10, 9, 9)
    # A fully loaded year replaces the package: unlisted dates follow the weekday rule.
    replaced = WorkCalendar(CalendarData(years=frozenset({2024})))
    assert working(replaced, date(2024, 10, 1))
    assert not working(replaced, date(2024, 9, 29))
    assert add_days(replaced, sh(2024, 9, 30, 9), 1).instant == sh(2024, 10, 1, 9)


def test_calendar_data_is_snapshotted_and_validated() -> None:
    source = {date(2024, 10, 8): False}
    cal = WorkCalendar(CalendarData(days=source))
    source[date(2024, 10, 8)] = True
    assert not working(cal, date(2024, 10, 8))
    with pytest.raises(TypeError):
        CalendarData(days={datetime(2027, 1, 1): False})
    with pytest.raises(TypeError):
        CalendarData(days={date(2027, 1, 1): 0})  # type: ignore[dict-item]


# --- zero, fractions and warnings ----------------------------------------------------------


def test_zero_returns_start_even_on_a_rest_day() -> None:
    saturday = sh(2024, 3, 9, 10, 30)
    assert add_working_seconds(DEFAULT, saturday, 0) == Reckoning(saturday, False, ())
    assert add_days(DEFAULT, saturday, 1).instant == sh(2024, 3, 12)


def test_sub_second_parts_are_dropped() -> None:
    start = sh(2024, 3, 4, 10, 0, 0) + timedelta(microseconds=999_999)
    assert add_working_seconds(DEFAULT, start, 0).instant == sh(2024, 3, 4, 10)
    assert add_working_seconds(DEFAULT, start, 1).instant == sh(2024, 3, 4, 10, 0, 1)
    assert working_seconds_between(DEFAULT, start, sh(2024, 3, 4, 10, 0, 1)).seconds == 1


def test_warning_at_two_thirds() -> None:
    # Three working days from Monday 00:00: two thirds is two days, Wednesday 00:00.
    assert warning_instant(DEFAULT, sh(2024, 3, 4), 3 * SECONDS_PER_DAY).instant == sh(2024, 3, 6)
    # Rounded up to the first whole second at which two thirds is reached (6.67 -> 7).
    assert warning_instant(DEFAULT, sh(2024, 3, 4), 10).instant == sh(2024, 3, 4, 0, 0, 7)
    assert warning_instant(DEFAULT, sh(2024, 3, 4), 100, fraction=0.5).instant == sh(
        2024, 3, 4, 0, 0, 50
    )
    # 14 of 20 days across 2024 国庆: Sep 30 (1), Oct 8-11 (5), Sat Oct 12 (6), Oct 14-18 (11),
    # Oct 21-23 (14), so the warning is at the end of Wednesday Oct 23.
    warn = warning_instant(DEFAULT, sh(2024, 9, 30), 20 * SECONDS_PER_DAY, fraction=0.7)
    assert warn == Reckoning(sh(2024, 10, 24), False, ())


# --- invalid input -------------------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2024, 3, 4, 10)
    aware = sh(2024, 3, 4, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_seconds(DEFAULT, naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_days(DEFAULT, naive, 1)
    with pytest.raises(ValueError, match="end must be a timezone-aware"):
        working_seconds_between(DEFAULT, aware, naive)
    with pytest.raises(ValueError, match="start must be a timezone-aware"):
        working_seconds_between(DEFAULT, naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        warning_instant(DEFAULT, naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_date(naive)


def test_negative_amounts_are_rejected() -> None:
    start = sh(2024, 3, 4, 10)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        add_working_seconds(DEFAULT, start, -1)
    with pytest.raises(ValueError, match="limit_seconds must be >= 0"):
        warning_instant(DEFAULT, start, -1)
    with pytest.raises(ValueError, match="fraction"):
        warning_instant(DEFAULT, start, 10, fraction=-0.1)
    with pytest.raises(TypeError):
        add_working_seconds(DEFAULT, start, 1.5)  # type: ignore[arg-type]


def test_dates_not_datetimes() -> None:
    with pytest.raises(TypeError):
        working(DEFAULT, datetime(2024, 10, 1, tzinfo=SHANGHAI))


# --- the package against the State Council notices, as a property ---------------------------

# Every rest day and make-up working day (调休) in six windows around 春节 and 国庆 2024-2026,
# copied from the notices (国务院办公厅关于部分节假日安排的通知), independent of the package.
# The windows also hold the 中秋 breaks that fall inside them.
OFFICIAL_WINDOWS: list[tuple[date, date, set[date], set[date]]] = []


def _window(first: date, last: date, off: list[tuple[date, date]], makeup: list[date]) -> None:
    rest = {d for a, b in off for d in days(a, b)}
    OFFICIAL_WINDOWS.append((first, last, rest, set(makeup)))


_window(date(2024, 1, 20), date(2024, 3, 10), [(date(2024, 2, 10), date(2024, 2, 17))],
        [date(2024, 2, 4), date(2024, 2, 18)])  # fmt: skip
_window(date(2024, 9, 1), date(2024, 10, 31),
        [(date(2024, 9, 15), date(2024, 9, 17)), (date(2024, 10, 1), date(2024, 10, 7))],
        [date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)])  # fmt: skip
_window(date(2025, 1, 5), date(2025, 3, 10), [(date(2025, 1, 28), date(2025, 2, 4))],
        [date(2025, 1, 26), date(2025, 2, 8)])  # fmt: skip
_window(date(2025, 9, 1), date(2025, 10, 31), [(date(2025, 10, 1), date(2025, 10, 8))],
        [date(2025, 9, 28), date(2025, 10, 11)])  # fmt: skip
_window(date(2026, 1, 10), date(2026, 3, 20), [(date(2026, 2, 15), date(2026, 2, 23))],
        [date(2026, 2, 14), date(2026, 2, 28)])  # fmt: skip
_window(date(2026, 9, 1), date(2026, 10, 31),
        [(date(2026, 9, 25), date(2026, 9, 27)), (date(2026, 10, 1), date(2026, 10, 7))],
        [date(2026, 9, 20), date(2026, 10, 10)])  # fmt: skip


def official_working(d: date, rest: set[date], makeup: set[date]) -> bool:
    return d in makeup or (d.weekday() < 5 and d not in rest)


@st.composite
def official_starts(draw: st.DrawFn) -> tuple[int, date, int, int]:
    window = draw(st.integers(min_value=0, max_value=len(OFFICIAL_WINDOWS) - 1))
    first, last, _, _ = OFFICIAL_WINDOWS[window]
    start = draw(st.dates(min_value=first, max_value=last - timedelta(days=35)))
    return window, start, draw(st.integers(0, 23)), draw(st.integers(1, 15))


def test_official_windows_match_the_package() -> None:
    for first, last, rest, makeup in OFFICIAL_WINDOWS:
        for d in days(first, last):
            assert working(DEFAULT, d) == official_working(d, rest, makeup), d


@given(official_starts())
def test_deadlines_around_chunjie_and_guoqing_are_exact(case: tuple[int, date, int, int]) -> None:
    window, start, hour, n = case
    _, _, rest, makeup = OFFICIAL_WINDOWS[window]
    working = [
        d for d in days(start, start + timedelta(days=34)) if official_working(d, rest, makeup)
    ]
    received = sh(start.year, start.month, start.day, hour)
    result = add_days(DEFAULT, received, n)
    # Hand rule: on a working day at hour h > 0 the time runs out on the n-th working day
    # after it at hour h; otherwise (a rest day, or midnight) at the end of the n-th working
    # day counting from the start date.
    if working[0] == start and hour > 0:
        expected = sh(working[n].year, working[n].month, working[n].day, hour)
    else:
        end = working[n - 1] + timedelta(days=1)
        expected = sh(end.year, end.month, end.day)
    assert result == Reckoning(expected, False, ())
    assert working_seconds_between(DEFAULT, received, result.instant) == Span(
        n * SECONDS_PER_DAY, False
    )
    assert sum(1 for d in working if d <= due_date(result.instant)) == n + (
        1 if working[0] == start and hour > 0 else 0
    )
