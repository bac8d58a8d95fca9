"""Command line for deadlines: `calendar import|show`, `report overdue`, `worker`,
`bench deadlines`. Registered on the main app by `register(app, bench_app)`."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tongban.services.config import get_settings
from tongban.services.errors import DomainError
from tongban.services.logs import configure_logging
from tongban.services.runtime import Runtime, open_runtime
from tongban.workflow.calendar import SHANGHAI

calendar_app = typer.Typer(help="The working-day calendar (holidays, 调休).", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)

MONTHS = "一二三四五六七八九十"


def _runtime(init: bool = False) -> Runtime:
    settings = get_settings()
    configure_logging(json=True if settings.env == "production" else None, level=settings.log_level)
    return open_runtime(settings, init=init)


def _fail(err: DomainError) -> None:
    typer.secho(f"错误 [{err.code}]：{err.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _instant(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"无法识别的时间「{text}」，例如 2026-03-20T17:00+08:00") from None
    if at.tzinfo is None:
        raise typer.BadParameter("时间须带时区，例如 2026-03-20T17:00+08:00")
    return at


def _local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else "—"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


# --- calendar ------------------------------------------------------------------------------


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(help="CSV or YAML of one year's holidays and 调休.")],
    year: Annotated[
        int | None, typer.Option(help="The year, when the file does not state it.")
    ] = None,
) -> None:
    """Load (or replace) one year's holidays and make-up working days."""
    from tongban.services.calendars import CalendarFileInvalid, import_calendar, read_calendar_file

    try:
        parsed = read_calendar_file(file, year=year)
        rt = _runtime(init=True)
        report = import_calendar(rt.uow(), parsed, now=datetime.now(UTC))
    except CalendarFileInvalid as err:
        for line in err.errors:
            typer.secho(line, fg=typer.colors.RED, err=True)
        typer.secho(
            f"日历文件有误，共 {len(err.errors)} 处，未导入。", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(2) from None
    except DomainError as err:
        _fail(err)
        return
    verb = "已替换" if report.replaced else "已导入"
    typer.echo(
        f"{verb} {report.year} 年日历：节假日 {report.holidays} 天，调休上班 {report.workdays} 天；"
        f"重新计算了 {report.clocks_rescheduled} 个进行中的办理时限。"
    )


@calendar_app.command("show")
def calendar_show(
    year: Annotated[int, typer.Argument(help="The year, e.g. 2027.")],
    grid: Annotated[bool, typer.Option("--grid/--list", help="Month grid, or list only.")] = True,
) -> None:
    """Show a year: where its calendar comes from, and its holidays and 调休 days."""
    from tongban.services.calendars import SOURCE_LABELS, WEEKDAY_LABELS, show_year

    try:
        rt = _runtime()
        with rt.uow() as uow:
            view = show_year(uow.session, year)
    except DomainError as err:
        _fail(err)
        return
    head = f"{view.year} 年工作日历 — 来源：{SOURCE_LABELS[view.source]}"
    if view.loaded_at:
        head += f"（{_local(view.loaded_at)} 导入自 {view.loaded_from}）"
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


def _month_name(month: int) -> str:
    return MONTHS[month - 1] if month <= 10 else "十" + MONTHS[month - 11]


# --- report ----------------------------------------------------------------------------------


@report_app.command("overdue")
def report_overdue(
    region: Annotated[
        str | None, typer.Option(help="Only units in this region, e.g. 341700.")
    ] = None,
    case: Annotated[str | None, typer.Option("--case", help="One case: every stage.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    now: Annotated[str | None, typer.Option(help="Report as of this instant (ISO).")] = None,
) -> None:
    """Which stages ran late, which side and unit held them, who acted, by how many days."""
    from tongban.services.accountability import case_accountability, overdue_report

    if fmt not in ("text", "json"):
        raise typer.BadParameter("--format 应为 text 或 json")
    at = _instant(now)
    try:
        rt = _runtime()
        with rt.uow() as uow:
            if case:
                one = case_accountability(uow.session, case, now=at)
                if fmt == "json":
                    data = {
                        "case_no": one.case_no,
                        "state": one.state,
                        "stages": [s.as_dict() for s in one.stages],
                    }
                    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
                    return
                typer.echo(f"案件 {one.case_no} 办理时限追溯（截至 {_local(at)}，北京时间）")
                for s in one.stages:
                    _print_stage(s, show_status=True)
                return
            report = overdue_report(uow.session, now=at, region=region)
    except DomainError as err:
        _fail(err)
        return
    if fmt == "json":
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    scope = f"区域 {region}" if region else "全部区域"
    typer.echo(f"超期责任追溯报告（截至 {_local(at)}，北京时间；{scope}）")
    typer.echo(f"超期环节：{len(report.rows)} 个")
    typer.echo("\n一、超期环节明细")
    if not report.rows:
        typer.echo("  （无超期）")
    for i, row in enumerate(report.rows, start=1):
        typer.echo(f"{i}. ", nl=False)
        _print_stage(row, show_status=True)
    for title, totals in (
        ("二、按责任单位汇总", report.by_unit),
        ("三、按环节汇总", report.by_stage),
        ("四、按经办人员汇总", report.by_person),
    ):
        typer.echo(f"\n{title}")
        if not totals:
            typer.echo("  （无）")
        for t in totals:
            typer.echo(
                f"  {t.label}：{t.count} 个环节，合计超期 {_num(t.days_over)} 个工作日，"
                f"最长 {_num(t.worst)} 个工作日"
            )


_STATUS = {"running": "进行中", "paused": "暂停（补正）", "closed": "已结束"}


def _print_stage(s: Any, *, show_status: bool) -> None:
    late = f"，超期 {_num(s.days_over)} 个工作日" if s.late else "，未超期"
    typer.echo(f"{s.case_no}  {s.stage_label}  {s.side_label} {s.unit_name}（{s.unit_code}）")
    typer.echo(
        f"   时限 {_num(s.limit_days)} 个工作日，已用 {_num(s.used_days)}{late}；"
        f"到期 {_local(s.due_at)}"
        + (f"；状态：{_STATUS.get(s.status, s.status)}" if show_status else "")
        + ("；日历未确认" if s.uncertain else "")
    )
    people = "、".join(f"{p.name}×{p.actions}" for p in s.people) or "（期间无人办理）"
    assigned = f"；指定承办人 {s.assigned}" if s.assigned else ""
    typer.echo(f"   经办人员：{people}{assigned}")


# --- worker and bench ----------------------------------------------------------------------


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    now: Annotated[
        str | None, typer.Option(help="With --once: sweep as of this instant (ISO).")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Clocks claimed per transaction.")] = None,
    interval: Annotated[int | None, typer.Option(help="Seconds between rounds.")] = None,
) -> None:
    """Run the deadline sweeper (alerts, unattended inboxes, outbox) without the web server."""
    from tongban.services.scheduler import run_jobs, start_sweeper

    try:
        rt = _runtime()
    except DomainError as err:
        _fail(err)
        return
    if once:
        report = run_jobs(rt, now=_instant(now), batch=batch)
        typer.echo(json.dumps(report.summary(), ensure_ascii=False))
        rt.engine.dispose()
        if report.failures:
            raise typer.Exit(1)
        return
    if now is not None:
        raise typer.BadParameter("--now 只能与 --once 一起使用")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    handle = start_sweeper(rt, interval_seconds=interval)
    typer.echo("sweeper running; Ctrl-C to stop", err=True)
    try:
        stop.wait()
    finally:
        handle.shutdown()
        rt.engine.dispose()


def bench_deadlines(
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL URL (default: TONGBAN_TEST_PG_URL or local).")
    ] = None,
    sizes: Annotated[str, typer.Option(help="Open clocks, comma-separated.")] = "100000,1000000",
    due: Annotated[int, typer.Option(help="Clocks due at the sweep.")] = 10_000,
    batch: Annotated[int, typer.Option(help="Clocks claimed per transaction.")] = 500,
) -> None:
    """Sweep 10k due clocks among 100k and 1M open ones; print times and the claim plan."""
    import logging

    from tongban.api.bench_deadlines import run_deadlines_bench

    configure_logging(level="WARNING")
    logging.getLogger().setLevel(logging.WARNING)
    counts = tuple(int(s.replace("_", "")) for s in sizes.split(",") if s.strip())
    run_deadlines_bench(postgres_url=postgres, sizes=counts, due=due, batch=batch, out=sys.stdout)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(report_app, name="report")
    app.command("worker")(worker)
    bench_app.command("deadlines")(bench_deadlines)


__all__ = ["register"]
