"""Every error as a JSON body {"error": "..."} naming the problem; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from textvae.errors import TextVAEError

log = logging.getLogger("textvae.server")


class UnavailableError(TextVAEError):
    """The request needs a model this server was not started with."""


def _field(location: tuple) -> str:
    """('body', 'texts', 0) -> 'texts.0'; a body-level error is named 'body'."""
    parts = [str(part) for part in location if part not in ("body", "query")]
    return ".".join(parts) or "body"


def _problem(error: dict) -> dict[str, str]:
    """{'field': 'n', 'message': 'Input should be less than or equal to 50'}; the input is not echoed."""
    if error["type"] == "json_invalid":
        position = error["loc"][-1]
        return {"field": "body", "message": f"invalid JSON at character {position}: {error['ctx']['error']}"}
    return {"field": _field(error["loc"]), "message": error["msg"]}


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 {"error": "n: Input should be ...; text: ...", "details": [{"field", "message"}, ...]}."""
    details = [_problem(error) for error in exc.errors()]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return JSONResponse({"error": summary, "details": details}, status_code=422)


async def refused_by_model(request: Request, exc: TextVAEError) -> JSONResponse:
    status = 400 if isinstance(exc, UnavailableError) else 422
    return JSONResponse({"error": str(exc)}, status_code=status)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal server error (the server log has the details)"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(TextVAEError, refused_by_model)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
