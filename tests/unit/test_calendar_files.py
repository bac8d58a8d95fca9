"""Calendar files an administrator imports: CSV and YAML, with `file:line: message` errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tongban.services.calendar.files import (
    CalendarFileInvalid,
    DayEntry,
    parse_calendar_csv,
    parse_calendar_yaml,
    read_calendar_file,
)
from tongban.services.core.errors import InvalidInput

DATA = Path(__file__).parent.parent / "data"


def test_yaml_with_ranges_and_make_up_days() -> None:
    cal = read_calendar_file(DATA / "calendar_2027.yaml")
    assert cal.year == 2027
    assert cal.holidays == 10 and cal.workdays == 1
    assert cal.days[0] == DayEntry(date(2027, 1, 1), False, "元旦", 4)
    assert DayEntry(date(2027, 2, 20), True, "春节调休", 7) in cal.days
    assert [d.day for d in cal.days] == sorted(d.day for d in cal.days)


def test_csv_with_header_comments_and_chinese_kinds() -> None:
    text = (
        "\ufeffyear,2027\n"
        "# 元旦\n"
        "date,kind,name\n"
        "2027-01-01,休,元旦\n"
        "\n"
        "2027-02-20,班,春节调休\n"
        "2027-02-08,holiday\n"
    )
    cal = parse_calendar_csv(text, name="cal.csv")
    assert (cal.year, cal.holidays, cal.workdays) == (2027, 2, 1)
    assert DayEntry(date(2027, 2, 8), False, "", 7) in cal.days


def test_csv_errors_name_file_and_line_in_order() -> None:
    text = (
        "year,2027\n"
        "date,kind,name\n"
        "2027-01-01,holiday,元旦\n"
        "2026-12-31,holiday,跨年\n"
        "2027-01-01,holiday,元旦\n"
        "2027-03-03,workday,周三\n"
        "2027-13-01,holiday,x\n"
        "2027-02-06,vacation,春节\n"
        "2027-02-07\n"
    )
    with pytest.raises(CalendarFileInvalid) as err:
        parse_calendar_csv(text, name="bad.csv")
    lines = err.value.errors
    assert [line.split(": ", 1)[0] for line in lines] == [
        "bad.csv:4",
        "bad.csv:5",
        "bad.csv:6",
        "bad.csv:7",
        "bad.csv:8",
        "bad.csv:9",
    ]
    assert "2026-12-31 不在 2027 年内" in lines[0]
    assert "重复：第 3 行已列出" in lines[1]
    assert "周三" in lines[2] and "调休上班" in lines[2]
    assert "2027-13-01" in lines[3]
    assert "vacation" in lines[4]
    assert err.value.code == "calendar.invalid"


def test_year_must_be_stated_once_and_agree() -> None:
    with pytest.raises(CalendarFileInvalid) as err:
        parse_calendar_csv("2027-01-01,holiday\n", name="c.csv")
    assert err.value.errors == [
        "c.csv:1: 未写明年份：CSV 首行写 `year,2027`，YAML 写 `year: 2027`。"
    ]
    # The command line may state it instead...
    assert parse_calendar_csv("2027-01-01,holiday\n", name="c.csv", year=2027).year == 2027
    # ...but not contradict the file.
    with pytest.raises(CalendarFileInvalid) as clash:
        parse_calendar_csv("year,2027\n2027-01-01,holiday\n", name="c.csv", year=2028)
    assert clash.value.errors[0].startswith("c.csv:1: 文件写明的年份 2027")
    with pytest.raises(CalendarFileInvalid) as empty:
        parse_calendar_csv("year,2027\n", name="c.csv")
    assert empty.value.errors == ["c.csv:1: 没有列出任何节假日或调休上班日。"]


def test_yaml_errors_carry_line_numbers() -> None:
    text = (
        "year: 2027\n"  # 1
        "holidays:\n"  # 2
        "  - 2027-01-01\n"  # 3
        "  - {from: 2027-02-14, to: 2027-02-06}\n"  # 4
        "  - {date: 2027-01-01, name: 元旦}\n"  # 5
        "  - {day: 2027-05-01}\n"  # 6
        "workdays:\n"  # 7
        "  - {date: 2027-02-22, name: 周一}\n"  # 8
        "  - {date: 2028-01-08}\n"  # 9
        "extra: 1\n"  # 10
    )
    with pytest.raises(CalendarFileInvalid) as err:
        parse_calendar_yaml(text, name="cal.yaml")
    assert [e.split(": ", 1)[0] for e in err.value.errors] == [
        "cal.yaml:4",
        "cal.yaml:5",
        "cal.yaml:6",
        "cal.yaml:8",
        "cal.yaml:9",
        "cal.yaml:10",
    ]
    with pytest.raises(CalendarFileInvalid) as broken:
        parse_calendar_yaml("year: 2027\nholidays: [2027-01-01\n", name="b.yaml")
    assert broken.value.errors[0].startswith("b.yaml:")
    assert "YAML 格式有误" in broken.value.errors[0]


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "cal.txt"
    path.write_text("year,2027\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_calendar_file(path)
    assert err.value.code == "calendar.unreadable"
