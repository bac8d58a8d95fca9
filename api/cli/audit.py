"""`tongban audit verify`: recompute the tamper-evident audit chains."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.services.audit.chain import verify_chains
from tongban.services.core.errors import DomainError

from .common import fail, runtime

audit_app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    case: Annotated[str | None, typer.Option("--case", help="Only this case number.")] = None,
) -> None:
    """Recompute the audit chains; exit 1 and list every break found."""
    try:
        with runtime() as rt:
            breaks = verify_chains(rt.uow(), case)
    except DomainError as err:
        fail(err)
    for item in breaks:
        typer.echo(f"BREAK {item}")
    if breaks:
        typer.secho(f"审计链校验失败：发现 {len(breaks)} 处断裂。", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo("审计链校验通过。")
