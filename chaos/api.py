"""The Toxiproxy HTTP API (spec 1.1, 1.3): routing, the browser guard, request ids, and the
translation between request bodies, the proxy collection and Go-shaped responses."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from chaos import gojson
from chaos.collection import ProxyCollection, ProxyInput, parse_proxy_input
from chaos.errors import ApiError
from chaos.http11 import Request, Response

log = logging.getLogger(__name__)

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
Params = list[str]
Endpoint = Callable[[Request, Params], Awaitable[Response]]


def json_response(status: int, value: object) -> Response:
    return Response(status, gojson.encode(value), JSON)


def error_response(exc: ApiError) -> Response:
    body = gojson.error_body(exc.status, exc.message, **exc.extra())
    return Response(exc.status, body, TEXT, [("X-Content-Type-Options", "nosniff")])


class ToxiproxyApi:
    """Maps requests to the collection. ``version`` is what ``GET /version`` reports."""

    def __init__(self, collection: ProxyCollection, version: str = "2.12.0") -> None:
        self.collection = collection
        self.version = version
        self._routes: list[tuple[tuple[str | None, ...], dict[str, Endpoint]]] = [
            (("version",), {"GET": self._version}),
            (("proxies",), {"GET": self._list, "POST": self._create}),
            (("populate",), {"POST": self._populate}),
            (("reset",), {"POST": self._reset}),
            (("proxies", None), self._methods(self._get, self._update, self._delete)),
            (("proxies", None, "toxics"), {"GET": self._toxics, "POST": self._add_toxic}),
            (
                ("proxies", None, "toxics", None),
                self._methods(self._get_toxic, self._update_toxic, self._remove_toxic),
            ),
        ]

    @staticmethod
    def _methods(get: Endpoint, update: Endpoint, delete: Endpoint) -> dict[str, Endpoint]:
        return {"GET": get, "POST": update, "PATCH": update, "DELETE": delete}

    async def handle(self, request: Request) -> Response:
        path = unquote(request.target.split("?", 1)[0])
        segments = path[1:].split("/") if path.startswith("/") else [path]
        for pattern, methods in self._routes:
            params = _match(pattern, segments)
            if params is None:
                continue
            endpoint = methods.get(request.method)
            if endpoint is None:
                return Response(405)  # empty body, no middlewares (spec 1.1)
            response = await self._guarded(endpoint, request, params)
            response.headers.append(("X-Toxiproxy-Request-Id", secrets.token_hex(10)))
            return response
        return Response(404, b"404 page not found\n", TEXT, [("X-Content-Type-Options", "nosniff")])

    async def _guarded(self, endpoint: Endpoint, request: Request, params: Params) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            # The CSRF / DNS-rebinding guard: browsers may not drive the API.
            return Response(403, b"User agent not allowed\n", TEXT)
        try:
            return await endpoint(request, params)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:  # the server keeps serving; Go answers 500 with the error
            log.exception("unexpected failure on %s %s", request.method, request.target)
            return error_response(ApiError(500, str(exc) or type(exc).__name__))

    # Endpoints -----------------------------------------------------------------------------
    async def _version(self, request: Request, params: Params) -> Response:
        body = json.dumps({"version": self.version}).encode() + b"\n"
        return Response(200, body, "application/json;charset=utf-8")

    async def _list(self, request: Request, params: Params) -> Response:
        return json_response(200, {p.name: p.document() for p in self.collection.all()})

    async def _create(self, request: Request, params: Params) -> Response:
        spec = parse_proxy_input(gojson.decode_first(request.body), ProxyInput())
        return json_response(201, (await self.collection.create(spec)).document())

    async def _populate(self, request: Request, params: Params) -> Response:
        proxies = await self.collection.populate(gojson.decode_first(request.body))
        return json_response(201, {"proxies": [p.document() for p in proxies]})

    async def _reset(self, request: Request, params: Params) -> Response:
        await self.collection.reset()
        return Response(204)

    async def _get(self, request: Request, params: Params) -> Response:
        return json_response(200, self.collection.get(params[0]).document())

    async def _update(self, request: Request, params: Params) -> Response:
        self.collection.get(params[0])  # 404 wins over a bad body
        body = gojson.decode_first(request.body)
        return json_response(200, (await self.collection.update(params[0], body)).document())

    async def _delete(self, request: Request, params: Params) -> Response:
        await self.collection.delete(params[0])
        return Response(204)

    async def _toxics(self, request: Request, params: Params) -> Response:
        toxics = self.collection.get(params[0]).toxics()
        return json_response(200, [spec.document() for spec in toxics])

    async def _add_toxic(self, request: Request, params: Params) -> Response:
        self.collection.get(params[0])
        spec = await self.collection.add_toxic(params[0], gojson.decode_first(request.body))
        return json_response(200, spec.document())

    async def _get_toxic(self, request: Request, params: Params) -> Response:
        return json_response(200, self.collection.get_toxic(params[0], params[1]).document())

    async def _update_toxic(self, request: Request, params: Params) -> Response:
        self.collection.get_toxic(params[0], params[1])
        body = gojson.decode_first(request.body)
        spec = await self.collection.update_toxic(params[0], params[1], body)
        return json_response(200, spec.document())

    async def _remove_toxic(self, request: Request, params: Params) -> Response:
        await self.collection.remove_toxic(params[0], params[1])
        return Response(204)


def _match(pattern: tuple[str | None, ...], segments: list[str]) -> Params | None:
    if len(pattern) != len(segments):
        return None
    params: Params = []
    for expected, actual in zip(pattern, segments, strict=True):
        if expected is None:
            if not actual:
                return None
            params.append(actual)
        elif expected != actual:
            return None
    return params
