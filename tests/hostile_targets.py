"""Hostile targets for self-tests: a loopback HTTP server that misbehaves in one chosen way.

`serve(mode)` starts a raw-socket server on 127.0.0.1 and a free port in a
background thread and returns its base URL and a function that stops it. The
server speaks just enough HTTP/1.1 to read a request (headers and a
`Content-Length` body) and then, for every request, does what `mode` says:

- ``hang``: reads the request and never answers (the connection stays open until `stop`);
- ``reset``: reads the request, then closes with SO_LINGER 0, so the client sees a connection reset;
- ``error500``: answers HTTP 500 with a JSON body;
- ``invalid_json``: answers HTTP 200, ``Content-Type: application/json``, body ``{not json``;
- ``slow``: sends the status line and headers at once, then the body one byte per second;
- ``huge``: answers HTTP 200 with a 50 MB JSON-looking body (``Content-Length`` set), streamed in chunks.

The suite's reachability probe (`ppconformance.connection.client.probe_target`) is a GET of
the base URL that needs only the status line and headers. ``slow`` and
``huge`` pass it by themselves; ``hang`` and ``reset`` fail it, unless
`serve(..., answer_probe=True)` is given: then a GET of ``/`` is answered
HTTP 404 at once, and the run meets the hostile behaviour only afterwards (in
discovery or in the scenarios).

The server shares nothing with the reference server or the suite.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

__all__ = ["HUGE_BODY_BYTES", "MODES", "HostileTarget", "serve"]

#: The modes `serve` accepts.
MODES = ("hang", "reset", "error500", "invalid_json", "slow", "huge")
#: Size of the body the ``huge`` mode announces and sends.
HUGE_BODY_BYTES = 50 * 1024 * 1024
_CHUNK = 64 * 1024
_MAX_HEAD = 64 * 1024
_SLOW_BODY = b'{"slow": "' + b"." * 40 + b'"}'


class HostileTarget:
    """One hostile server: `start` it, read `base_url`, `stop` it.

    Arguments: `mode` — one of `MODES`; `answer_probe` — answer a GET of ``/``
    with HTTP 404 at once whatever the mode (see the module docstring).
    `requests` counts the requests read, by request line (e.g. ``"POST /v2/customers"``).
    """

    def __init__(self, mode: str, *, answer_probe: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode
        self.answer_probe = answer_probe
        self.requests: list[str] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept_loop, name=f"hostile-{mode}", daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> HostileTarget:
        """Listen and serve in a background thread; returns self."""
        self._listener.listen(64)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open connection and wait briefly for the accept thread. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
            except OSError:
                pass
            _close(conn)
        self._thread.join(timeout=5)

    # -- serving -------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()

    def _serve_connection(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                request_line, buffer = _read_request(conn, buffer)
                if request_line is None:
                    return
                self.requests.append(request_line)
                method, _, rest = request_line.partition(" ")
                if self.answer_probe and method == "GET" and rest.split(" ")[0] in ("", "/"):
                    _respond(conn, 404, b'{"message": "hostile target: nothing here"}')
                    continue
                if not self._misbehave(conn):
                    return
        except OSError:
            return  # the client went away (reset, broken pipe): nothing more to do
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close(conn)

    def _misbehave(self, conn: socket.socket) -> bool:
        """Answer one request as `mode` says; False when the connection must not be used again."""
        if self.mode == "hang":
            self._stopping.wait()
            return False
        if self.mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False  # closing with linger 0 sends RST
        if self.mode == "error500":
            _respond(conn, 500, b'{"status": false, "code": 500, "message": "hostile target: internal error"}')
            return True
        if self.mode == "invalid_json":
            _respond(conn, 200, b"{not json")
            return True
        if self.mode == "slow":
            conn.sendall(_head(200, len(_SLOW_BODY)))
            for byte in _SLOW_BODY:
                if self._stopping.wait(1.0):
                    return False
                conn.sendall(bytes([byte]))
            return True
        # huge
        conn.sendall(_head(200, HUGE_BODY_BYTES))
        chunk = b'{"pad": "' + b"x" * (_CHUNK - 9)
        sent = 0
        while sent < HUGE_BODY_BYTES and not self._stopping.is_set():
            piece = chunk[: HUGE_BODY_BYTES - sent]
            conn.sendall(piece)
            sent += len(piece)
        return sent == HUGE_BODY_BYTES


def _head(status: int, length: int) -> bytes:
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
        f"Server: hostile-target\r\n\r\n"
    ).encode("ascii")


def _respond(conn: socket.socket, status: int, body: bytes) -> None:
    conn.sendall(_head(status, len(body)) + body)


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[str | None, bytes]:
    """Read one request (head and `Content-Length` body) from `conn`; returns (request line, what is left over),
    or (None, b"") when the client closed the connection or sent no valid head."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD:
            return None, b""
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(buffer) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    return lines[0], buffer[length:]


def _close(conn: socket.socket) -> None:
    try:
        conn.close()
    except OSError:
        pass


def serve(mode: str, *, answer_probe: bool = False) -> tuple[str, Callable[[], None]]:
    """Start a hostile target in `mode` (one of `MODES`) on a free loopback port.

    Returns (base URL, stop): call `stop()` to shut the server down and close its connections.
    `answer_probe=True` answers a GET of ``/`` with HTTP 404 at once (module docstring).
    """
    target = HostileTarget(mode, answer_probe=answer_probe).start()
    return target.base_url, target.stop
