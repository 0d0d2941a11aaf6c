"""The webhook sink: an HTTP receiver the target delivers its events to, and the reader the scenarios use.

One sink per run (`WebhookSink`), started in the xdist controller (or the only process) by
`ppconformance.webhooks.plugin`, on 127.0.0.1 and an ephemeral port unless `--webhook-listen HOST:PORT`
says otherwise. It

- answers every POST whose auth header carries the run's secret with 200 and stores the delivery
  (`Delivery`: sequence number, arrival time in epoch seconds, path, parsed JSON body or None, the status
  the sink answered and which of the webhook's other static headers it carried);
- answers a POST without the secret 401, counts it (`rejected`) and keeps its body as an unauthenticated
  delivery (`authenticated` False; at most `MAX_UNAUTHENTICATED` of them), so a scenario can tell "arrived
  without the static headers" from "never arrived";
- answers with a refusal rule's statuses instead of 200 (`refuse`, or `POST /__sink__/rules`): the next
  deliveries about one customer get 400 or 429 and so on, which is how the retry scenarios see what the
  target does after a refusal (capillary-facts#webhooks-event-notifications: 4xx not retried, 429 retried);
- serves the stored deliveries at `GET /__sink__/deliveries?after=N` to loopback clients that send the
  query token (`X-Sink-Query-Token`): that is how xdist workers read them (`SinkReader`).

The secret and the query token are random per run; neither is logged, stored or shown, and the delivery
headers are not kept at all (only the names of the configured static headers a delivery carried). Capillary's
deliveries are not signed, the static webhook headers are the only authentication
(capillary-facts#webhooks-event-notifications).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ppconformance.connection.client import TargetBroken, plain_request
from ppconformance.contract.events import facts

__all__ = [
    "MAX_DELIVERY_BYTES",
    "MAX_UNAUTHENTICATED",
    "QUERY_TOKEN_HEADER",
    "Delivery",
    "SinkReader",
    "WebhookSink",
]

MAX_DELIVERY_BYTES = 1_048_576
MAX_UNAUTHENTICATED = 200
QUERY_TOKEN_HEADER = "X-Sink-Query-Token"
_QUERY_PATH = "/__sink__/deliveries"
_RULES_PATH = "/__sink__/rules"


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt: `seq` from 1, `arrival` epoch seconds (the suite's clock), `path` as posted,
    `body` the parsed JSON (None when it was not JSON; `text` then holds it, cut at 2000 characters),
    `status` the HTTP status the sink answered (200, or a refusal rule's status), `authenticated` whether it
    carried the run's secret (False: answered 401), `static_headers` the names of the webhook's other
    configured static headers it carried with their configured value."""

    seq: int
    arrival: float
    path: str
    body: Any
    text: str = ""
    status: int = 200
    authenticated: bool = True
    static_headers: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the sink took it (authenticated and answered 2xx): what "delivered" means."""
        return self.authenticated and 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class WebhookSink:
    """The receiver. Arguments: `auth_header` and `auth_value` (the secret every delivery must carry),
    `query_token` (for `GET /__sink__/deliveries`), `host`/`port` to listen on (port 0: ephemeral),
    `static_headers` the webhook's other configured headers (name -> value) whose presence each delivery
    records.

    `start()` returns self; `url` is the base URL it listens on; `stop()` shuts it down (idempotent).
    """

    def __init__(
        self,
        auth_header: str,
        auth_value: str,
        query_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        static_headers: dict[str, str] | None = None,
    ) -> None:
        self.auth_header = auth_header
        self._auth_value = auth_value.encode()
        self._query_token = query_token.encode()
        self._static = {k: v.encode() for k, v in (static_headers or {}).items()}
        self.deliveries: list[Delivery] = []
        self.rejected = 0
        self._refusals: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"WebhookSink({self.url}, {len(self.deliveries)} deliveries)"

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"

    def start(self) -> WebhookSink:
        # a short poll interval: stop() returns within 50 ms instead of serve_forever's default 0.5 s
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-sink", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def accept(
        self, path: str, raw: bytes, *, authenticated: bool = True, static_headers: tuple[str, ...] = ()
    ) -> Delivery:
        """Store one delivery (what the handler does once the secret checked out, or with `authenticated`
        False for one without it, counted in `rejected`); its `status` is the next status of a refusal rule
        for its customer, else 200 (401 when not authenticated)."""
        try:
            body: Any = json.loads(raw)
            text = ""
        except (ValueError, UnicodeDecodeError):
            body, text = None, raw[:2000].decode("utf-8", "replace")
        with self._lock:
            status = 401
            if authenticated:
                queue = self._refusals.get(str(facts(body).customer_id))
                status = queue.pop(0) if queue else 200
            else:
                self.rejected += 1
            delivery = Delivery(
                len(self.deliveries) + 1, time.time(), path, body, text, status, authenticated, static_headers
            )
            if authenticated or self.rejected <= MAX_UNAUTHENTICATED:
                self.deliveries.append(delivery)
        return delivery

    def refuse(self, customer_id: int | str, statuses: list[int]) -> None:
        """Answer the next deliveries about `customer_id` (the event's customerIdentifiers.customerId) with
        `statuses`, one each, in order (replacing an earlier rule for it); 200 again afterwards."""
        with self._lock:
            self._refusals[str(customer_id)] = [int(s) for s in statuses]

    def since(self, after: int) -> list[Delivery]:
        """The deliveries with `seq` > `after`, oldest first."""
        with self._lock:
            return self.deliveries[after:]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_DELIVERY_BYTES:
                    self.close_connection = True
                    return self._answer(413)
                raw = self.rfile.read(length)
                if self.path == _RULES_PATH:
                    return self._rule(raw)
                given = (self.headers.get(sink.auth_header) or "").encode()
                carried = tuple(
                    name
                    for name, value in sink._static.items()
                    if hmac.compare_digest((self.headers.get(name) or "").encode(), value)
                )
                if not hmac.compare_digest(given, sink._auth_value):
                    sink.accept(self.path, raw, authenticated=False, static_headers=carried)
                    return self._answer(401, b'{"error": "unauthorized"}')
                delivery = sink.accept(self.path, raw, static_headers=carried)
                if delivery.status == 200:
                    return self._answer(200, b'{"status": "received"}')
                self._answer(delivery.status, b'{"error": "refused by the conformance suite"}')

            def _rule(self, raw: bytes) -> None:
                token = (self.headers.get(QUERY_TOKEN_HEADER) or "").encode()
                if self.client_address[0] not in ("127.0.0.1", "::1"):
                    return self._answer(404)
                if not hmac.compare_digest(token, sink._query_token):
                    return self._answer(401)
                try:
                    rule = json.loads(raw)
                    sink.refuse(rule["customerId"], list(rule["statuses"]))
                except (ValueError, KeyError, TypeError):
                    return self._answer(400)
                self._answer(200, b"{}")

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                token = (self.headers.get(QUERY_TOKEN_HEADER) or "").encode()
                if parts.path != _QUERY_PATH or self.client_address[0] not in ("127.0.0.1", "::1"):
                    return self._answer(404)
                if not hmac.compare_digest(token, sink._query_token):
                    return self._answer(401)
                after = int((parse_qs(parts.query).get("after") or ["0"])[0] or 0)
                found = [d.to_json() for d in sink.since(after)]
                self._answer(200, json.dumps({"deliveries": found, "rejected": sink.rejected}).encode())

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet: never log headers)
                pass

        return Handler


class SinkReader:
    """Reads a sink's deliveries over its query endpoint (any process of the run).

    `query_url` is the sink's loopback base URL, `token` the query token. `poll()` fetches what
    arrived since the last poll and returns every delivery seen so far; raises `TargetUnreachable` (transport)
    or `TargetBroken` (an answer other than 200) when the sink cannot be read.
    """

    def __init__(self, query_url: str, token: str) -> None:
        self.query_url = query_url.rstrip("/")
        self._token = token
        self.seen: list[Delivery] = []

    def __repr__(self) -> str:
        return f"SinkReader({self.query_url}, {len(self.seen)} seen)"

    def poll(self) -> list[Delivery]:
        answer = plain_request(
            "GET",
            self.query_url + _QUERY_PATH,
            params={"after": str(len(self.seen))},
            headers={QUERY_TOKEN_HEADER: self._token},
            timeout=5,
        )
        if answer.status != 200:
            raise TargetBroken(f"the webhook sink answered HTTP {answer.status} to a query")
        found = answer.json()["deliveries"]
        self.seen += [Delivery(**{**d, "static_headers": tuple(d.get("static_headers") or ())}) for d in found]
        return self.seen

    def refuse(self, customer_id: int | str, statuses: list[int]) -> None:
        """Have the sink answer the next deliveries about `customer_id` with `statuses` (`WebhookSink.refuse`);
        raises `TargetBroken` when the sink does not take the rule."""
        answer = plain_request(
            "POST",
            self.query_url + _RULES_PATH,
            json_body={"customerId": customer_id, "statuses": statuses},
            headers={QUERY_TOKEN_HEADER: self._token},
            timeout=5,
        )
        if answer.status != 200:
            raise TargetBroken(f"the webhook sink answered HTTP {answer.status} to a refusal rule")

    def close(self) -> None:
        """Nothing to release: each poll is one request (kept for the fixture's teardown)."""
