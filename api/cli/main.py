"""The `tongban` command line. Thin: parse, call a service, print. One module per command
(or group of commands), all registered here."""

from __future__ import annotations

import typer

from .audit import audit_app
from .bench import bench_app
from .calendar import calendar_app
from .catalog import catalog_app
from .departments import departments_app
from .documents import documents_app
from .files import files_app
from .guides import guides_app
from .report import report_app
from .serve import serve
from .setup import demo, init, user_add
from .users import users_app
from .worker import worker

app = typer.Typer(
    help="tongban 通办: cross-location government service cases.", no_args_is_help=True
)
app.command()(init)
app.command()(demo)
app.command("user-add", hidden=True)(user_add)  # the earlier name of `users add`
app.command()(serve)
app.command()(worker)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_app, name="catalog")
app.add_typer(departments_app, name="departments")
app.add_typer(guides_app, name="guides")
app.add_typer(documents_app, name="documents")
app.add_typer(calendar_app, name="calendar")
app.add_typer(report_app, name="report")
app.add_typer(files_app, name="files")
app.add_typer(bench_app, name="bench")


def main() -> None:
    app()
