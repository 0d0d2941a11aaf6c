"""Command line: `python -m ppreference [--host H] [--port N] [--orgs DIR] [--log-level L]
[--rate-limit-per-minute N] [--token-ttl SECONDS] [--fault NAME] [--variant NAME]`,
`python -m ppreference --list-faults` / `--list-variants`.

Loads the org files, then serves the reference app with uvicorn. A configuration
problem (bad org file, unset secret environment variable, bad option value)
prints one clear message and exits with status 2. The two opt-in settings may
also come from the environment (`PP_REFERENCE_RATE_LIMIT`, `PP_REFERENCE_TOKEN_TTL`);
a command-line option wins over its variable.

`--fault NAME` injects one named deviation and `--variant NAME` one conforming
alternative (`ppreference.faults`, `ppreference.variants`; the sweep `python -m tools.sweep` uses
them). `--list-faults` / `--list-variants` print one JSON object per line
(`{"name", "requirement", "kind", "description"}` / `{"name", "ambiguity",
"description"}`) and exit 0. An unknown name exits 2 listing the known ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .auth import TOKEN_TTL_SECONDS
from .config import ConfigError, default_orgs_dir, load_orgs
from .faults import FAULTS
from .variants import VARIANTS

__all__ = ["RATE_LIMIT_ENV", "TOKEN_TTL_ENV", "ServerOptions", "build_parser", "main", "server_options"]

RATE_LIMIT_ENV = "PP_REFERENCE_RATE_LIMIT"
TOKEN_TTL_ENV = "PP_REFERENCE_TOKEN_TTL"

EPILOG = """\
Secrets are not in the org files: each file names environment variables
(credentials.basic.passwordEnv, credentials.oauth.keyEnv/secretEnv). For the
packaged orgs set:
  PP_EMBEDDED_ENABLED_PASSWORD  PP_EMBEDDED_ENABLED_OAUTH_KEY  PP_EMBEDDED_ENABLED_OAUTH_SECRET
  PP_EMBEDDED_DISABLED_PASSWORD PP_EMBEDDED_DISABLED_OAUTH_KEY PP_EMBEDDED_DISABLED_OAUTH_SECRET

Opt-in settings (a command-line option wins over its environment variable):
  --rate-limit-per-minute N  or PP_REFERENCE_RATE_LIMIT=N  at most N requests per
      60 s per org (requests without valid credentials counted together); more get
      HTTP 429 with Retry-After. 0 or unset: no limit. Admin endpoints are exempt.
  --token-ttl SECONDS        or PP_REFERENCE_TOKEN_TTL=SECONDS  OAuth token lifetime,
      answered as ttlSeconds (default 300); a token is refused (401) once it ran out.
  --latency-ms MS            each API answer waits MS milliseconds first, as a staging
      org's network and processing would (benchmarks/cost_bench.py); admin endpoints do not.

Fault injection (one at a time; none = the conforming server):
  --fault NAME    a named deviation from one catalogue requirement (--list-faults)
  --variant NAME  a conforming alternative the ambiguity register allows (--list-variants)

Admin endpoints (no auth): GET /__reference__/health, GET /__reference__/requests
(the request log: method, path, orgId, authenticated, status, changed),
GET /__reference__/state (each org's customer count and links, pending relinks too),
GET /__reference__/webhooks (webhooks registered by POST /v3/webHooks, delivery attempts),
POST /__reference__/reset {"fault": NAME|null, "variant": NAME|null} (start over with it),
POST /__reference__/clock {"asOf": "YYYY-MM-DD", "customerIds": [...]} (run the daily
scheduler as of that date for those customers: due relinks, expiry reminders).
Behaviour: docs/reference-behaviour.md. Exit status 2 on a configuration error.
"""


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse `type`: an integer >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, not {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m ppreference`."""
    parser = argparse.ArgumentParser(
        prog="python -m ppreference",
        description="Run the in-memory reference server for Capillary's Partner Program API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port to listen on (default: %(default)s)")
    parser.add_argument(
        "--orgs",
        metavar="DIR",
        default=None,
        help=f"directory of org YAML files, or one file (default: {default_orgs_dir()})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn log level (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit-per-minute",
        metavar="N",
        type=_int_at_least(0),
        default=None,
        help=f"requests allowed per org per 60 s, then 429; 0 = no limit (default: ${RATE_LIMIT_ENV}, else no limit)",
    )
    parser.add_argument(
        "--latency-ms",
        metavar="MS",
        type=_int_at_least(0),
        default=0,
        help="milliseconds each API answer waits first, as a staging org's network would (default 0)",
    )
    parser.add_argument(
        "--token-ttl",
        metavar="SECONDS",
        type=_int_at_least(1),
        default=None,
        help=f"OAuth token lifetime in seconds (default: ${TOKEN_TTL_ENV}, else {TOKEN_TTL_SECONDS})",
    )
    parser.add_argument(
        "--fault",
        metavar="NAME",
        default=None,
        help="inject one named fault (a deviation from one requirement); see --list-faults",
    )
    parser.add_argument(
        "--variant",
        metavar="NAME",
        default=None,
        help="answer with one conforming variant (an ambiguity resolved another way); see --list-variants",
    )
    parser.add_argument(
        "--event-form",
        choices=("flat", "wrapped"),
        default="flat",
        help="envelope of the webhook events sent to registered webhooks: the enriched flat one (default) or the "
        "wrapped one {eventId, eventType, actionType, attributes} (doc events)",
    )
    parser.add_argument(
        "--list-faults",
        action="store_true",
        help="print every fault as a JSON line {name, requirement, kind, description} and exit",
    )
    parser.add_argument(
        "--list-variants",
        action="store_true",
        help="print every variant as a JSON line {name, ambiguity, description} and exit",
    )
    return parser


@dataclass(frozen=True)
class ServerOptions:
    """The opt-in settings passed to `create_app`.

    `rate_limit_per_minute`: None for no limit, else >= 1. `token_ttl_seconds`: >= 1.
    """

    rate_limit_per_minute: int | None = None
    token_ttl_seconds: int = TOKEN_TTL_SECONDS


def _env_int(env: Mapping[str, str], name: str, minimum: int) -> int | None:
    """The integer in environment variable `name` (None when unset or blank); `ConfigError` if bad."""
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"environment variable {name}: {text!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"environment variable {name}: must be an integer >= {minimum}, not {value}")
    return value


def server_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> ServerOptions:
    """The settings from the parsed `args`, falling back to `env` (default `os.environ`).

    Raises `ConfigError` naming the variable when `PP_REFERENCE_RATE_LIMIT` (>= 0) or
    `PP_REFERENCE_TOKEN_TTL` (>= 1) holds something else; a bad variable that the
    command line overrides is ignored. A rate limit of 0 means no limit.
    """
    env = os.environ if env is None else env
    limit = args.rate_limit_per_minute
    if limit is None:
        limit = _env_int(env, RATE_LIMIT_ENV, 0)
    ttl = args.token_ttl
    if ttl is None:
        ttl = _env_int(env, TOKEN_TTL_ENV, 1)
    return ServerOptions(
        rate_limit_per_minute=limit or None,
        token_ttl_seconds=TOKEN_TTL_SECONDS if ttl is None else ttl,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, load the orgs and serve until interrupted. Returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.list_faults or args.list_variants:
        for entry in [
            *(FAULTS.values() if args.list_faults else ()),
            *(VARIANTS.values() if args.list_variants else ()),
        ]:
            print(json.dumps(entry.to_json()))
        return 0
    for option, name, known in (("--fault", args.fault, FAULTS), ("--variant", args.variant, VARIANTS)):
        if name is not None and name not in known:
            print(f"ppreference: unknown {option} {name!r}; known:\n  " + "\n  ".join(known), file=sys.stderr)
            return 2
    if not 0 < args.port < 65536:
        print(f"ppreference: --port must be between 1 and 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        options = server_options(args)
        orgs = load_orgs(args.orgs)
    except ConfigError as exc:
        print(f"ppreference: configuration error: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app

    names = ", ".join(f"{org.name} ({org.org_id})" for org in orgs)
    extras = ""
    if options.rate_limit_per_minute is not None:
        extras += f"; rate limit {options.rate_limit_per_minute} requests/min per org"
    if options.token_ttl_seconds != TOKEN_TTL_SECONDS:
        extras += f"; token ttl {options.token_ttl_seconds} s"
    if args.fault:
        extras += f"; FAULT {args.fault} ({FAULTS[args.fault].requirement})"
    if args.variant:
        extras += f"; variant {args.variant} ({VARIANTS[args.variant].ambiguity})"
    print(f"ppreference: serving {names} on http://{args.host}:{args.port}{extras}", flush=True)
    app = create_app(
        orgs,
        token_ttl_seconds=options.token_ttl_seconds,
        rate_limit_per_minute=options.rate_limit_per_minute,
        fault=args.fault,
        variant=args.variant,
        event_form=args.event_form,
        latency_ms=args.latency_ms,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
