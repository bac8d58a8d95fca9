"""`tongban calendar import|show|due`: the working-day calendar (holidays and 调休)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tongban.services.calendar.files import (
    WEEKDAY_LABELS,
    CalendarFileInvalid,
    read_calendar_file,
)
from tongban.services.calendar.store import (
    SOURCE_LABELS,
    import_calendar,
    period_of,
    show_year,
)
from tongban.services.core.errors import DomainError
from tongban.workflow.calendar import local_minute

from .common import fail, instant, now, runtime

calendar_app = typer.Typer(help="The working-day calendar (holidays, 调休).", no_args_is_help=True)

MONTHS = "一二三四五六七八九十"


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="CSV or YAML of one year's holidays and 调休.")],
    year: Annotated[
        int | None, typer.Option(help="The year, when the file does not state it.")
    ] = None,
) -> None:
    """Load (or replace) one year's holidays and make-up working days."""
    try:
        parsed = read_calendar_file(file, year=year)
        with runtime(init=True) as rt:
            report = import_calendar(rt.uow(), parsed, now=now())
    except CalendarFileInvalid as err:
        for line in err.errors:
            typer.secho(line, fg=typer.colors.RED, err=True)
        typer.secho(
            f"日历文件有误，共 {len(err.errors)} 处，未导入。", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(2) from None
    except DomainError as err:
        fail(err)
    verb = "已替换" if report.replaced else "已导入"
    typer.echo(
        f"{verb} {report.year} 年日历：节假日 {report.holidays} 天，调休上班 {report.workdays} 天；"
        f"重新计算了 {report.deadlines_rescheduled} 个进行中的办理时限。"
    )


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int, typer.Argument(help="The year, e.g. 2027.")],
    grid: Annotated[bool, typer.Option("--grid/--list", help="Month grid, or list only.")] = True,
) -> None:
    """Show a year: where its calendar comes from, and its holidays and 调休 days."""
    try:
        with runtime() as rt:
            view = show_year(rt.uow(), year)
    except DomainError as err:
        fail(err)
    head = f"{view.year} 年工作日历 — 来源：{SOURCE_LABELS[view.source]}"
    if view.loaded_at:
        head += f"（{local_minute(view.loaded_at)} 导入自 {view.loaded_from}）"
    typer.echo(head)
    if grid:
        typer.echo("图例：休 = 节假日（原为工作日）  班 = 调休上班（原为周末）  · = 休息日")
        by_month: dict[int, list[Any]] = {}
        for d in view.days:
            by_month.setdefault(d.day.month, []).append(d)
        for month in range(1, 13):
            typer.echo(f"\n{_month_name(month)}月\n 一 二 三 四 五 六 日")
            days = by_month[month]
            cells = ["   "] * days[0].day.weekday()
            for d in days:
                weekday = d.day.weekday() < 5
                if d.working and weekday:
                    mark = f"{d.day.day:>3}"
                elif d.working:
                    mark = " 班"
                elif weekday:
                    mark = " 休"
                else:
                    mark = "  ·"
                cells.append(mark)
            for i in range(0, len(cells), 7):
                typer.echo("".join(cells[i : i + 7]))
    typer.echo("\n与“周一至周五上班”不同的日期：")
    if not view.exceptions:
        typer.echo("  （无）")
    for d in view.exceptions:
        kind = "调休上班" if d.working else "放假"
        name = f" {d.name}" if d.name else ""
        source = SOURCE_LABELS[d.source].split("（")[0]
        typer.echo(
            f"  {d.day.isoformat()} {WEEKDAY_LABELS[d.day.weekday()]} {kind}{name}  [{source}]"
        )
    if view.source == "fallback":
        typer.secho(
            f"\n{year} 年尚无节假日数据：截止日期按周末推算，并标记为“日历未确认”。"
            f"请用 `tongban calendar import` 导入国务院办公厅公布的安排。",
            fg=typer.colors.YELLOW,
        )


@calendar_app.command("due")
def calendar_due(
    start: Annotated[
        str, typer.Argument(help="The act, ISO 8601 with offset: 2026-03-10T10:00+08:00")
    ],
    days: Annotated[int, typer.Argument(help="The period in working days.")],
) -> None:
    """When a period of DAYS working days from the act at START ends: 24:00 of its last
    working day, counted from the day after the act (民法典 第二百零一条)."""
    try:
        with runtime() as rt:
            answer = period_of(rt.uow(), instant(start), days)
    except DomainError as err:
        fail(err)
    typer.echo(answer.due.isoformat())
    weekday = WEEKDAY_LABELS[answer.last_day.weekday()]
    typer.echo(
        f"{answer.days} 个工作日，自 {answer.starts_on.isoformat()} 起算，"
        f"至 {answer.last_day.isoformat()}（{weekday}）24:00 止。"
        if answer.days
        else "0 个工作日：即时到期。"
    )
    if answer.unconfirmed:
        dates = "、".join(d.isoformat() for d in answer.unconfirmed)
        typer.secho(
            f"日历未确认：{dates} 等日期所在年度尚无节假日数据，按周一至周五推算；"
            "请用 `tongban calendar import` 导入该年度安排后再核对。",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _month_name(month: int) -> str:
    return MONTHS[month - 1] if month <= 10 else "十" + MONTHS[month - 11]
