"""`tongban report overdue`: which stages ran late, who held them, by how many days."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.deadlines.accountability import (
    CaseAccountability,
    StageRecord,
    case_accountability,
    overdue_report,
)
from tongban.workflow.calendar import local_due, local_minute
from tongban.workflow.deadlines import DEADLINE_STATUS_LABELS, DeadlineStatus

from .common import fail, instant, runtime

report_app = typer.Typer(help="Reports.", no_args_is_help=True)


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
    if fmt not in ("text", "json"):
        raise typer.BadParameter("--format 应为 text 或 json")
    at = instant(now)
    try:
        with runtime() as rt:
            if case:
                _one_case(case_accountability(rt.uow(), case, now=at), fmt, at)
                return
            report = overdue_report(rt.uow(), now=at, region=region)
    except DomainError as err:
        fail(err)
    if fmt == "json":
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    scope = f"区域 {region}" if region else "全部区域"
    typer.echo(f"超期责任追溯报告（截至 {local_minute(at)}，北京时间；{scope}）")
    typer.echo(f"超期环节：{len(report.rows)} 个")
    typer.echo("\n一、超期环节明细")
    if not report.rows:
        typer.echo("  （无超期）")
    for i, row in enumerate(report.rows, start=1):
        typer.echo(f"{i}. ", nl=False)
        _print_stage(row)
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
                f"  {t.label}：{t.count} 个环节，合计超期 {t.days_over} 个工作日，"
                f"最长 {t.worst} 个工作日"
            )


def _one_case(one: CaseAccountability, fmt: str, at: datetime) -> None:
    if fmt == "json":
        data = {
            "case_no": one.case_no,
            "state": one.state,
            "stages": [s.as_dict() for s in one.stages],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(f"办件 {one.case_no} 办理时限追溯（截至 {local_minute(at)}，北京时间）")
    for s in one.stages:
        _print_stage(s)


def _print_stage(s: StageRecord) -> None:
    late = f"，超期 {s.days_over} 个工作日" if s.late else "，未超期"
    typer.echo(f"{s.case_no}  {s.stage_label}  {s.side_label} {s.unit_name}（{s.unit_code}）")
    typer.echo(
        f"   时限 {s.limit_days} 个工作日，已用 {s.used_days} 个工作日{late}；"
        f"到期 {local_due(s.due_at)}"
        + f"；状态：{DEADLINE_STATUS_LABELS[DeadlineStatus(s.status)]}"
        + ("；日历未确认" if s.uncertain else "")
    )
    if s.excluded:
        parts = "、".join(f"{x.label} {x.days} 个工作日" for x in s.excluded)
        typer.echo(f"   不计时 {s.excluded_days} 个工作日（{parts}），不计入时限")
    people = "、".join(f"{p.name}×{p.actions}" for p in s.people) or "（期间无人办理）"
    assigned = f"；指定承办人 {s.assigned}" if s.assigned else ""
    typer.echo(f"   经办人员：{people}{assigned}")
