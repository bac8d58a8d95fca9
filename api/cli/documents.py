"""`tongban documents render|verify`: a case's documents as sealed PDFs, and their seals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tongban.services.core.errors import DomainError
from tongban.services.documents.issue import issue_document, parse_kind, seal_of
from tongban.services.documents.layout import local
from tongban.services.documents.seal import Seal, verify_pdf

from .common import fail, now, runtime, settings

documents_app = typer.Typer(help="Documents (文书): render and verify.", no_args_is_help=True)


@documents_app.command("render")
def render_command(
    case_no: str,
    kind: Annotated[
        str,
        typer.Argument(
            help="receipt | supplement-notice | decline-notice | not-accepted-notice | "
            "transfer-slip | decision-notice | history"
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the PDF.")],
    unsigned: Annotated[
        bool, typer.Option("--unsigned", help="The bare deterministic content, without seal.")
    ] = False,
) -> None:
    """Render a case's document (sealed unless --unsigned); its first issue is recorded."""
    try:
        with runtime() as rt:
            doc = issue_document(
                rt.uow(),
                case_no=case_no,
                kind=parse_kind(kind),
                actor=None,
                now=now(),
                sealed=not unsigned,
            )
    except DomainError as err:
        fail(err)
    out.write_bytes(doc.pdf)
    typer.echo(f"{doc.title}（{doc.doc_no}）已写入 {out}")
    typer.echo(f"内容 SHA-256（未签章版本）：{doc.sha256}")
    if not doc.matches_record:
        typer.secho("注意：本次渲染与首次出具时记录的 SHA-256 不一致。", fg=typer.colors.YELLOW)


@documents_app.command("verify")
def verify_command(file: Path) -> None:
    """Who sealed a PDF, when, and whether its bytes are intact (exit 1 when not)."""
    seal: Seal | None = None
    try:
        with runtime() as rt:
            seal = seal_of(rt)
    except DomainError:
        seal = None  # no seal here: the file can still be checked, not matched to ours
    settings()
    result = verify_pdf(file.read_bytes(), seal)
    if not result.sealed:
        typer.secho(f"未通过：{result.problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"盖章者：{result.sealed_by or '（无法读取）'}")
    when = local(result.sealed_at) if result.sealed_at else "（未记录）"
    typer.echo(f"盖章时间：{when}")
    typer.echo("印章证书：" + ("本系统的电子印章" if result.ours else "不是本系统的电子印章"))
    if not result.ok:
        typer.secho(f"未通过：{result.problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.secho("通过：文件自盖章以来未被改动。", fg=typer.colors.GREEN)
