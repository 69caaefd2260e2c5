"""Slow and greedy clients: deadlines for a request's headers and body, and a cap on connections per client.

uvicorn bounds the idle time between requests (``timeout_keep_alive``), the size of an unfinished
request (``h11_max_incomplete_event_size``, h11 only) and the connections and tasks of a worker
(``limit_concurrency``: beyond it every request gets a 503). It has no deadline for a request
that is being sent: a connection that opens and sends nothing, or sends its headers or body a
byte at a time, is kept for ever, so a few hundred of them from one address hold a worker's
sockets and memory and slow everyone (the "slowloris" attack). Nor does it limit one client's
connections, so ``limit_concurrency`` alone would turn one greedy client into a 503 for everyone.

:class:`GuardedHttpToolsProtocol` is uvicorn's httptools protocol (the one ``uvicorn[standard]``
runs) with three additions:

- **header deadline**: from the moment a connection opens, or a new request starts on a kept-alive
  one, its request line and headers must be complete within ``header_timeout`` seconds, or the
  server answers 408 and closes;
- **body deadline**: the whole body must arrive within ``body_timeout`` seconds of the headers,
  or the connection is closed (the app then sees the client gone);
- **connections per client**: one address may hold at most ``max_per_client`` open connections
  per worker process; one more is answered 429 at once and closed.

The limits are settings (``JINEF_HEADER_TIMEOUT``, ``JINEF_BODY_TIMEOUT``, ``JINEF_MAX_CONNS_PER_CLIENT``, see
:mod:`jinef.common.settings`), which ``jinef serve`` puts in the environment from its options: uvicorn's workers are
fresh processes that import this class by name. Each worker counts its own connections (the kernel
spreads a client's connections over the workers), so with N workers one address holds at most
N × ``max_per_client``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from jinef.common.settings import Settings, settings

_open_per_client: dict[str, int] = {}  # this worker's open connections, by client address


def _response(status: str, body: bytes, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status.encode("ascii") + b"\r\ncontent-type: application/json\r\n" + extra +
            b"connection: close\r\ncontent-length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body)


_TIMEOUT = _response("408 Request Timeout",
                     b'{"error":{"status":408,"code":"request_timeout",'
                     b'"message":"the request headers did not arrive in time"}}')
_TOO_MANY = _response("429 Too Many Requests",
                      b'{"error":{"status":429,"code":"too_many_connections",'
                      b'"message":"too many open connections from this address"}}', b"retry-after: 1\r\n")


@functools.cache
def _limits() -> Settings:
    # Read once per worker: `jinef serve` sets them before the workers start, and every connection makes a protocol.
    return settings()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and a per-client connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = _limits()
        self.header_timeout = limits.header_timeout
        self.body_timeout = limits.body_timeout
        self.max_per_client = limits.max_conns_per_client
        self._deadline: asyncio.TimerHandle | None = None
        self._counted: str | None = None  # the client address this connection is counted under

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection under its client address (refuse it over the cap); the header deadline starts."""
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        open_now = _open_per_client.get(host, 0)
        if self.max_per_client > 0 and open_now >= self.max_per_client:
            transport.write(_TOO_MANY)
            transport.close()
            return
        _open_per_client[host] = open_now + 1
        self._counted = host
        self._arm(self.header_timeout, headers=True)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadline and uncount the connection."""
        self._disarm()
        if self._counted is not None:
            left = _open_per_client.get(self._counted, 1) - 1
            if left > 0:
                _open_per_client[self._counted] = left
            else:
                _open_per_client.pop(self._counted, None)
            self._counted = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A new request on this connection: its headers have ``header_timeout`` seconds."""
        super().on_message_begin()
        self._arm(self.header_timeout, headers=True)

    def on_headers_complete(self) -> None:
        """Headers in: the body has ``body_timeout`` seconds."""
        super().on_headers_complete()
        self._arm(self.body_timeout, headers=False)

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline while the app answers (idle time is uvicorn's keep-alive)."""
        super().on_message_complete()
        self._disarm()

    def _arm(self, seconds: float, *, headers: bool) -> None:
        self._disarm()
        if seconds > 0 and not self.transport.is_closing():
            self._deadline = self.loop.call_later(seconds, self._expired, headers)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, headers: bool) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if headers and (self.cycle is None or self.cycle.response_complete):
            # No app is answering on this connection: it may be told why before it is closed.
            self.transport.write(_TIMEOUT)
        self.transport.close()
