"""The evidence bundle of one run: what ran, against what, with which stances, and proof nothing was altered.

The vendor and the buyer each keep a copy; `python -m ppconformance.evidence verify BUNDLE` re-checks one.
`write_bundle` writes a directory and the tarball `<dir>.tar.gz` holding it under its own name. The layout:

    run.json               the run's metadata (suite_version, git_revision, base_url, profile, started, finished,
                           strict, exit_code, command) plus `bundle_format` and `notes` (what the bundle lacks or
                           skipped, e.g. traffic lines that were not JSON)
    conformance.json/.md/.html, junit.xml, effective-profile.json, diff.md
                           copies of those reports that exist
    traffic.har            every exchange with the target, HAR 1.2, sorted by start; `_scenario` is the pytest node
    sources.sha256         SHA-256 of the schemas, catalogue, features and steps the suite ran with
    MANIFEST.sha256        SHA-256 of every other file, written last

Both `.sha256` files are in `sha256sum` format (`<hex>  <path>`, sorted by path), so `sha256sum -c MANIFEST.sha256`
works inside the directory too. Every text file is redacted with the run's secrets before it is hashed.
"""

from __future__ import annotations

import argparse
import hashlib
import http
import json
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ppconformance import __version__
from ppconformance.connection.client import redact_text
from ppconformance.resources import catalogue_dir, features_dir, schemas_dir, steps_dir

__all__ = ["BUNDLE_FORMAT", "REPORT_FILES", "BundleError", "VerifyResult", "main", "verify", "write_bundle"]

BUNDLE_FORMAT = 1
REPORT_FILES = (
    "conformance.json",
    "conformance.md",
    "conformance.html",
    "junit.xml",
    "effective-profile.json",
    "diff.md",
)
"""The reports of `reports_dir` copied into the bundle when they exist."""
MANIFEST = "MANIFEST.sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")


class BundleError(Exception):
    """The path is not a readable evidence bundle (missing, not a directory or tarball, unsafe tar member)."""


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found: `intact` is True when `problems` is empty; `summary` is the verdict and run the
    bundle records (several lines, for people)."""

    intact: bool
    problems: list[str]
    summary: str


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sums(files: dict[str, Path]) -> str:
    """`sha256sum` lines (`<hex>  <relative path>`) of `{relative path: file}`, sorted by path."""
    return "".join(f"{_sha256(files[rel])}  {rel}\n" for rel in sorted(files))


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (JSON data) with every string redacted, so a secret is caught even where JSON would escape it."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redact_text(str(k), secrets): _redact(v, secrets) for k, v in value.items()}
    return value


def _write_json(path: Path, data: Any, secrets: tuple[str, ...]) -> None:
    text = json.dumps(_redact(data, secrets), indent=2, ensure_ascii=False) + "\n"
    path.write_text(redact_text(text, secrets), encoding="utf-8")


def _headers(headers: Any) -> list[dict[str, str]]:
    return [{"name": str(k), "value": str(v)} for k, v in (headers or {}).items()]


def _mime(headers: Any) -> str:
    return next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "content-type"), "")


def _when(started: Any) -> datetime:
    try:
        when = datetime.fromisoformat(str(started))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _har_entry(rec: dict[str, Any]) -> dict[str, Any]:
    """One HAR 1.2 entry from one traffic record (the suite's `traffic/*.jsonl` line)."""
    elapsed = float(rec.get("elapsed_ms") or 0)
    url = str(rec.get("url") or "")
    body = rec.get("request_body")
    request: dict[str, Any] = {
        "method": str(rec.get("method") or ""),
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(rec.get("request_headers")),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": 0,
    }
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        request["postData"] = {"mimeType": _mime(rec.get("request_headers")), "text": text}
        request["bodySize"] = len(text.encode("utf-8"))
    status = int(rec.get("status") or 0)
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    text = str(rec.get("response_text") or "")
    size = len(text.encode("utf-8"))
    mime = _mime(rec.get("response_headers"))
    return {
        "startedDateTime": str(rec.get("started") or ""),
        "time": elapsed,
        "request": request,
        "response": {
            "status": status,
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _headers(rec.get("response_headers")),
            "content": {"size": size, "mimeType": mime, "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": elapsed, "receive": 0},
        "_scenario": rec.get("scenario"),
    }


def _har(traffic_dir: Path, notes: list[str]) -> dict[str, Any]:
    """The HAR document of every `*.jsonl` of `traffic_dir`; lines that are not JSON objects go to `notes`."""
    records: list[dict[str, Any]] = []
    for path in sorted(traffic_dir.glob("*.jsonl")) if traffic_dir.is_dir() else []:
        skipped = 0
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if isinstance(rec, dict):
                records.append(rec)
            else:
                skipped += 1
        if skipped:
            notes.append(f"traffic/{path.name}: {skipped} line(s) not a JSON object, left out of traffic.har")
    if not traffic_dir.is_dir():
        notes.append("no traffic/ in the reports: traffic.har has no entries")
    records.sort(key=lambda rec: _when(rec.get("started")))  # stable: ties keep file order
    creator = {"name": "partner-program-conformance", "version": __version__}
    return {"log": {"version": "1.2", "creator": creator, "entries": [_har_entry(r) for r in records]}}


def _sources(notes: list[str]) -> dict[str, Path]:
    """`{relative path: file}` of every schema, catalogue, feature and step file the suite runs with."""
    roots = {"schemas": schemas_dir(), "catalogue": catalogue_dir(), "features": features_dir(), "steps": steps_dir()}
    found: dict[str, Path] = {}
    for name, folder in roots.items():
        for path in folder.rglob("*"):
            rel = path.relative_to(folder)
            if path.is_file() and "__pycache__" not in rel.parts and not rel.name.startswith("."):
                found[f"{name}/{rel.as_posix()}"] = path
    return found


def write_bundle(out_dir: Path, *, reports_dir: Path, meta: dict[str, Any], secrets: Sequence[str] = ()) -> Path:
    """Write the evidence bundle of one run to `out_dir` (replacing it) and to `<out_dir>.tar.gz`; return the
    tarball's path. `reports_dir` holds the run's reports and `traffic/*.jsonl`; `meta` becomes run.json (with
    `bundle_format` and `notes` added); every text file is redacted with `secrets` before it is hashed.
    Raises `ValueError` when `out_dir` would hold or be `reports_dir`, `OSError` when writing fails."""
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    if reports_dir.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"{out_dir} would replace the reports {reports_dir}: choose another place for the bundle")
    hidden = tuple(s for s in secrets if s)
    if out_dir.is_dir() and not out_dir.is_symlink():
        shutil.rmtree(out_dir)
    elif out_dir.exists() or out_dir.is_symlink():
        out_dir.unlink()
    out_dir.mkdir(parents=True)
    notes: list[str] = []
    for name in REPORT_FILES:
        if (reports_dir / name).is_file():
            text = (reports_dir / name).read_bytes().decode("utf-8", "surrogateescape")
            (out_dir / name).write_bytes(redact_text(text, hidden).encode("utf-8", "surrogateescape"))
    _write_json(out_dir / "traffic.har", _har(reports_dir / "traffic", notes), hidden)
    sources = _sources(notes)
    (out_dir / "sources.sha256").write_text(_sums(sources), encoding="utf-8")
    _write_json(out_dir / "run.json", {**meta, "bundle_format": BUNDLE_FORMAT, "notes": notes}, hidden)
    (out_dir / MANIFEST).write_text(_sums({p.name: p for p in out_dir.iterdir()}), encoding="utf-8")
    tarball = out_dir.with_name(out_dir.name + ".tar.gz")

    def anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(out_dir, arcname=out_dir.name, filter=anonymous)
    return tarball


def _summary(root: Path) -> str:
    """The verdict (conformance.json) and the run (run.json) the bundle records, as far as they can be read."""
    lines = []
    for name in ("conformance.json", "run.json"):
        try:
            data = json.loads((root / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            lines.append(f"{name}: not in the bundle")
            continue
        except ValueError as exc:
            lines.append(f"{name}: unreadable ({exc})")
            continue
        if not isinstance(data, dict):
            lines.append(f"{name}: not a JSON object")
        elif name == "conformance.json":
            lines.append(f"verdict: {data.get('verdict', '?')} (exit code {data.get('exitCode', '?')})")
            outcomes = (data.get("totals") or {}).get("byOutcome") if isinstance(data.get("totals"), dict) else None
            if isinstance(outcomes, dict):
                lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
        else:
            keys = ("base_url", "profile", "started", "finished", "suite_version", "git_revision", "strict", "notes")
            lines += [f"{key}: {data[key]}" for key in keys if data.get(key) not in (None, "", [])]
    if (root / MANIFEST).is_file():
        lines.append(f"{MANIFEST} SHA-256 (compare with the other party's copy): {_sha256(root / MANIFEST)}")
    return "\n".join(lines)


def _check(root: Path) -> VerifyResult:
    if not (root / MANIFEST).is_file() and not (root / "run.json").is_file():
        raise BundleError(f"{root}: not an evidence bundle (neither {MANIFEST} nor run.json)")
    problems: list[str] = []
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    if not (root / MANIFEST).is_file():
        problems.append(f"{MANIFEST} missing")
        listed: set[str] = set(present)
    else:
        listed = set()
        for number, line in enumerate((root / MANIFEST).read_text("utf-8", "replace").splitlines(), 1):
            match = _LINE.match(line)
            rel = PurePosixPath(match.group(2)) if match else None
            if match is None or rel is None or rel.is_absolute() or ".." in rel.parts:
                problems.append(f"{MANIFEST} line {number}: not `<sha256>  <relative path>`")
                continue
            listed.add(str(rel))
            path = root / rel
            if path.is_symlink():
                problems.append(f"{rel}: is a link, not a file")
            elif not path.is_file():
                problems.append(f"missing file: {rel}")
            elif _sha256(path) != match.group(1):
                problems.append(f"{rel}: SHA-256 differs from {MANIFEST}")
    problems += [f"extra file not in manifest: {rel}" for rel in sorted(present - listed)]
    return VerifyResult(intact=not problems, problems=problems, summary=_summary(root))


def verify(bundle: Path) -> VerifyResult:
    """Re-check a bundle, the directory or its `.tar.gz`: every file against MANIFEST.sha256, nothing missing,
    nothing added. Raises `BundleError` when `bundle` is missing, not a bundle, not a readable tarball, or a
    tarball with a member that is absolute, climbs out (`..`), is a link or is not a plain file or folder."""
    bundle = Path(bundle)
    if bundle.is_dir():
        return _check(bundle)
    if not bundle.is_file():
        raise BundleError(f"{bundle}: no such bundle (neither a directory nor a file)")
    try:
        with tarfile.open(bundle, "r:*") as tar, tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
            for member in tar.getmembers():
                path = PurePosixPath(member.name)
                if path.is_absolute() or ".." in path.parts:
                    raise BundleError(f"{bundle}: refusing unsafe tar member {member.name!r} (absolute or '..')")
                if not (member.isfile() or member.isdir()):
                    raise BundleError(f"{bundle}: refusing tar member {member.name!r} (a link or special file)")
            tar.extractall(tmp, filter="data")
            tops = list(Path(tmp).iterdir())
            if len(tops) != 1 or not tops[0].is_dir():
                raise BundleError(f"{bundle}: not an evidence bundle (expected one top-level directory)")
            return _check(tops[0])
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f"{bundle}: not a readable tarball ({exc})") from exc


_LAYOUT = (__doc__ or "").partition("The layout:")[2]
_EPILOG = _LAYOUT + "\nexit codes: 0 intact, 1 altered, 2 usage error or unreadable bundle"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (`python -m ppconformance.evidence verify BUNDLE`); returns the exit code: 0 intact,
    1 altered, 2 usage error or unreadable bundle."""
    parser = argparse.ArgumentParser(
        prog="python -m ppconformance.evidence",
        description="Re-check the evidence bundle of a conformance run.",
        epilog="A bundle is a directory, or the .tar.gz holding it. The layout:" + _EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "verify",
        help="check a bundle against its MANIFEST.sha256 and print the verdict it records",
        description="Check every file of BUNDLE against its MANIFEST.sha256 (no file altered, missing or added) "
        "and print the verdict and run it records.\n\nexit codes: 0 intact, 1 altered (the problems are listed), "
        "2 usage error or not a readable bundle",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle directory or its .tar.gz")
    args = parser.parse_args(argv)
    try:
        result = verify(args.bundle)
    except (BundleError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.intact:
        print("intact")
    else:
        print(f"NOT intact: {len(result.problems)} problem(s)")
        print("\n".join(f"  - {problem}" for problem in result.problems))
    print(result.summary)
    return 0 if result.intact else 1


if __name__ == "__main__":
    sys.exit(main())
