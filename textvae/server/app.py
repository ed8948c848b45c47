"""The explorer's web application: the JSON API under /api, the page at /, OpenAPI docs at /docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textvae.server.errors import install_error_handlers
from textvae.server.explorer import Explorer
from textvae.server.routes import router

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 1 << 20  # the largest valid request (100 latents of a wide model) is far smaller


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413, JSON), whether their length is declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is over {self.limit:,} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            chunk = await receive()
            received += len(chunk.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, message)
            return chunk

        await self.app(scope, counted, send)


def create_app(explorer: Explorer) -> FastAPI:
    """An app serving `explorer`'s models (loaded once, before the first request)."""
    app = FastAPI(title="textvae explorer",
                  description="Paraphrase, interpolate, sample, decode and map the latent space of a text "
                              "VAE and its autoencoder twin. Every request is checked; errors are JSON "
                              '{"error": "..."} with a 4xx status.')
    app.state.explorer = explorer
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
