"""Start and stop the embedded reference server as a separate process.

The suite never imports the reference server: it runs `python -m ppreference`
in a subprocess on 127.0.0.1 and a free port, and talks to it over HTTP like
any target. The org credentials of `profiles/embedded.yaml` are generated
afresh for every run (unless the environment sets them) and handed to the server
in its process environment and to the suite in the run context.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppconformance.connection.client import PlainAnswer, TargetUnreachable, plain_request
from ppconformance.resources import checkout

__all__ = [
    "EMBEDDED_SECRET_VARS",
    "REFERENCE_PREFIX",
    "ReferenceOnly",
    "reference_admin",
    "EmbeddedServer",
    "EmbeddedServerError",
    "embedded_credentials",
    "start_embedded_server",
    "start_reference_process",
]

EMBEDDED_SECRET_VARS = (
    "PP_EMBEDDED_ENABLED_PASSWORD",
    "PP_EMBEDDED_ENABLED_OAUTH_KEY",
    "PP_EMBEDDED_ENABLED_OAUTH_SECRET",
    "PP_EMBEDDED_DISABLED_PASSWORD",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET",
)


REFERENCE_PREFIX = "/__reference__/"
"""Path prefix of the reference server's admin API (health, clock, webhooks, requests, state)."""


class ReferenceOnly(RuntimeError):
    """A request to the reference server's admin API was about to go to a target not declared to be one."""


def reference_admin(
    base_url: str,
    method: str,
    what: str,
    *,
    allowed: bool,
    json_body: Any = None,
    timeout: float = 10.0,
    read_body: bool = True,
) -> PlainAnswer:
    """`METHOD /__reference__/<what>` on the reference server at `base_url` (`what` e.g. "clock", "health").

    The one way the suite reaches the admin API: `allowed` says the target is the reference server (the
    embedded one, or `--reference-target`), and without it nothing is sent and `ReferenceOnly` is raised, so no
    other target ever sees a request under `/__reference__/`. Raises `TargetUnreachable` on a transport error.
    """
    if not allowed:
        raise ReferenceOnly(
            f"not sent: {method} {REFERENCE_PREFIX}{what} is the reference server's admin API, and {base_url} is "
            "not declared a reference server (--reference-target)"
        )
    url = base_url.rstrip("/") + REFERENCE_PREFIX + what
    return plain_request(method, url, json_body=json_body, timeout=timeout, read_body=read_body)


class EmbeddedServerError(Exception):
    """The reference server did not start (its log file is named in the message)."""


@dataclass
class EmbeddedServer:
    """A running reference server: its base URL, process and log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process and wait up to `timeout` seconds (then kill it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_reference_process(
    log_path: Path,
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    python: str | None = None,
    startup_timeout: float = 30.0,
) -> EmbeddedServer:
    """Start `python -m ppreference [args]` on a free loopback port, its output in `log_path`, and wait until
    GET /__reference__/health answers 200.

    `env` is the process environment (default `os.environ`; it must hold the org secrets), `python` the
    interpreter (default this one). Raises `EmbeddedServerError`, with the log's tail, when the process
    exits or does not answer within `startup_timeout` seconds. Used by the embedded run, the fault sweep
    and the self-tests.
    """
    port = _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                python or sys.executable,
                "-m",
                "ppreference",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ if env is None else env),
            cwd=checkout() or Path.cwd(),
        )
    server = EmbeddedServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(
                f"the reference server exited with code {process.returncode}; see {log_path}:\n{_tail(log_path)}"
            )
        try:
            if reference_admin(server.base_url, "GET", "health", allowed=True, timeout=1).status == 200:
                return server
        except TargetUnreachable:
            pass
        time.sleep(0.1)
    server.stop()
    raise EmbeddedServerError(
        f"the reference server did not answer within {startup_timeout} s; see {log_path}:\n{_tail(log_path)}"
    )


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def embedded_credentials(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The credentials of the embedded server's orgs: for each name of `EMBEDDED_SECRET_VARS`, the value
    `environ` (default `os.environ`) gives it, or a fresh random one. The result is a secret: it travels in
    the run context (`ppconformance.plugin.runcontext.RunContext.embedded_env`), never through `os.environ`."""
    source = os.environ if environ is None else environ
    return {name: source.get(name) or secrets.token_urlsafe(18) for name in EMBEDDED_SECRET_VARS}


def start_embedded_server(
    log_path: Path, credentials: Mapping[str, str], *, startup_timeout: float = 30.0
) -> EmbeddedServer:
    """Start the embedded target with `credentials` (from `embedded_credentials`) in its environment, through
    `start_reference_process`; the suite's profile reads the same names through the run context."""
    return start_reference_process(log_path, env={**os.environ, **credentials}, startup_timeout=startup_timeout)
