"""Before and after the scenarios: discovery and drift, the start-of-run and end-of-run journal sweeps.

`run_preflight` runs once per run on the controller, after the target answered:

1. marks the run live in the journal directory (`link_journal.RunMarker`);
2. per org, when the profile's `discovery` is on: lists the org's programs
   (`discovery.discover_programs`) and, when `probe_relinking` is on and a
   customer can be had (writes allowed, or a pool customer), probes
   ALLOW_MEMBERSHIP_RELINKING by behaviour; compares both with the profile
   (`discovery.drift`) and writes `reports/discovery.json` and `reports/drift.txt`; when the suite registers its
   customers in the customer pool (`Profile.uses_customer_pool`), scans the org's pool first: finds the customers
   earlier runs registered, cancels and delinks what they left (`run.customer_pool.scan_org`), and probes
   relinking on one of them (a first run registers the pool's first customer for it);
3. checks that the target answers as the Partner Program API at all (`discovery.speaks_the_api`: one harmless
   request against a conforming target, none when the pool scan's or the relinking probe's update already
   answered as the API); a web server, a wrong base URL or another service ends the run as an error, before any
   scenario;
4. cleans the links an earlier run left open in the journal (a killed run),
   unless that run is still live; a read-only run only reports them.

`apply_discovery` completes a profile from the JSON the controller hands to xdist workers in the run context
(`RunContext.discovery`; the pool's scan goes as `RunContext.customer_pool`). `sweep_journal` cleans what this
run's scenarios could not at teardown; what is still linked after it is a leftover.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ppconformance.connection.client import PartnerProgramClient, TargetError
from ppconformance.connection.identities import random_mobile
from ppconformance.connection.profile import MembershipPeriod, OrgProfile, Profile
from ppconformance.run.cleanup import CleanupReport, clean
from ppconformance.run.customer_pool import Found, OrgScan, PoolTally, SuitePool, claims_path, scan_org
from ppconformance.run.discovery import (
    DiscoveredProgram,
    Drift,
    discover_programs,
    drift,
    fill_from_discovery,
    probe_relinking,
    relinking_of,
    render_drift,
    speaks_the_api,
)
from ppconformance.run.link_journal import Journal, RunMarker, open_entries, remove_target

__all__ = ["OrgDiscovery", "Preflight", "apply_discovery", "run_preflight", "starter_profile", "sweep_journal"]


@dataclass
class OrgDiscovery:
    """What one org's target showed: programs by name (None: endpoint not offered or discovery off),
    the probed relinking setting (None: not probed) and a note saying why something was not done."""

    programs: dict[str, DiscoveredProgram] | None = None
    relinking: bool | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run context's discovery and reports/discovery.json."""
        progs = (
            None
            if self.programs is None
            else {
                name: {
                    "type": p.type,
                    "tiers": list(p.tiers),
                    "program_id": p.program_id,
                    "membership_period": p.membership_period and dataclasses.asdict(p.membership_period),
                    "tier_numbers": [list(pair) for pair in p.tier_numbers],
                }
                for name, p in self.programs.items()
            }
        )
        return {"programs": progs, "relinking": self.relinking, "notes": self.notes}

    @staticmethod
    def from_json(data: dict[str, Any]) -> OrgDiscovery:
        """The inverse of `to_json`."""
        progs = (
            None
            if data.get("programs") is None
            else {
                name: DiscoveredProgram(
                    name=name,
                    type=p["type"],
                    tiers=tuple(p["tiers"]),
                    program_id=p["program_id"],
                    membership_period=MembershipPeriod(**p["membership_period"]) if p["membership_period"] else None,
                    tier_numbers=tuple((str(n), int(t)) for n, t in p.get("tier_numbers", [])),
                )
                for name, p in data["programs"].items()
            }
        )
        return OrgDiscovery(progs, data.get("relinking"), list(data.get("notes", [])))


@dataclass
class Preflight:
    """The controller's view of the run's target before the scenarios, kept until the end of the run."""

    profile: Profile
    base_url: str
    run_id: str
    ephemeral: bool
    discovered: dict[str, OrgDiscovery] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    earlier: CleanupReport = field(default_factory=CleanupReport)
    earlier_open: int = 0
    requests: int = 0
    clients: dict[str, PartnerProgramClient] = field(default_factory=dict)
    pool: dict[str, OrgScan] = field(default_factory=dict)
    """The customer pool's scan per org (`run.customer_pool.scan_org`); {} when the run does not use the pool."""
    tally: PoolTally = field(default_factory=PoolTally)
    """The customers the preflight registered (the relinking probe's) and set aside."""

    def client_for(self, org: str) -> PartnerProgramClient:
        """A client of org `org` (KeyError when the profile has none)."""
        if org not in self.clients:
            self.clients[org] = PartnerProgramClient(self.base_url, self.profile, self.profile.org(org))
        return self.clients[org]

    def pool_json(self) -> str:
        """The customer pool's scan of every org as JSON (`RunContext.customer_pool`), "" without the pool."""
        return json.dumps({org: scan.to_json() for org, scan in self.pool.items()}, sort_keys=True) if self.pool else ""

    def discovery_json(self) -> str:
        """The discovery of every org as JSON (`RunContext.discovery`)."""
        return json.dumps({org: d.to_json() for org, d in self.discovered.items()}, sort_keys=True)

    def report(self) -> str:
        """The `--check-config` report: what was found per org, then the drift."""
        lines = [f"configuration check of {self.base_url} against profile {self.profile.name}:"]
        for org, d in self.discovered.items():
            progs = (
                "not offered"
                if d.programs is None
                else ", ".join(
                    f"{p.name} ({p.type}{', tiers ' + '/'.join(p.tiers) if p.tiers else ''})"
                    for p in d.programs.values()
                )
            )
            relink = {True: "enabled", False: "disabled", None: "not probed"}[d.relinking]
            lines.append(f"  org {org}: programs: {progs}; ALLOW_MEMBERSHIP_RELINKING by behaviour: {relink}")
            lines += [f"    note: {n}" for n in d.notes]
        if not self.drift and not self.compared():
            lines.append(
                "not checked: discovery found nothing to compare with the profile (no org's programs were listed and "
                "relinking was not probed; see the notes above)"
            )
        else:
            lines.append(render_drift(self.drift))
        return "\n".join(lines)

    def compared(self) -> bool:
        """True when discovery found something to hold against the profile: some org's programs, or its probed
        relinking setting. Without it "no drift" would claim a check that was not made."""
        return any(d.programs is not None or d.relinking is not None for d in self.discovered.values())

    def summary_lines(self) -> list[str]:
        """Terminal summary lines: drift and the start-of-run cleanup."""
        out = []
        if self.drift:
            out.append(
                f"partner-program: {len(self.drift)} configuration drift(s) between the profile and the "
                "target (see reports/drift.txt; --check-config)"
            )
        scanned = {org: scan for org, scan in self.pool.items() if not scan.complete}
        if scanned:
            held = ", ".join(
                f"org {org} {sum(1 for f in scan.found.values() if not f.fresh)}" for org, scan in scanned.items()
            )
            out.append(f"partner-program: customers of earlier runs found in the customer pool: {held}")
            out += [f"partner-program: {note}" for scan in scanned.values() for note in scan.notes]
        if self.earlier.closed or self.earlier.leftovers or self.earlier_open:
            out.append(
                f"partner-program: journal of earlier runs: {self.earlier_open} open link(s), "
                f"{self.earlier.closed} cleaned, {len(self.earlier.leftovers)} still left"
            )
        return out

    def finish(self) -> None:
        """End of run: drop the live marker and the xdist workers' pool claims; an ephemeral target's journal goes
        with it."""
        RunMarker(self.profile.journal_dir, self.base_url, self.run_id).remove()
        claims_path(self.profile.journal_dir, self.base_url, self.run_id).unlink(missing_ok=True)
        if self.ephemeral:
            remove_target(self.profile.journal_dir, self.base_url)
        for client in self.clients.values():
            client.close()


def _probe_customer(
    client: PartnerProgramClient, profile: Profile, org: OrgProfile
) -> tuple[dict[str, Any] | None, str]:
    """A customer with nothing pending for the relinking probe, or None and why not."""
    if profile.allow_writes and profile.provisioning == "register":
        import secrets

        mobile = random_mobile(profile.mobile_prefix, secrets.choice)
        ex = client.add_customer({"mobile": mobile})
        body = ex.response_json if isinstance(ex.response_json, dict) else {}
        if ex.status == 200 and isinstance(body.get("createdId"), int):
            return {"id": body["createdId"]}, ""
        return None, f"registering a probe customer answered HTTP {ex.status}"
    pooled = next((c for c in org.customer_pool if c.enrolled and c.mobile), None)
    if pooled is None:
        return None, "relinking not probed: writes are not allowed and the org has no pool customer with a mobile"
    return {"mobile": pooled.mobile}, ""


def _scan(pre: Preflight, client: PartnerProgramClient, org: OrgProfile, position: int, probe: str | None) -> OrgScan:
    """The customer pool's scan of `org` (`run.customer_pool.scan_org`); nothing to scan on the embedded server
    this run started. A target error ends the scan of this org and the ones after it (their places are looked up
    as they are needed): whether the target can be used is for discovery and the scenarios to say, not for the
    pool (with discovery off, the scenarios meet a broken target as they did before the pool)."""
    if pre.ephemeral:
        return OrgScan(complete=True)
    if any(note.startswith("the customer pool was not scanned") for s in pre.pool.values() for note in s.notes):
        return OrgScan(notes=[f"the customer pool was not scanned (org {org.name}): an earlier org's scan failed"])
    try:
        return scan_org(client, pre.profile, org, position, probe_program=probe)
    except TargetError as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return OrgScan(notes=[f"the customer pool was not scanned (org {org.name}): {why}"])


def _probe_with_pool(
    pre: Preflight, client: PartnerProgramClient, org: OrgProfile, program: str
) -> tuple[bool | None, str]:
    """The relinking probe on a pool customer (`discovery.probe_relinking`): the answer the pool scan's cancel got
    for the first enrolled customer it found, else one cancel for it; with none found (a first run), the pool's
    first free place of an enrolled customer is registered (the run's first customer: its scenarios reuse it) and
    probed. Returns the setting (None: undetermined) and a note ("" when none)."""
    scan = pre.pool[org.name]
    relinking = relinking_of(scan.probe_code)
    if relinking is not None:
        return relinking, ""
    held = sorted((i, f) for (e, i), f in scan.found.items() if e)
    if held:
        return probe_relinking(client, {"id": held[0][1].id}, program), ""
    slot = SuitePool(pre.profile, {org.name: scan}).take(org.name, True)
    if slot is None:
        return None, "relinking not probed: the customer pool has no free place"
    ex = client.add_customer(slot.identity.identifiers())
    body = ex.response_json if isinstance(ex.response_json, dict) else {}
    if ex.status != 200 or not isinstance(body.get("createdId"), int):
        return None, f"registering a probe customer answered HTTP {ex.status}"
    scan.found[(True, slot.identity.index)] = Found(body["createdId"], settled=True, fresh=True)
    pre.tally.registered += 1
    return probe_relinking(client, {"id": body["createdId"]}, program), ""


def run_preflight(base_url: str, profile: Profile, run_id: str, *, ephemeral: bool, reports_dir: Path) -> Preflight:
    """Discovery, drift and the start-of-run cleanup (module docstring). Raises `NotThePartnerProgramApi` when the
    target does not answer as the Partner Program API (`discovery.speaks_the_api`), `TargetError` when it fails a
    discovery request (errors of the run)."""
    pre = Preflight(profile, base_url, run_id, ephemeral)
    journal_root = Path(profile.journal_dir)
    _drop_stale_ephemeral(journal_root)
    RunMarker(profile.journal_dir, base_url, run_id).create()
    try:
        _prepare(pre, reports_dir)
    except BaseException:
        pre.finish()  # a run that stops in its preflight is no longer live: the next run may clean its journal
        raise
    pre.requests = sum(c.requests_sent for c in pre.clients.values())
    return pre


def _prepare(pre: Preflight, reports_dir: Path) -> None:
    """`run_preflight`'s work once the run is marked live: discovery, the pool scan, the API check, the reports of
    discovery and drift, the start-of-run cleanup."""
    profile, base_url, run_id, ephemeral = pre.profile, pre.base_url, pre.run_id, pre.ephemeral
    for position, org in enumerate(profile.orgs):
        found = OrgDiscovery()
        pre.discovered[org.name] = found
        client = pre.client_for(org.name)
        filled = org
        if profile.discovery:
            found.programs = discover_programs(client)
            if found.programs is None:
                found.notes.append("the target does not offer GET /v2/organization/programs")
            filled = fill_from_discovery(org, found.programs) if found.programs else org
        else:
            found.notes.append("discovery is off (profile discovery: false)")
        supplementary = filled.programs.get("supplementary")
        probing = profile.discovery and profile.probe_relinking and supplementary is not None
        if profile.uses_customer_pool:
            probe = supplementary.name if probing and supplementary is not None else None
            pre.pool[org.name] = _scan(pre, client, filled, position, probe)
        if not profile.discovery:
            continue
        if probing and supplementary is not None:
            if profile.uses_customer_pool:
                found.relinking, why = _probe_with_pool(pre, client, filled, supplementary.name)
                if why:
                    found.notes.append(why)
            else:
                customer, why = _probe_customer(client, profile, org)
                if customer is None:
                    found.notes.append(why)
                elif profile.allow_writes:
                    found.relinking = probe_relinking(client, customer, supplementary.name)
                else:
                    found.notes.append(
                        "relinking not probed: the probe is an update request and writes are not allowed"
                    )
        pre.drift += drift(org, found.programs, found.relinking)
    for org_name, scan in pre.pool.items():
        for (enrolled, index), why in sorted(scan.aside.items()):
            kind = "enrolled" if enrolled else "not enrolled"
            pre.tally.set_aside.append(f"org {org_name}: pool place {index} ({kind}): {why}")
    speaks_the_api(pre.client_for(profile.orgs[0].name))
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / "discovery.json").write_text(
        json.dumps(json.loads(pre.discovery_json()), indent=2) + "\n", encoding="utf-8"
    )
    (reports_dir / "drift.txt").write_text(pre.report() + "\n", encoding="utf-8")
    if not ephemeral:
        earlier = open_entries(profile.journal_dir, base_url, exclude_run=run_id)
        pre.earlier_open = len(earlier)
        if earlier and profile.allow_writes:
            pre.earlier = clean(
                earlier,
                pre.client_for,
                Journal(profile.journal_dir, base_url, run_id, "preflight"),
                lambda name: profile.org(name).allow_membership_relinking,
            )


def _drop_stale_ephemeral(root: Path) -> None:
    """Remove journals of embedded-server runs that are no longer live (their server died with them)."""
    if not root.is_dir():
        return
    for meta in root.glob("*/target.json"):
        try:
            ephemeral = json.loads(meta.read_text(encoding="utf-8")).get("ephemeral")
        except (OSError, ValueError):
            continue
        runs = {p.name.split(".")[0] for p in meta.parent.glob("*.run.json")}
        if ephemeral and not any(RunMarker.is_live(meta.parent, r) for r in runs):
            shutil.rmtree(meta.parent, ignore_errors=True)


def apply_discovery(profile: Profile, discovery_json: str) -> Profile:
    """`profile` with each org completed from discovery: roles, tiers and periods it leaves out, and a
    probed relinking setting when it declares none. Declared values always win."""
    if not discovery_json:
        return profile
    data = json.loads(discovery_json)
    orgs = []
    for org in profile.orgs:
        found = OrgDiscovery.from_json(data[org.name]) if org.name in data else OrgDiscovery()
        if found.programs:
            org = fill_from_discovery(org, found.programs)
        if org.allow_membership_relinking is None and found.relinking is not None:
            org = dataclasses.replace(org, allow_membership_relinking=found.relinking)
        orgs.append(org)
    return dataclasses.replace(profile, orgs=tuple(orgs))


def sweep_journal(pre: Preflight, base_url: str, *, run_id: str) -> CleanupReport:
    """Clean every link this run's journal still holds open (all processes); returns what is left."""
    entries = open_entries(pre.profile.journal_dir, base_url, run_id=run_id)
    if not entries:
        return CleanupReport()
    if not pre.profile.allow_writes:
        report = CleanupReport()
        report.leftovers = [(e, "writes are not allowed, so it cannot be delinked") for e in entries]
        return report
    before = sum(c.requests_sent for c in pre.clients.values())
    report = clean(
        entries,
        pre.client_for,
        Journal(pre.profile.journal_dir, base_url, run_id, "sweep"),
        lambda name: pre.profile.org(name).allow_membership_relinking,
    )
    report.requests = sum(c.requests_sent for c in pre.clients.values()) - before
    return report


def starter_profile(profile_text: str, completed: Profile, preflight: Preflight) -> str:
    """A profile YAML for `--check-config --write-profile FILE`: the profile file's own text as loaded
    (`profile_text`, so secrets stay `${VAR}` references, never values), with each org's `programs` roles
    completed from discovery (`completed` is `apply_discovery` of the profile: declared values win) and a probed
    `allow_membership_relinking` where the file declares none. A comment header lists every program each org
    offers. Raises `yaml.YAMLError` when `profile_text` is not YAML (the loader already refused such a file)."""
    import yaml

    raw = yaml.safe_load(profile_text) or {}
    header = [
        f"# Starter profile written by --check-config --write-profile against {preflight.base_url}.",
        "# Programs and tiers below were completed from what discovery found; review them, then run",
        "#   pytest --base-url=URL --profile=THIS_FILE --read-only",
    ]
    by_name = {org.name: org for org in completed.orgs}
    for raw_org in raw.get("orgs") or []:
        org = by_name.get(raw_org.get("name"))
        if org is None:
            continue
        programs = raw_org.setdefault("programs", {}) or {}
        raw_org["programs"] = programs
        for role, program in org.programs.items():
            entry = programs.setdefault(role, {"name": program.name})
            if program.tiers and not entry.get("tiers"):
                entry["tiers"] = list(program.tiers)
            if program.membership_period and not entry.get("membership_period"):
                entry["membership_period"] = dataclasses.asdict(program.membership_period)
        if raw_org.get("allow_membership_relinking") is None and org.allow_membership_relinking is not None:
            raw_org["allow_membership_relinking"] = org.allow_membership_relinking
        found = preflight.discovered.get(org.name)
        if found is not None and found.programs:
            header.append(f"# org {org.name} offers:")
            header += [
                f"#   {p.name} ({p.type}{', tiers ' + '/'.join(p.tiers) if p.tiers else ''})"
                for p in found.programs.values()
            ]
    return "\n".join(header) + "\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
