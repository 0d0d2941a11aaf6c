"""The provisioning journal: every link the suite creates, written down before the request is sent.

Layout: `<journal_dir>/<target key>/<run id>-<process>.jsonl`, one JSON object a
line, appended and flushed with `os.fsync` so that a run killed at any moment
leaves a journal the next run can clean up. `<target key>` is the first 16 hex
digits of sha256(base URL) and the directory holds `target.json`
(`{"base_url", "ephemeral"}`). Line shapes:

    {"op": "link", "org": "staging", "customer": {"mobile": "9199…", "id": 301}, "program": "SPP_1",
     "supplementary": true, "at": "2026-11-22T01:02:03Z"}
    {"op": "clean", "org": "staging", "customer": {...}, "program": "SPP_1", "at": "..."}

An entry is *open* from its "link" line until a "clean" line for the same org,
customer and program. A file whose entries are all closed is deleted. The
journal of an ephemeral target (the embedded reference server, whose state
dies with it) is removed at the end of its run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Journal", "JournalEntry", "RunMarker", "open_entries", "remove_target", "target_dir"]


@dataclass(frozen=True)
class JournalEntry:
    """An open link: the org's name, the customer object as sent (identifiers), the program name,
    whether the program is supplementary (a relink may be pending), and the file it is in."""

    org: str
    customer: tuple[tuple[str, Any], ...]
    program: str
    supplementary: bool
    path: Path

    @property
    def customer_obj(self) -> dict[str, Any]:
        """The customer identifiers as a request's `customer` object."""
        return dict(self.customer)


def _customer_key(customer: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in customer.items() if v not in ("", None)))


def target_dir(journal_dir: Path | str, base_url: str) -> Path:
    """The journal directory of the target at `base_url` under `journal_dir`."""
    key = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]
    return Path(journal_dir) / key


class Journal:
    """The journal file of one process of one run.

    Arguments: `journal_dir` (profile key), `base_url` of the target, `run_id`,
    `process` ("main" or the xdist worker id), `ephemeral` (True for the
    embedded server). Raises OSError when the directory cannot be written.
    """

    def __init__(
        self, journal_dir: Path | str, base_url: str, run_id: str, process: str = "main", *, ephemeral: bool = False
    ) -> None:
        self.dir = target_dir(journal_dir, base_url)
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "target.json"
        if not meta.exists():
            meta.write_text(json.dumps({"base_url": base_url, "ephemeral": ephemeral}) + "\n", encoding="utf-8")
        self.path = self.dir / f"{run_id}-{process}.jsonl"
        self.run_id = run_id

    def _append(self, record: dict[str, Any]) -> None:
        record["at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _append_line(self.path, record)

    def record(self, org: str, customer: dict[str, Any], programs: Iterable[tuple[str, bool]]) -> list[JournalEntry]:
        """Write a "link" line for each `(program name, supplementary?)` before the link request is sent;
        returns the entries written."""
        out = []
        for program, supplementary in programs:
            self._append(
                {
                    "op": "link",
                    "org": org,
                    "customer": dict(_customer_key(customer)),
                    "program": program,
                    "supplementary": supplementary,
                }
            )
            out.append(JournalEntry(org, _customer_key(customer), program, supplementary, self.path))
        return out

    def close_entry(self, entry: JournalEntry) -> None:
        """Write the "clean" line of `entry` into the file it came from (deleted once all its entries are closed)."""
        self.close_entries([entry])

    def close_entries(self, entries: Iterable[JournalEntry]) -> None:
        """`close_entry` for many entries: one write and one fsync per file."""
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        by_path: dict[Path, list[dict[str, Any]]] = {}
        for entry in entries:
            record = {"op": "clean", "org": entry.org, "customer": dict(entry.customer), "program": entry.program}
            by_path.setdefault(entry.path, []).append({**record, "at": at})
        for path, records in by_path.items():
            _append_lines(path, records)
            if path.exists() and not _open_in(path):
                path.unlink()

    def open_entries(self) -> list[JournalEntry]:
        """The open entries of this process's own file."""
        return _open_in(self.path) if self.path.exists() else []


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """Append `record` as one JSON line and fsync; a last line cut by a kill is ended first."""
    _append_lines(path, [record])


def _append_lines(path: Path, records: list[dict[str, Any]]) -> None:
    """Append `records` as JSON lines with one fsync; a last line cut by a kill is ended first."""
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _open_in(path: Path) -> list[JournalEntry]:
    open_: dict[tuple[Any, ...], JournalEntry] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill: the request it announced was never sent
        key = (rec.get("org"), _customer_key(rec.get("customer", {})), rec.get("program"))
        if rec.get("op") == "link":
            open_[key] = JournalEntry(key[0], key[1], key[2], bool(rec.get("supplementary")), path)
        elif rec.get("op") == "clean":
            open_.pop(key, None)
    return list(open_.values())


class RunMarker:
    """`<run id>.run.json` beside the journal while a run is live: `{"host", "pid", "started"}`.

    A later run leaves the journal of a live run alone: same host and its pid
    alive, or another host and the marker younger than `LIVE_SECONDS`.
    """

    LIVE_SECONDS = 3600

    def __init__(self, journal_dir: Path | str, base_url: str, run_id: str) -> None:
        self.path = target_dir(journal_dir, base_url) / f"{run_id}.run.json"

    def create(self) -> None:
        """Write the marker for this process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}) + "\n",
            encoding="utf-8",
        )

    def remove(self) -> None:
        """Delete the marker (the run ended)."""
        self.path.unlink(missing_ok=True)

    @staticmethod
    def is_live(directory: Path, run_id: str) -> bool:
        """True when the run `run_id` whose journal is in `directory` may still be running."""
        try:
            meta = json.loads((directory / f"{run_id}.run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if meta.get("host") == socket.gethostname():
            try:
                os.kill(int(meta["pid"]), 0)
            except (OSError, ValueError, KeyError):
                return False
            return True
        return bool(time.time() - float(meta.get("started", 0)) < RunMarker.LIVE_SECONDS)


def open_entries(
    journal_dir: Path | str, base_url: str, *, run_id: str | None = None, exclude_run: str | None = None
) -> list[JournalEntry]:
    """Every open entry of the target's journal files: those of `run_id` only, or of every run except
    `exclude_run` that is not live (see `RunMarker`). Files whose entries are all closed are deleted."""
    directory = target_dir(journal_dir, base_url)
    if not directory.is_dir():
        return []
    out: list[JournalEntry] = []
    for path in sorted(directory.glob("*.jsonl")):
        rid = path.stem.rsplit("-", 1)[0]
        if (run_id is not None and rid != run_id) or (exclude_run is not None and rid == exclude_run):
            continue
        if run_id is None and RunMarker.is_live(directory, rid):
            continue
        entries = _open_in(path)
        if entries:
            out += entries
        else:
            path.unlink(missing_ok=True)
    for marker in directory.glob("*.run.json"):  # markers of dead runs whose journal is gone
        rid = marker.name.split(".")[0]
        if rid != run_id and not RunMarker.is_live(directory, rid) and not list(directory.glob(f"{rid}-*.jsonl")):
            marker.unlink(missing_ok=True)
    return out


def remove_target(journal_dir: Path | str, base_url: str) -> None:
    """Delete the whole journal of a target (used for the ephemeral embedded server)."""
    shutil.rmtree(target_dir(journal_dir, base_url), ignore_errors=True)
