"""Start the reference server (`python -m ppreference`) as a separate process for self-tests.

    base_url, stop = start_reference_server("--rate-limit-per-minute", "5")
    try:
        ...  # talk to base_url like any target; admin endpoints under /__reference__/
    finally:
        stop()

The org secrets are `tests.test_suite_runs.SECRETS` (plus `env`), so a suite
run given the same SECRETS authenticates with the embedded profile.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .test_suite_runs import SECRETS

__all__ = ["admin", "free_port", "start_reference_server"]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_reference_server(*flags: str, env: dict[str, str] | None = None,
                           log_path: Path | None = None,
                           startup_timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Start the reference server on a free loopback port with `flags` appended to its command line.

    Returns `(base_url, stop)`; `stop()` terminates the process (kill after 10 s) and is idempotent.
    Raises RuntimeError, with the server's output, when it exits or does not answer
    GET /__reference__/health within `startup_timeout` seconds.
    """
    port = free_port()
    full_env = {**os.environ, **SECRETS, **(env or {})}
    full_env.pop("PP_REFERENCE_RATE_LIMIT", None)
    full_env.pop("PP_REFERENCE_TOKEN_TTL", None)
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "ppreference", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", *flags],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()

    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            stop()
            raise RuntimeError(f"the reference server exited with code {process.returncode}: {err}")
        try:
            if httpx.get(base_url + "/__reference__/health", timeout=1).status_code == 200:
                return base_url, stop
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"the reference server did not answer within {startup_timeout} s")


def admin(base_url: str, what: str) -> Any:
    """GET /__reference__/<what> (health, requests, state) as parsed JSON."""
    response = httpx.get(f"{base_url}/__reference__/{what}", timeout=10)
    response.raise_for_status()
    return response.json()
