"""`tongban serve`: the JSON API and the workbench, and the deadline sweeper beside them."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from tongban.services.core.errors import DomainError
from tongban.services.deadlines.scheduler import start_sweeper
from tongban.services.demo import load_demo
from tongban.services.users.secret import ensure_session_secret

from ..app import create_app
from .common import demo_seal, fail, now, runtime


class NoDelayConfig(uvicorn.Config):
    """uvicorn binds the listener that its worker processes share with `proto` 0, and
    asyncio sets TCP_NODELAY only on accepted sockets that say IPPROTO_TCP, so with
    --workers N every keep-alive response waited ~40 ms for the client's delayed ACK
    (Kludex/uvicorn#3149; `tongban bench http --workers 2`: 157 req/s, p50 48 ms). Linux
    copies TCP_NODELAY from the listener to each connection it accepts."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


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
            ensure_session_secret(rt.settings)  # before the workers read it
            if demo_data:
                demo_seal(rt)
                load_demo(rt.uow(), now=now())
            if not no_sweeper:
                start_sweeper(rt)
            if workers == 1:
                uvicorn.run(create_app(rt), host=host, port=port, log_config=None)
            else:
                config = NoDelayConfig(
                    "tongban.api.app:from_environment",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_config=None,
                )
                Multiprocess(config, sockets=[config.bind_socket()]).run()
    except DomainError as err:
        fail(err)
