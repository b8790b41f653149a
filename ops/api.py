"""The gateway's API as the CLI uses it: a token, pages followed through `Link`, errors named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx


class ApiError(Exception):
    """An answer of 4xx or 5xx: its status and the server's `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class Api:
    def __init__(self, base_url: str, *, page_size: int = 100, timeout_s: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s)
        self.page_size = page_size

    def close(self) -> None:
        self.http.close()

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"

    def log_in(self, username: str, password: str) -> None:
        form = {"username": username, "password": password}
        self.use_token(self._json(self.http.post("/v1/auth/token", data=form))["access_token"])

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._json(self.http.request(method, path, **kwargs))

    def text(self, path: str, **params: Any) -> str:
        answer = self.http.get(path, params=params)
        self._raise_for(answer)
        return answer.text

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a keyset-paged list, page after page."""
        answer = self.http.get(path, params={"limit": self.page_size, **params})
        while True:
            yield from self._json(answer)
            following = answer.links.get("next", {}).get("url")
            if not following:
                return
            answer = self.http.get(following)

    def _json(self, answer: httpx.Response) -> Any:
        self._raise_for(answer)
        return answer.json() if answer.content else None

    @staticmethod
    def _raise_for(answer: httpx.Response) -> None:
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise ApiError(answer.status_code, detail)
