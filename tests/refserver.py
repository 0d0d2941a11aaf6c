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
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ppconformance.connection.embedded import EmbeddedServerError, start_reference_process

from .test_suite_runs import SECRETS

__all__ = ["admin", "start_reference_server"]

ROOT = Path(__file__).resolve().parents[1]


def start_reference_server(
    *flags: str, env: dict[str, str] | None = None, log_path: Path | None = None, startup_timeout: float = 30.0
) -> tuple[str, Callable[[], None]]:
    """Start the reference server on a free loopback port with `flags` appended to its command line
    (`ppconformance.connection.embedded.start_reference_process`), with SECRETS and `env` in its environment.

    Returns `(base_url, stop)`; `stop()` terminates the process (kill after 10 s) and is idempotent.
    Raises RuntimeError, with the server's output, when it exits or does not answer
    GET /__reference__/health within `startup_timeout` seconds.
    """
    full_env = {**os.environ, **SECRETS, **(env or {})}
    full_env.pop("PP_REFERENCE_RATE_LIMIT", None)
    full_env.pop("PP_REFERENCE_TOKEN_TTL", None)
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="ppreference-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    try:
        server = start_reference_process(log_path, args=flags, env=full_env, startup_timeout=startup_timeout)
    except EmbeddedServerError as exc:
        raise RuntimeError(str(exc)) from exc
    return server.base_url, server.stop


def admin(base_url: str, what: str) -> Any:
    """GET /__reference__/<what> (health, requests, state) as parsed JSON."""
    response = httpx.get(f"{base_url}/__reference__/{what}", timeout=10)
    response.raise_for_status()
    return response.json()
