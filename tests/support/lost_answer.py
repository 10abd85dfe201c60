"""A request that reaches Prefect's API and takes effect, whose answer never comes back.

The answer is lost in httpx's transport, below Prefect's client, so Prefect's own retry
(on a read timeout) is what runs next: the same request is sent again. Whatever the API
does twice then is what a slow database or a dropped connection makes it do in production.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest


def lose_first_answer(
    monkeypatch: pytest.MonkeyPatch, method: str, path_end: str, body_has: bytes = b""
) -> list[str]:
    """From now on, the first `method` request whose path ends with `path_end` (and whose
    body contains `body_has`) takes effect and its answer is lost. Returns the list that
    gets the request's path once that has happened."""
    real: Callable[[httpx.HTTPTransport, httpx.Request], httpx.Response]
    real = httpx.HTTPTransport.handle_request
    lost: list[str] = []

    def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        response = real(transport, request)
        if (
            not lost
            and request.method == method
            and request.url.path.endswith(path_end)
            and body_has in request.content
        ):
            lost.append(request.url.path)
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost on the way", request=request)
        return response

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)
    return lost
