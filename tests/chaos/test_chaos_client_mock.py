"""ToxiproxyClient's requests and error mapping, through httpx.MockTransport (no network)."""

from __future__ import annotations

import json

import httpx
import pytest

from chaos.client import ToxiproxyClient
from chaos.errors import ClientError
from chaos.models import ProxyConfig

PROXY = {
    "name": "pg",
    "listen": "127.0.0.1:25432",
    "upstream": "127.0.0.1:5432",
    "enabled": True,
    "Logger": {},
    "toxics": [],
}
TOXIC = {
    "attributes": {"latency": 100, "jitter": 0},
    "name": "latency_downstream",
    "type": "latency",
    "stream": "downstream",
    "toxicity": 1,
}


def recording_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path, method = request.url.path, request.method
        if path == "/proxies/missing":
            return httpx.Response(404, text='{"error":"proxy not found","status":404}\n')
        if path.endswith("/toxics") and method == "POST":
            return httpx.Response(200, json=TOXIC)
        if method == "DELETE" or path == "/reset":
            return httpx.Response(204)
        if path == "/populate":
            return httpx.Response(201, json={"proxies": [PROXY]})
        if path == "/version":
            return httpx.Response(200, content=b'{"version": "2.12.0"}\n')
        if path == "/proxies" and method == "GET":
            return httpx.Response(200, json={"pg": PROXY})
        return httpx.Response(201 if path == "/proxies" else 200, json=PROXY)

    return httpx.MockTransport(handler)


async def test_requests_and_models() -> None:
    seen: list[httpx.Request] = []
    async with ToxiproxyClient("http://toxiproxy:8474/", recording_transport(seen)) as client:
        assert await client.version() == "2.12.0"
        proxy = await client.create_proxy("pg", "127.0.0.1:5432", listen="127.0.0.1:25432")
        assert (proxy.listen_port, proxy.listen_host) == (25432, "127.0.0.1")
        assert list(await client.proxies()) == ["pg"]
        await client.disable("pg")
        toxic = await client.add_toxic("pg", "latency", attributes={"latency": 100})
        assert toxic.attributes == {"latency": 100, "jitter": 0}
        await client.remove_toxic("pg", "latency_downstream")
        assert [
            p.name for p in await client.populate([ProxyConfig(name="pg", upstream="u:1")])
        ] == ["pg"]
        await client.reset()
        await client.delete_proxy("pg")
    bodies = {(r.method, r.url.path): json.loads(r.content or b"null") for r in seen}
    assert bodies[("POST", "/proxies")] == {
        "name": "pg",
        "upstream": "127.0.0.1:5432",
        "listen": "127.0.0.1:25432",
        "enabled": True,
    }
    assert bodies[("POST", "/proxies/pg")] == {"enabled": False}  # POST: works on every 2.x
    assert bodies[("POST", "/proxies/pg/toxics")]["stream"] == "downstream"
    assert all(r.headers["user-agent"] == "covenant-chaos" for r in seen)


async def test_errors_carry_status_and_message() -> None:
    async with ToxiproxyClient("http://x", recording_transport([])) as client:
        with pytest.raises(ClientError) as caught:
            await client.get_proxy("missing")
    assert caught.value.status == 404
    assert str(caught.value) == "HTTP 404: GET /proxies/missing: proxy not found"


async def test_unreachable_is_a_client_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with ToxiproxyClient("http://x", httpx.MockTransport(refuse)) as client:
        with pytest.raises(ClientError, match="unreachable"):
            await client.reset()
