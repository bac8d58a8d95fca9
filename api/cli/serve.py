"""`tongban serve`: the JSON API and the workbench, and the deadline sweeper beside them."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from tongban.services.core.errors import DomainError
from tongban.services.deadlines.scheduler import start_sweeper
from tongban.services.demo import load_demo

from ..app import create_app
from .common import fail, now, runtime


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes serving requests.")
    ] = 1,
    demo_data: Annotated[bool, typer.Option("--demo", help="Load demo data first.")] = False,
    no_sweeper: Annotated[
        bool, typer.Option("--no-sweeper", help="Leave deadline sweeping to `tongban worker`.")
    ] = False,
) -> None:
    """Run the web API and workbench (and the deadline sweeper, unless --no-sweeper).

    With --workers N, N processes serve requests, each with its own runtime from the
    environment; this process loads the demo data and runs the one sweeper.
    """
    try:
        with runtime(init=True) as rt:
            if demo_data:
                load_demo(rt.uow(), now=now())
            if not no_sweeper:
                start_sweeper(rt)
            if workers == 1:
                uvicorn.run(create_app(rt), host=host, port=port, log_config=None)
            else:
                uvicorn.run(
                    "tongban.api.app:from_environment",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_config=None,
                )
    except DomainError as err:
        fail(err)
