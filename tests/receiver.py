"""A partner's webhook receiver for the tests: a small HTTP/1.1 server on 127.0.0.1 that answers
each request as scripted (ok, 500, hang, redirect, an endless body) and keeps what it got."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from standardwebhooks import Webhook

CHUNK = b"x" * 65536


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    mode: str

    def verified(self, secret: str) -> object:
        """The payload, if the Standard Webhooks verifier accepts the signature (else raises)."""
        return Webhook(secret).verify(self.body.decode(), self.headers)


@dataclass
class Receiver:
    modes: list[str] = field(default_factory=list)  # answers in turn, then `default`
    default: str = "ok"
    got: list[Received] = field(default_factory=list)
    cut: int = 0  # endless answers the client stopped reading
    port: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._open:  # a hanging answer must not hold the test open
                writer.close()
            await self._server.wait_closed()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.got]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            mode = self.modes.pop(0) if self.modes else self.default
            self.got.append(Received(request_line.split(" ")[1], headers, body, mode))
            await self._answer(mode, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _answer(
        self, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if mode == "hang":
            await reader.read()  # until the sender gives up and closes
            return
        if mode == "endless":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            )
            try:
                for _ in range(20_000):  # 1.3 GB: far past any cap
                    writer.write(CHUNK)
                    await writer.drain()
            except ConnectionError:
                self.cut += 1
            return
        status = {"ok": "200 OK", "500": "500 Internal Server Error", "redirect": "302 Found"}
        extra = (
            f"Location: http://127.0.0.1:{self.port}/elsewhere\r\n" if mode == "redirect" else ""
        )
        head = f"HTTP/1.1 {status[mode]}\r\n{extra}Content-Length: 2\r\nConnection: close\r\n"
        writer.write(f"{head}\r\nok".encode())
        await writer.drain()
