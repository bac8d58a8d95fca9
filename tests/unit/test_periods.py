"""Periods as the law counts them: the day of the act does not count, and a period of N
working days ends at 24:00 (Asia/Shanghai) of its Nth working day (民法典 第二百零一条、
第二百零三条; 行政许可法 第八十二条). The holiday dates below are the State Council's
published arrangements for 2026, which the chinesecalendar package carries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.workflow.calendar import (
    SHANGHAI,
    WorkCalendar,
    day_after,
    days_used,
    due_date,
    local_due,
    period_due,
    working_days_between,
)
from tongban.workflow.deadlines import time_left

CAL = WorkCalendar()


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("act", "days", "due"),
    [
        # The example: Tuesday 10:00, 3 days = Wed, Thu, Fri; due at Friday's 24:00.
        (sh(2026, 3, 10, 10), 3, sh(2026, 3, 14)),
        # N = 1 on a plain Tuesday: Wednesday.
        (sh(2026, 3, 10, 9), 1, sh(2026, 3, 12)),
        # Late on a Friday: the weekend does not count, Monday is the one day.
        (sh(2026, 3, 13, 23, 59), 1, sh(2026, 3, 17)),
        # A minute before midnight and a minute after it are different days.
        (sh(2026, 3, 10, 23, 59), 1, sh(2026, 3, 12)),
        (sh(2026, 3, 11, 0, 1), 1, sh(2026, 3, 13)),
        # 国庆 2026: Oct 1-7 off. An act on the eve: the first day is Thursday Oct 8.
        (sh(2026, 9, 30, 18), 1, sh(2026, 10, 9)),
        # An act on a holiday: counting starts the next day but skips the rest of the holiday;
        # Oct 8, 9 and the 调休 Saturday Oct 10 are the three days.
        (sh(2026, 10, 3, 10), 3, sh(2026, 10, 11)),
        # 春节 2026: Feb 14 (Saturday) is worked, Feb 15-23 off, Feb 28 (Saturday) worked.
        (sh(2026, 2, 13, 9), 1, sh(2026, 2, 15)),  # the 调休 Saturday is the one day
        (sh(2026, 2, 14, 9), 1, sh(2026, 2, 25)),  # act on the 调休 Saturday: Feb 24
        (sh(2026, 2, 24, 9), 4, sh(2026, 3, 1)),  # Feb 25, 26, 27 and Saturday Feb 28
        # An act given in another zone is counted on China's date: 2026-03-10 20:00 UTC is
        # Wednesday 04:00 in Beijing, so Thursday is the one day.
        (datetime(2026, 3, 10, 20, tzinfo=ZoneInfo("UTC")), 1, sh(2026, 3, 13)),
    ],
)
def test_period_due(act: datetime, days: int, due: datetime) -> None:
    got = period_due(CAL, act, days)
    assert got.instant == due
    assert got.instant.utcoffset() == timedelta(hours=8)
    assert not got.uncertain


def test_zero_days_is_the_act_itself() -> None:
    assert period_due(CAL, sh(2026, 3, 10, 10), 0).instant == sh(2026, 3, 10, 10)


def test_past_the_known_calendar_is_flagged() -> None:
    got = period_due(CAL, sh(2031, 12, 30, 10), 5)
    assert got.uncertain and got.uncertain_dates[0] == date(2031, 12, 31)


def test_days_used_counts_whole_days_and_not_the_day_of_the_act() -> None:
    act = sh(2026, 3, 10, 10)
    assert days_used(CAL, act, sh(2026, 3, 10, 23, 59)).seconds == 0
    assert days_used(CAL, act, sh(2026, 3, 11, 0, 1)).seconds == 86_400  # Wednesday begun
    assert days_used(CAL, act, sh(2026, 3, 16, 9)).seconds == 4 * 86_400  # Wed-Fri + Mon


def test_due_reads_as_24_00_of_its_last_day() -> None:
    assert local_due(sh(2026, 3, 14)) == "2026-03-13 24:00"
    assert local_due(sh(2026, 3, 14, 9, 30)) == "2026-03-14 09:30"
    assert local_due(None) == "—"


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (sh(2026, 3, 10, 10), "剩余 3 个工作日"),  # the day of the act: Wed, Thu, Fri ahead
        (sh(2026, 3, 11, 9), "剩余 2 个工作日"),
        (sh(2026, 3, 13, 9), "今日到期"),
        (sh(2026, 3, 13, 23, 59), "今日到期"),
        (sh(2026, 3, 14, 0), "已超期"),  # past 24:00 Friday, but no working day since
        (sh(2026, 3, 15, 12), "已超期"),
        (sh(2026, 3, 16, 8), "已超期 1 个工作日"),  # Monday is the first day over
        (sh(2026, 3, 18, 8), "已超期 3 个工作日"),
    ],
)
def test_time_left_in_whole_days(now: datetime, text: str) -> None:
    due = period_due(CAL, sh(2026, 3, 10, 10), 3).instant
    assert time_left(CAL, due, now).text == text


def test_time_left_over_a_weekend_before_the_last_day() -> None:
    due = period_due(CAL, sh(2026, 3, 13, 10), 2).instant  # Mon and Tue
    assert time_left(CAL, due, sh(2026, 3, 14, 10)).text == "剩余 2 个工作日"


instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2026, 12, 20),
    timezones=st.sampled_from([SHANGHAI, ZoneInfo("UTC"), ZoneInfo("America/New_York")]),
    allow_imaginary=False,
)


@given(instants, st.integers(min_value=1, max_value=40))
def test_a_due_instant_is_24_00_of_the_nth_working_day_after_the_act(
    act: datetime, days: int
) -> None:
    due = period_due(CAL, act, days).instant
    local = due.astimezone(SHANGHAI)
    assert local.time() == time(0, 0)  # midnight: 24:00 of the day before
    last_day = due_date(due)
    assert CAL.day_kind(last_day).working
    act_day = act.astimezone(SHANGHAI).date()
    # Exactly N working days lie after the day of the act up to the last day: never earlier.
    assert working_days_between(CAL, act_day + timedelta(days=1), last_day) == days
    assert due >= day_after(act)
    # And the whole period is used by its last day, not before it.
    assert days_used(CAL, act, due - timedelta(seconds=1)).seconds == days * 86_400


@given(instants, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=40))
def test_time_left_never_disagrees_with_the_due_instant(
    act: datetime, days: int, hours_later: int
) -> None:
    due = period_due(CAL, act, days).instant
    now = act + timedelta(hours=hours_later * 7)
    left = time_left(CAL, due, now)
    assert (left.kind == "over") == (now >= due)
    if left.kind == "left":
        assert 1 <= left.days <= days
