"""The `tongban` command line. Thin: parse, call a service, print."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from tongban.api.cli_catalog import export as catalog_export
from tongban.api.cli_catalog import guides_app
from tongban.api.cli_deadlines import register as register_deadlines
from tongban.services.audit import verify_chains
from tongban.services.catalog import load_catalog
from tongban.services.config import get_settings
from tongban.services.errors import DomainError
from tongban.services.guides import load_guides
from tongban.services.logs import configure_logging
from tongban.services.runtime import Runtime, open_runtime
from tongban.services.users import create_user

app = typer.Typer(
    help="tongban 通办: cross-location government service cases.", no_args_is_help=True
)
audit_app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)
catalog_app = typer.Typer(help="The national catalog of 跨省通办 items.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_app, name="catalog")
app.add_typer(bench_app, name="bench")
app.add_typer(guides_app, name="guides")
catalog_app.command("export")(catalog_export)
register_deadlines(app, bench_app)  # calendar, report, worker, bench deadlines


def _now() -> datetime:
    return datetime.now(UTC)


def _runtime(init: bool = False) -> Runtime:
    settings = get_settings()
    configure_logging(json=True if settings.env == "production" else None, level=settings.log_level)
    return open_runtime(settings, init=init)


def _fail(err: DomainError) -> None:
    typer.secho(f"错误 [{err.code}]：{err.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def init(
    admin_username: Annotated[str | None, typer.Option(help="Create this admin user.")] = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Password for the admin (prompted when omitted).")
    ] = None,
    admin_name: Annotated[str, typer.Option(help="Display name of the admin.")] = "系统管理员",
) -> None:
    """Create or upgrade the database, create the audit key, load catalog and guides."""
    try:
        rt = _runtime(init=True)
        catalog = load_catalog(rt.uow())
        guides = load_guides(rt.uow(), now=_now())
        typer.echo(f"数据库已升级至最新版本：{rt.settings.database_url}")
        typer.echo(
            f"事项清单：新增 {catalog.added}，更新 {catalog.updated}，未变 {catalog.unchanged}"
        )
        typer.echo(f"操作指南：新增版本 {guides}")
        if admin_username:
            password = admin_password or getpass.getpass("管理员密码：")
            create_user(
                rt.uow(),
                username=admin_username,
                display_name=admin_name,
                role="admin",
                password=password,
            )
            typer.echo(f"已创建管理员 {admin_username}")
    except DomainError as err:
        _fail(err)


@app.command()
def demo() -> None:
    """Load demo offices, departments, users and a dozen cases in varied states."""
    from tongban.services.demo import DEMO_PASSWORD, USERS, load_demo

    try:
        rt = _runtime(init=True)
        made = load_demo(rt, now=_now())
    except DomainError as err:
        _fail(err)
        return
    typer.echo(f"演示案件 {len(made)} 件：{', '.join(made)}")
    typer.echo(f"演示用户（密码均为 {DEMO_PASSWORD}）：" + "、".join(u[0] for u in USERS))


@audit_app.command("verify")
def audit_verify(
    case: Annotated[str | None, typer.Option("--case", help="Only this case number.")] = None,
) -> None:
    """Recompute the audit chains; exit 1 and list every break found."""
    try:
        rt = _runtime()
        with rt.uow() as uow:
            breaks = verify_chains(uow.session, rt.key, case)
    except DomainError as err:
        _fail(err)
        return
    for item in breaks:
        typer.echo(f"BREAK {item}")
    if breaks:
        typer.secho(f"审计链校验失败：发现 {len(breaks)} 处断裂。", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo("审计链校验通过。")


@catalog_app.command("load")
def catalog_load() -> None:
    """Upsert the shipped catalog into the database (idempotent)."""
    try:
        rt = _runtime(init=True)
        report = load_catalog(rt.uow())
    except DomainError as err:
        _fail(err)
        return
    typer.echo(f"事项清单：新增 {report.added}，更新 {report.updated}，未变 {report.unchanged}")


@app.command("user-add")
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
        rt = _runtime()
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
        _fail(err)
    typer.echo(f"已创建用户 {username}")


@bench_app.command("transitions")
def bench_transitions(
    cases: Annotated[int, typer.Option(help="Full lifecycles per database.")] = 300,
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL URL (postgresql+psycopg://...) to measure too.")
    ] = None,
) -> None:
    """Drive full lifecycles through the service layer; print transitions/s and p50/p99."""
    from tongban.api.bench import run_transitions_bench

    run_transitions_bench(cases=cases, postgres_url=postgres, out=sys.stdout)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    demo_data: Annotated[bool, typer.Option("--demo", help="Load demo data first.")] = False,
    no_sweeper: Annotated[
        bool, typer.Option("--no-sweeper", help="Leave deadline sweeping to `tongban worker`.")
    ] = False,
) -> None:
    """Run the web API and workbench (and the deadline sweeper, unless --no-sweeper)."""
    import uvicorn

    from tongban.api.app import create_app
    from tongban.services.scheduler import start_sweeper

    rt = _runtime(init=True)
    if demo_data:
        from tongban.services.demo import load_demo

        load_demo(rt, now=_now())
    sweeper = None if no_sweeper else start_sweeper(rt)
    try:
        uvicorn.run(create_app(rt), host=host, port=port, log_config=None)
    finally:
        if sweeper is not None:
            sweeper.shutdown()


def main() -> None:
    app()
