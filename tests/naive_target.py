"""A deliberately non-conforming target for self-tests: every customer exists,
every item of every Partner Program request succeeds, credentials are not checked.

Served by uvicorn in a background thread; it shares nothing with the reference server.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_ids = itertools.count(900000001)
OK = {"status": True, "code": 200, "message": "Success"}
FOUND = {"status": True, "code": 1000, "message": "Customer successfully retrieved"}
SHAPES = {
    "linkCustomer": ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),
    "customerPartnerProgramUpdate": ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
    "deLinkCustomer": ("deLinkCustomers", "deLinkFromPartnerPrograms", "partnerDeLinkStatus"),
}


async def partner(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    key, pkey, skey = SHAPES[name]
    try:
        body = json.loads(await request.body())
        entries = body[key]
    except Exception:  # noqa: BLE001 - this target is naive on purpose
        return JSONResponse({"linkCustomers": [], "warnings": []})
    out_key = "customersPartnerUpdates" if name != "linkCustomer" else key
    out_pkey = "partnerProgramUpdates" if name != "linkCustomer" else pkey
    out_skey = "updateStatus" if name != "linkCustomer" else skey
    results = [
        {
            "customer": {**e.get("customer", {}), "status": FOUND},
            out_pkey: [{"partnerProgramName": p.get("partnerProgramName"), out_skey: OK} for p in e.get(pkey, [])],
        }
        for e in entries
    ]
    return JSONResponse({out_key: results, "warnings": []})


async def customers(request: Request) -> JSONResponse:
    return JSONResponse({"createdId": next(_ids), "warnings": [], "sideEffects": []})


async def details(request: Request) -> JSONResponse:
    return JSONResponse({"linkedPartnerPrograms": [], "warnings": []})


async def token(request: Request) -> JSONResponse:
    return JSONResponse({"data": {"accessToken": "naive", "ttlSeconds": 300}, "errors": None})


app = Starlette(
    routes=[
        Route("/v2/partnerProgram/{name}", partner, methods=["POST"]),
        Route("/v2/customers", customers, methods=["POST"]),
        Route("/v2/customers/{id}/loyaltyDetails", details),
        Route("/v3/oauth/token/generate", token, methods=["POST"]),
    ]
)


def serve() -> tuple[str, uvicorn.Server]:
    """Start the naive target on a free loopback port; returns (base URL, server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server
