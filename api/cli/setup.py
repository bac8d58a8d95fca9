"""`tongban init`, `tongban demo` and `tongban user-add`: a database ready to work in."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from tongban.services.catalog.items import load_catalog
from tongban.services.core.errors import DomainError
from tongban.services.demo import DEMO_PASSWORD, USERS, load_demo
from tongban.services.guides.store import load_guides
from tongban.services.users.accounts import create_user
from tongban.services.users.secret import ensure_session_secret

from .common import demo_seal, fail, now, runtime


def init(
    admin_username: Annotated[str | None, typer.Option(help="Create this admin user.")] = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Password for the admin (prompted when omitted).")
    ] = None,
    admin_name: Annotated[str, typer.Option(help="Display name of the admin.")] = "系统管理员",
) -> None:
    """Create or upgrade the database, create the audit key and the session secret (files
    0600, when not given in the environment), load catalog and guides."""
    try:
        with runtime(init=True) as rt:
            ensure_session_secret(rt.settings)
            demo_seal(rt)
            catalog = load_catalog(rt.uow())
            guides = load_guides(rt.uow(), now=now())
            typer.echo(f"数据库已升级至最新版本：{rt.settings.database_url}")
            typer.echo(
                f"事项清单：新增 {catalog.added}，更新 {catalog.updated}，未变 {catalog.unchanged}"
            )
            typer.echo(f"操作指南：新增版本 {guides}")
            if admin_username:
                create_user(
                    rt.uow(),
                    username=admin_username,
                    display_name=admin_name,
                    role="admin",
                    password=admin_password or getpass.getpass("管理员密码："),
                )
                typer.echo(f"已创建管理员 {admin_username}")
    except DomainError as err:
        fail(err)


def demo() -> None:
    """Load demo offices, departments, users and a dozen cases in varied states."""
    try:
        with runtime(init=True) as rt:
            demo_seal(rt)
            made = load_demo(rt.uow(), now=now())
    except DomainError as err:
        fail(err)
    typer.echo(f"演示办件 {len(made)} 件：{', '.join(made)}")
    typer.echo(f"演示用户（密码均为 {DEMO_PASSWORD}）：" + "、".join(u[0] for u in USERS))


def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="clerk | reviewer | supervisor | admin")],
    name: Annotated[str, typer.Option(help="Display name.")],
    office: Annotated[str | None, typer.Option(help="Office code (clerks).")] = None,
    department: Annotated[str | None, typer.Option(help="Department code (reviewers).")] = None,
    region: Annotated[str | None, typer.Option(help="Region code (supervisors).")] = None,
    password: Annotated[str | None, typer.Option(help="Prompted when omitted.")] = None,
) -> None:
    """Create a user."""
    try:
        with runtime() as rt:
            create_user(
                rt.uow(),
                username=username,
                display_name=name,
                role=role,
                password=password or getpass.getpass("密码："),
                office_code=office,
                department_code=department,
                region_code=region,
            )
    except DomainError as err:
        fail(err)
    typer.echo(f"已创建用户 {username}")
