"""Command line: `python -m ppreference [--host H] [--port N] [--orgs DIR] [--log-level L]`.

Loads the org files, then serves the reference app with uvicorn. A configuration
problem (bad org file, unset secret environment variable) prints one clear
message and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import ConfigError, default_orgs_dir, load_orgs

__all__ = ["build_parser", "main"]

EPILOG = """\
Secrets are not in the org files: each file names environment variables
(credentials.basic.passwordEnv, credentials.oauth.keyEnv/secretEnv). For the
packaged orgs set:
  PP_EMBEDDED_ENABLED_PASSWORD  PP_EMBEDDED_ENABLED_OAUTH_KEY  PP_EMBEDDED_ENABLED_OAUTH_SECRET
  PP_EMBEDDED_DISABLED_PASSWORD PP_EMBEDDED_DISABLED_OAUTH_KEY PP_EMBEDDED_DISABLED_OAUTH_SECRET

Admin endpoints (no auth): GET /__reference__/health, GET /__reference__/requests
(the request log: method, path, orgId, authenticated, status, changed),
GET /__reference__/state (each org's customer count and links, pending relinks too).
Behaviour: docs/reference-behaviour.md. Exit status 2 on a configuration error.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m ppreference`."""
    parser = argparse.ArgumentParser(
        prog="python -m ppreference",
        description="Run the in-memory reference server for Capillary's Partner Program API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port to listen on (default: %(default)s)"
    )
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, load the orgs and serve until interrupted. Returns the exit status."""
    args = build_parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"ppreference: --port must be between 1 and 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        orgs = load_orgs(args.orgs)
    except ConfigError as exc:
        print(f"ppreference: configuration error: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app

    names = ", ".join(f"{org.name} ({org.org_id})" for org in orgs)
    print(f"ppreference: serving {names} on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_app(orgs), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
