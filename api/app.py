"""The node's HTTP API (spec section 8 and the node's own paths)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import audit_routes, portal, routes
from api.domains import ROUTERS
from api.host_check import AllowedHostsMiddleware
from api.runtime import NodeRuntime
from ledger.errors import LedgerError, StorageError
from ledger.request_auth import RequestVerifier
from ledger.settings import Settings

log = logging.getLogger("ledger.api")


def error_response(exc: LedgerError) -> JSONResponse:
    headers = {}
    if exc.http_status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


class ServerTimingMiddleware:
    """``Server-Timing: app;dur=<ms>``: time from the request's arrival to its response's
    start. Plain ASGI, so that measuring adds no per-request task or stream of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", f"app;dur={elapsed:.3f}")
            await send(message)

        await self.app(scope, receive, send_timed)


def create_app(settings: Settings, runtime: NodeRuntime | None = None) -> FastAPI:
    rt = runtime or NodeRuntime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(
        title="Guangzhou government records ledger",
        version="1",
        description=(
            "SM2-signed transactions in SM3 Merkle blocks. Receipts, checkpoints and "
            "consistency proofs verify offline against genesis.json (see docs/verifying.md)."
        ),
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.public_url = settings.public_base_url()

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return error_response(exc)

    @app.exception_handler(SQLAlchemyError)
    async def storage_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error: %s", exc)
        unavailable = StorageError(
            "the database is unavailable; retry later", code="storage_unavailable"
        )
        return error_response(unavailable.with_status(503))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg")}
            for e in exc.errors()
        ]
        body: dict[str, Any] = {
            "code": "malformed",
            "message": "the request is malformed",
            "details": {"problems": problems},
        }
        return JSONResponse({"error": body}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(routes.router)
    app.include_router(portal.router)
    audit_routes.install(app)  # export and read-access log (issue 5)
    app.add_middleware(ServerTimingMiddleware)
    app.add_middleware(AllowedHostsMiddleware, allowed=settings.allowed_host_names())
    app.state.request_verifier = RequestVerifier()
    for domain_router in ROUTERS:
        app.include_router(domain_router(rt))
    return app
