"""`tongban catalog load|export`: the national catalog of 跨省通办 items."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tongban.services.catalog.items import catalog_csv, export_catalog, load_catalog
from tongban.services.core.errors import DomainError

from .common import fail, runtime
from .output import write

catalog_app = typer.Typer(help="The national catalog of 跨省通办 items.", no_args_is_help=True)


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"


@catalog_app.command("load")
def catalog_load() -> None:
    """Upsert the shipped catalog into the database (idempotent)."""
    try:
        with runtime(init=True) as rt:
            report = load_catalog(rt.uow())
    except DomainError as err:
        fail(err)
    typer.echo(f"事项清单：新增 {report.added}，更新 {report.updated}，未变 {report.unchanged}")


@catalog_app.command("export")
def catalog_export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="json | csv")] = ExportFormat.json,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Write the catalog in the database (after `tongban init`) as JSON or CSV (UTF-8 BOM)."""
    try:
        with runtime() as rt:
            rows = export_catalog(rt.uow())
    except DomainError as err:
        fail(err)
    if fmt is ExportFormat.json:
        data = (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    else:
        data = catalog_csv(rows).encode("utf-8")
    write(data, out)
