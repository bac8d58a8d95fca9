"""`tongban users list|add|disable|enable|reset-password|sessions`: accounts, for the
deployment's administrator at the server's console."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.users.accounts import list_users, reset_password, set_active
from tongban.services.users.sessions import list_sessions, revoke_all_sessions
from tongban.workflow.calendar import local_minute

from .common import fail, now, runtime
from .setup import user_add

users_app = typer.Typer(help="Users: accounts, passwords and sessions.", no_args_is_help=True)
users_app.command("add")(user_add)


def _new_password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("新密码：")
    if getpass.getpass("再次输入新密码：") != first:
        typer.secho("错误：两次输入的密码不一致。", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    return first


@users_app.command("list")
def users_list() -> None:
    """Every user: username, name, role, unit, active or disabled, last sign-in."""
    try:
        with runtime() as rt:
            rows = list_users(rt.uow())
    except DomainError as err:
        fail(err)
    for u in rows:
        state = "启用" if u.active else "停用"
        last = local_minute(u.last_login_at, missing="从未登录")
        typer.echo(f"{u.username}\t{u.display_name}\t{u.role_label}\t{u.unit}\t{state}\t{last}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: they cannot sign in, and every session of theirs ends now."""
    try:
        with runtime() as rt:
            revoked = set_active(rt.uow(), username=username, active=False, now=now())
    except DomainError as err:
        fail(err)
    typer.echo(f"已停用用户 {username}，注销会话 {revoked} 个")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a user again (their old sessions stay ended: they sign in afresh)."""
    try:
        with runtime() as rt:
            set_active(rt.uow(), username=username, active=True, now=now())
    except DomainError as err:
        fail(err)
    typer.echo(f"已启用用户 {username}")


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password: Annotated[str | None, typer.Option(help="Prompted (twice) when omitted.")] = None,
) -> None:
    """Set a new password (under the password policy); every session of the user ends and
    the username's failed sign-ins (and any lock) are forgotten."""
    try:
        with runtime() as rt:
            revoked = reset_password(
                rt.uow(), username=username, password=_new_password(password), now=now()
            )
    except DomainError as err:
        fail(err)
    typer.echo(f"已重置用户 {username} 的密码，注销会话 {revoked} 个")


@users_app.command("sessions")
def users_sessions(
    username: str,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="End every session of the user.")
    ] = False,
) -> None:
    """A user's sessions, newest first (or, with --revoke, end them all)."""
    try:
        with runtime() as rt:
            at = now()
            if revoke:
                revoked = revoke_all_sessions(rt.uow(), username=username, now=at)
                typer.echo(f"已注销用户 {username} 的会话 {revoked} 个")
                return
            rows = list_sessions(rt.uow(), username=username, now=at)
    except DomainError as err:
        fail(err)
    if not rows:
        typer.echo(f"用户 {username} 没有会话")
    for s in rows:
        if s.revoked_at is not None:
            state = f"已注销 {local_minute(s.revoked_at)}"
        else:
            state = "有效" if s.live else "已过期"
        typer.echo(
            f"{s.id}\t登录 {local_minute(s.created_at)}\t最近活动 {local_minute(s.last_seen_at)}"
            f"\t最迟至 {local_minute(s.expires_at)}\t{s.address or '-'}\t{state}"
        )
