"""`tongban serve --workers N`: the shared listener's connections send without delay."""

from __future__ import annotations

import socket

from tongban.api.cli.serve import NoDelayConfig


def test_connections_accepted_for_workers_have_tcp_nodelay() -> None:
    # Without it each keep-alive response waits for the client's delayed ACK (~40 ms).
    config = NoDelayConfig("tongban.api.app:from_environment", host="127.0.0.1", port=0)
    listener = config.bind_socket()
    listener.listen()
    try:
        with socket.create_connection(listener.getsockname()[:2]) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                accepted.sendall(b"ok")
                assert client.recv(2) == b"ok"
    finally:
        listener.close()
