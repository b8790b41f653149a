"""Client errors that name the field and the rule, never the value, for the gateway and services.

Two holes closed here for every app at once:

- FastAPI's validation errors echo the rejected `input` (an ID number, a child's name) back to
  the client and into whatever logs the answer; `validation_failed` keeps loc, msg and type only.
- Python's JSON parser accepts `NaN`/`Infinity`, numbers that overflow to infinity and lone
  UTF-16 surrogates (`"\\ud800"`). Such values pass validation, then fail later when they are
  encoded again (store, event, relay) as a 500. `StrictJsonMiddleware` refuses them up front
  with a 422 naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def client_error(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


async def validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, without the `input` (and `ctx`, which can quote it) of each error."""
    detail = [client_error(list(e["loc"]), e["msg"], e["type"]) for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


class _NonFinite:
    """Stands in for NaN/Infinity while parsing, so the walk can say where it was."""


_NON_FINITE = _NonFinite()


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_defect(body: bytes) -> dict[str, Any] | None:
    """The first value JSON can carry but the platform cannot store or send on, or None.

    A body that is not JSON at all is left to FastAPI, which answers its own 422.
    """
    try:
        data = json.loads(body, parse_constant=lambda _name: _NON_FINITE)
    except UnicodeDecodeError:
        return client_error(["body"], "body is not valid UTF-8", "unicode_error")
    except RecursionError:
        return client_error(["body"], "JSON nested too deeply", "json_too_deep")
    except ValueError:
        return None
    # Iterative walk: the nesting depth is the client's choice, the stack is not.
    pending: list[tuple[list[str | int], Any]] = [(["body"], data)]
    while pending:
        loc, value = pending.pop()
        if value is _NON_FINITE or (isinstance(value, float) and not math.isfinite(value)):
            return client_error(loc, "must be a finite number", "finite_number")
        if isinstance(value, str) and _has_surrogate(value):
            return client_error(loc, "must be valid Unicode (no lone surrogates)", "unicode_error")
        if isinstance(value, dict):
            for key, item in value.items():
                if _has_surrogate(key):
                    return client_error(loc, "keys must be valid Unicode", "unicode_error")
                pending.append(([*loc, key], item))
        elif isinstance(value, list):
            pending.extend(([*loc, i], item) for i, item in enumerate(value))
    return None


def _is_json(scope: Scope) -> bool:
    ctype = dict(scope["headers"]).get(b"content-type")
    if ctype is None:
        return True  # FastAPI reads an untyped body as JSON
    main = ctype.split(b";")[0].strip().lower()
    return bool(main == b"application/json" or main.endswith(b"+json"))


class StrictJsonMiddleware:
    """Reads a JSON request body once, refuses it if `json_defect` finds one, else passes it on.

    Sits inside any body-size limit, so it never buffers more than the limit allows.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody is left to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        defect = json_defect(body) if body else None
        if defect is not None:
            response = JSONResponse({"detail": [defect]}, status_code=422)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def install_error_handling(app: FastAPI) -> None:
    """422s without echoed values, and no JSON value that turns into a 500 later."""
    app.exception_handler(RequestValidationError)(validation_failed)
    app.add_middleware(StrictJsonMiddleware)
