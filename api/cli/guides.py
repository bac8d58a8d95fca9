"""`tongban guides scaffold|validate|render`: the operating guides (操作指南)."""

from __future__ import annotations

import time
from enum import StrEnum
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

from tongban.services.catalog.items import read_catalog
from tongban.services.core.errors import DomainError
from tongban.services.guides.render import document_from_files, render
from tongban.services.guides.scaffold import scaffold_guides
from tongban.services.guides.store import guide_folder
from tongban.services.guides.validation import catalog_index, validate_folder

from .common import fail
from .output import write

guides_app = typer.Typer(
    help="Operating guides (操作指南): scaffold defaults, validate, render.", no_args_is_help=True
)


class GuideFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    md = "md"


def _shown(folder: Traversable) -> str:
    """A folder as people read it: relative to the working directory when inside it."""
    try:
        return str(Path(str(folder)).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


@guides_app.command("scaffold")
def guides_scaffold(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Guide folder (default: the package's operating_guides)."),
    ] = None,
) -> None:
    """Write a default guide (status: default) for every catalog item lacking one; never
    overwrites an existing guide."""
    target = folder or Path(str(guide_folder()))
    if not target.is_dir():
        typer.secho(f"错误：目录 {target} 不存在。", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        report = scaffold_guides(target, read_catalog())
    except DomainError as err:
        fail(err)
    for code in report.created:
        typer.echo(f"已生成默认指南 {target / f'{code}.md'}")
    typer.echo(f"操作指南：新生成 {len(report.created)} 份，已有 {report.kept} 份（未改动）。")


@guides_app.command("validate")
def guides_validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="A guide file or folder (default: the shipped guides)."),
    ] = None,
    require_all: Annotated[
        bool | None,
        typer.Option(
            "--require-all/--no-require-all",
            help="Every catalog item must have a guide (default: only for the shipped guides).",
        ),
    ] = None,
) -> None:
    """Check every guide; print each error as file:line: message; exit 1 on any error."""
    if path is not None and not path.exists():
        typer.secho(f"错误：{path} 不存在。", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    folder: Traversable = path if path is not None else guide_folder()
    label = str(path) if path is not None else _shown(folder)
    catalog = catalog_index(file=str(Path(_shown(guide_folder())).parent / "catalog.yaml"))
    started = time.perf_counter()
    report = validate_folder(
        folder,
        catalog=catalog,
        require_every_item=path is None if require_all is None else require_all,
        label=label,
    )
    elapsed = time.perf_counter() - started
    for error in report.errors:
        typer.echo(str(error))
    summary = f"操作指南校验：{report.files} 份，错误 {len(report.errors)} 处（{elapsed:.2f} 秒）。"
    if report.errors:
        typer.secho(summary, fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(summary, err=True)


@guides_app.command("render")
def guides_render(
    item: Annotated[str, typer.Argument(help="Item code, e.g. 1-01.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file; '-' for stdout (default: ITEM.FMT).")
    ] = None,
    fmt: Annotated[GuideFormat, typer.Option("--format", help="pdf | html | md")] = GuideFormat.pdf,
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Guide folder (default: the package's operating_guides)."),
    ] = None,
) -> None:
    """Render an item's guide (catalog data, default-template banner, sections, materials)."""
    try:
        data = render(document_from_files(item, folder), fmt.value)
    except DomainError as err:
        fail(err)
    write(data, out if out is not None else Path(f"{item}.{fmt.value}"))
