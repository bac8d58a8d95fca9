"""`tongban departments add|items|list`: home departments and the items they handle."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.departments.registry import (
    DepartmentView,
    add_department,
    declare_items,
    list_departments,
)

from .common import fail, runtime

departments_app = typer.Typer(
    help="Home departments (办理地部门) and the items each handles.", no_args_is_help=True
)


def _line(d: DepartmentView) -> str:
    items = "、".join(d.items) if d.items else "（尚未声明办理事项）"
    return f"{d.code}\t{d.province}\t{d.region_code}\t{d.name}\t{items}"


@departments_app.command("add")
def departments_add(
    code: Annotated[str, typer.Argument(help="部门编码，如 RS320102")],
    name: Annotated[str, typer.Argument(help="部门名称")],
    region: Annotated[str, typer.Argument(help="6位行政区划代码，如 320102")],
) -> None:
    """Add a home department; it handles nothing until `departments items` declares some."""
    try:
        with runtime(init=True) as rt:
            view = add_department(rt.uow(), code=code, name=name, region_code=region)
    except DomainError as err:
        fail(err)
    typer.echo(f"已添加部门：{_line(view)}")


@departments_app.command("items")
def departments_items(
    code: Annotated[str, typer.Argument(help="部门编码")],
    items: Annotated[list[str], typer.Argument(help="事项编码，如 1-01 2-21")],
    remove: Annotated[bool, typer.Option("--remove", help="Withdraw these items.")] = False,
) -> None:
    """Declare the items a department handles (or withdraw them with --remove)."""
    try:
        with runtime(init=True) as rt:
            view = declare_items(rt.uow(), code, items, remove=remove)
    except DomainError as err:
        fail(err)
    typer.echo(_line(view))


@departments_app.command("list")
def departments_list(
    item: Annotated[
        str | None, typer.Option("--item", help="Only departments handling this item.")
    ] = None,
) -> None:
    """Departments by region, with the items each handles (tab-separated)."""
    try:
        with runtime(init=True) as rt:
            rows = list_departments(rt.uow(), item_code=item)
    except DomainError as err:
        fail(err)
    if not rows:
        typer.echo("没有部门办理该事项。" if item else "尚无部门。")
    for d in rows:
        typer.echo(_line(d))
