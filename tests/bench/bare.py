"""The floor the gateway is compared with: a bare FastAPI POST endpoint with a pydantic body,
served as shared/serve.py serves the gateway (uvicorn, same options, uvloop/httptools when
installed, as for the gateway). No auth, no store, no bus: what the server stack alone costs.

    python -m tests.bench.bare PORT
"""

from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from shared.serve import SERVER_KEEPALIVE_S


class Student(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    id_number: str | None = None


class ReportBody(BaseModel):
    """The shape of the gateway's report body, so that parsing costs the same."""

    school_id: str
    category: str
    description: str = Field(max_length=5000)
    student: Student


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/reports", status_code=201)
    async def file_report(body: ReportBody) -> dict[str, str]:
        return {"id": uuid.uuid4().hex, "school_id": body.school_id, "status": "filed"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=SERVER_KEEPALIVE_S,  # as shared/serve.py serves the gateway
    )


if __name__ == "__main__":
    main()
