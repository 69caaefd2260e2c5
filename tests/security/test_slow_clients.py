"""Slow and greedy clients against the real server (case 7), with its limits set short by the fixture:
1 s for headers, 1 s for a body, 20 connections per client address per worker."""

from __future__ import annotations

import socket
import statistics
import time

from tests.security.conftest import SLOW_CLIENT_ENV, WORKERS, Server

CAP = int(SLOW_CLIENT_ENV["JINEF_MAX_CONNS_PER_CLIENT"]) * WORKERS  # each worker counts its own
DEADLINE = float(SLOW_CLIENT_ENV["JINEF_HEADER_TIMEOUT"])
PARTIAL_HEADERS = b"GET /v1/postcodes/1111300003 HTTP/1.1\r\nHost: jinef\r\nX-API-Key: jnf_"
PARTIAL_BODY = (b"POST /v1/postcodes/lookup HTTP/1.1\r\nHost: jinef\r\nContent-Type: application/json\r\n"
                b"Content-Length: 200\r\n\r\n{\"postcodes\": [\"11113")


def _connect(port: int, source: str, first: bytes) -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))  # another loopback address: the attacker is another client than the probes below
    s.connect(("127.0.0.1", port))
    s.sendall(first)
    s.setblocking(False)
    return s


def _open(s: socket.socket) -> bool:
    """True while the server keeps the connection (whatever it wrote before closing is read and dropped)."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def _lookup_latencies(server: Server, key: str, n: int) -> list[float]:
    times = []
    with server.client(key) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            assert c.get("/v1/postcodes/1111300003").status_code in (200, 404)
            times.append(time.perf_counter() - t0)
    return times


def test_case07_slow_clients_are_capped_and_cut_off(server: Server) -> None:
    key = server.key("sec7-probe", ("lookup",))
    started = time.monotonic()
    socks = [_connect(server.port, "127.0.0.2", PARTIAL_HEADERS if i % 2 else PARTIAL_BODY) for i in range(300)]
    try:
        time.sleep(0.3)
        held = sum(_open(s) for s in socks)
        assert held <= CAP, f"{held} slow connections held open from one address (cap {CAP})"
        # Everyone else is still answered, and quickly.
        latencies = _lookup_latencies(server, key, 30)
        assert statistics.median(latencies) < 0.1, latencies
        # Every slow connection is closed by the server once its deadline passed.
        while any(_open(s) for s in socks) and time.monotonic() - started < DEADLINE + 5:
            time.sleep(0.2)
        still = sum(_open(s) for s in socks)
        assert still == 0, f"{still} slow connections still open {time.monotonic() - started:.1f} s later"
    finally:
        for s in socks:
            s.close()


def test_case07_a_kept_alive_connection_that_stalls_its_next_request_is_cut_off(server: Server) -> None:
    s = socket.create_connection(("127.0.0.1", server.port))
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: jinef\r\n\r\n")
        s.settimeout(5)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: ")  # and nothing more
        t0 = time.monotonic()
        rest = b""
        while chunk := s.recv(65536):
            rest += chunk
        whole = first + rest  # (the first answer's body may only come now)
        assert whole.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 408" in whole, whole[-300:]
        assert time.monotonic() - t0 < DEADLINE + 3
    finally:
        s.close()
