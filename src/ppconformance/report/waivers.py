"""Waivers: known, agreed deviations recorded as such rather than edited out (`--waivers FILE`).

A waivers file is YAML validated by `schemas/meta/waivers.schema.json`::

    waivers:
      - requirement: LINK-2003          # a catalogue requirement id
        reason: "vendor answers 2003 as 2002 until release 4.2"
        ticket: VEND-123
        expires: 2027-01-31             # last day the waiver holds (UTC date), inclusive
        target: https://eu.api.capillarytech.com   # optional: only for this base URL

A waiver *applies* to a run when it has not expired (today, UTC, is on or before `expires`) and its `target`
is absent or equals the run's base URL (trailing "/" ignored). A failure of a requirement with an applying
waiver is reported *waived*; an expired waiver is a failure of its own; an applying waiver whose requirement
passes is reported "waiver no longer needed".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.resources import schemas_dir

__all__ = ["Waiver", "WaiverError", "Waivers", "load_waivers"]


class WaiverError(Exception):
    """The waivers file is unreadable, breaks its schema, or names an unknown requirement."""


@dataclass(frozen=True)
class Waiver:
    """One waiver: `requirement` id, `reason`, `ticket`, `expires` (a date, inclusive), `target` (base URL or
    None for every target)."""

    requirement: str
    reason: str
    ticket: str
    expires: dt.date
    target: str | None = None

    def expired(self, today: dt.date) -> bool:
        """True when `today` is after `expires`."""
        return today > self.expires

    def for_target(self, base_url: str) -> bool:
        """True when the waiver names no target or names `base_url` (trailing "/" ignored)."""
        return self.target is None or self.target.rstrip("/") == base_url.rstrip("/")

    def label(self) -> str:
        """ "LINK-2003 waived (VEND-123, until 2027-01-31): reason"."""
        return f"{self.requirement} waived ({self.ticket}, until {self.expires.isoformat()}): {self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The waiver as conformance.json gives it."""
        out: dict[str, Any] = {
            "requirement": self.requirement,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
        }
        if self.target:
            out["target"] = self.target
        return out


@dataclass(frozen=True)
class Waivers:
    """The run's waivers, judged for one target on one day (`today`, UTC)."""

    items: tuple[Waiver, ...]
    base_url: str
    today: dt.date

    def applying(self, requirement: str) -> Waiver | None:
        """The unexpired waiver for `requirement` on this target, or None."""
        for w in self.items:
            if w.requirement == requirement and w.for_target(self.base_url) and not w.expired(self.today):
                return w
        return None

    def expired(self) -> list[Waiver]:
        """The waivers for this target whose expiry date has passed: each is a failure of the run."""
        return [w for w in self.items if w.for_target(self.base_url) and w.expired(self.today)]

    def other_targets(self) -> list[Waiver]:
        """Waivers naming another target: listed, never applied."""
        return [w for w in self.items if not w.for_target(self.base_url)]


def load_waivers(path: str | Path, base_url: str, today: dt.date | None = None) -> Waivers:
    """Read and validate a waivers file. Raises `WaiverError` with every problem (file, position, message)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: YAML reads 2030-02-30 as a bad date
        raise WaiverError(f"waivers file {path}: {exc}") from exc
    data = _dates_as_text(data)
    schema = json.loads((schemas_dir() / "meta" / "waivers.schema.json").read_text(encoding="utf-8"))
    problems = [
        f"  at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(data)
    ]
    if problems:
        raise WaiverError(f"waivers file {path} does not match waivers.schema.json:\n" + "\n".join(problems))
    known = load_catalogue().requirements
    items = []
    for n, w in enumerate(data["waivers"]):
        if w["requirement"] not in known:
            raise WaiverError(f"waivers file {path}: waivers/{n} names unknown requirement {w['requirement']!r}")
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError as exc:
            raise WaiverError(f"waivers file {path}: waivers/{n}/expires: {exc}") from exc
        items.append(Waiver(w["requirement"], w["reason"], w["ticket"], expires, w.get("target")))
    return Waivers(tuple(items), base_url, today or dt.datetime.now(dt.UTC).date())


def _dates_as_text(value: Any) -> Any:
    """YAML reads 2027-01-31 as a date; the schema speaks of strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value
