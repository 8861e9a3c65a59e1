"""The HTTP API against spec sections 1.1-1.5 and the API items of 1.9, over real HTTP."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from chaos.server import ToxiproxyServer


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_version_and_request_id(api: httpx.AsyncClient) -> None:
    response = await api.get("/version")
    assert response.status_code == 200
    assert response.content == b'{"version": "2.12.0"}\n'
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    ids = {response.headers["x-toxiproxy-request-id"]}
    ids.add((await api.get("/proxies")).headers["x-toxiproxy-request-id"])
    assert len(ids) == 2


async def test_browser_user_agent_is_refused(api: httpx.AsyncClient) -> None:
    refused = await api.get("/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (refused.status_code, refused.content) == (403, b"User agent not allowed\n")
    assert (await api.get("/proxies", headers={"User-Agent": "Wget/2.1"})).status_code == 200


async def test_routing_errors(api: httpx.AsyncClient) -> None:
    assert (await api.get("/proxies")).content == b"{}"
    missing = await api.get("/proxies/")
    assert (missing.status_code, missing.content) == (404, b"404 page not found\n")
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    for method in ("PUT", "HEAD", "OPTIONS"):
        wrong = await api.request(method, "/proxies")
        assert (wrong.status_code, wrong.content) == (405, b"")
    absent = await api.get("/proxies/nope")
    assert absent.status_code == 404
    assert absent.headers["content-type"] == "text/plain; charset=utf-8"
    assert absent.content == b'{"error":"proxy not found","status":404}\n'


async def test_create_validation_and_conflicts(api: httpx.AsyncClient, echo_port: int) -> None:
    up = f"127.0.0.1:{echo_port}"
    blank = await api.post("/proxies", json={"name": "", "upstream": up})
    assert blank.json() == {"error": "missing required field: name", "status": 400}
    no_up = await api.post("/proxies", json={"name": "a"})
    assert no_up.json() == {"error": "missing required field: upstream", "status": 400}
    empty = await api.post("/proxies", content=b"")
    assert empty.json() == {"error": "bad request body: EOF", "status": 400}
    wrong_type = await api.post("/proxies", json={"name": 5, "upstream": up})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"].startswith("bad request body: json: cannot unmarshal number")
    created = await api.post(
        "/proxies", json={"NAME": "a", "upstream": up, "listen": "localhost:0"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["listen"].startswith("127.0.0.1:") and body["toxics"] == []
    port = int(body["listen"].split(":")[1])
    duplicate = await api.post(
        "/proxies", json={"name": "a", "upstream": up, "listen": body["listen"]}
    )
    assert duplicate.json() == {"error": "proxy already exists", "status": 409}
    busy = await api.post("/proxies", json={"name": "b", "upstream": up, "listen": body["listen"]})
    assert busy.status_code == 500
    assert busy.json()["error"] == f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    assert (await api.get("/version")).status_code == 200  # the server keeps serving
    assert (await api.delete("/proxies/a")).status_code == 204
    assert _refuses(port)
    retry = await api.post("/proxies", json={"name": "b", "upstream": up, "listen": body["listen"]})
    assert retry.status_code == 201
    assert (await api.delete("/proxies/a")).json()["error"] == "proxy not found"


async def test_disabled_proxy_keeps_listen_and_toggles(api: httpx.AsyncClient) -> None:
    port = _free_port()
    listen = f"localhost:{port}"
    made = await api.post(
        "/proxies", json={"name": "d", "upstream": "x:1", "listen": listen, "enabled": False}
    )
    assert (made.json()["listen"], made.json()["enabled"]) == (listen, False)
    assert _refuses(port)
    on = await api.post("/proxies/d", json={"enabled": True})
    assert (on.json()["listen"], on.json()["enabled"]) == (f"127.0.0.1:{port}", True)
    assert not _refuses(port)
    off = await api.patch("/proxies/d", json={"enabled": False})
    assert off.json()["enabled"] is False and _refuses(port)
    again = await api.post("/proxies/d", json={"enabled": True})
    assert again.json()["listen"] == f"127.0.0.1:{port}"  # re-enabling reuses the port
    assert (await api.post("/proxies/d", content=b"")).json()["error"] == "bad request body: EOF"


async def test_update_listen_moves_and_hostname_form_keeps_connections(
    api: httpx.AsyncClient, echo_proxy: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_proxy)
    same = await api.post("/proxies/echo", json={"listen": f"localhost:{echo_proxy}"})
    assert same.json()["listen"] == f"127.0.0.1:{echo_proxy}"
    writer.write(b"still here")
    assert await asyncio.wait_for(reader.readexactly(10), 5) == b"still here"
    moved = await api.post("/proxies/echo", json={"listen": "127.0.0.1:0"})
    new_port = int(moved.json()["listen"].split(":")[1])
    assert new_port != echo_proxy and _refuses(echo_proxy)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the old connection was dropped
    writer.close()
    r2, w2 = await asyncio.open_connection("127.0.0.1", new_port)
    w2.write(b"x")
    assert await asyncio.wait_for(r2.readexactly(1), 5) == b"x"
    w2.close()


async def test_toxic_crud(api: httpx.AsyncClient, echo_proxy: int) -> None:
    base = "/proxies/echo/toxics"
    made = await api.post(
        base, json={"name": "lat", "type": "latency", "attributes": {"latency": 100, "jitter": 10}}
    )
    assert made.status_code == 200
    assert made.content == (
        b'{"attributes":{"latency":100,"jitter":10},"name":"lat","type":"latency",'
        b'"stream":"downstream","toxicity":1}'
    )
    dup = await api.post(base, json={"name": "lat", "type": "noop", "stream": "upstream"})
    assert dup.json() == {"error": "toxic already exists", "status": 409}
    bad_type = await api.post(base, json={"type": "down"})
    assert bad_type.json() == {"error": "invalid toxic type", "status": 400}
    bad_stream = await api.post(base, json={"type": "noop", "stream": ""})
    assert bad_stream.json()["error"] == "stream was invalid, can be either upstream or downstream"
    bad_attr = await api.post(base, json={"type": "latency", "attributes": {"latency": 1.5}})
    assert bad_attr.status_code == 400 and "latency" in bad_attr.json()["error"]
    noop = await api.post(base, json={"type": "noop", "attributes": None})
    assert noop.json() == {
        "attributes": {},
        "name": "noop_downstream",
        "type": "noop",
        "stream": "downstream",
        "toxicity": 1,
    }
    upper = await api.post(base, json={"type": "latency", "stream": "UPSTREAM", "toxicity": 0.2})
    assert (upper.json()["name"], upper.json()["toxicity"]) == ("latency_UPSTREAM", 0.2)
    listed = [t["name"] for t in (await api.get(base)).json()]
    assert listed == ["latency_UPSTREAM", "lat", "noop_downstream"]  # upstream first
    merged = await api.patch(f"{base}/lat", json={"attributes": {"latency": 1000}})
    assert merged.json()["attributes"] == {"latency": 1000, "jitter": 10}
    assert merged.json()["toxicity"] == 1
    assert (await api.get(f"{base}/lat")).json()["attributes"]["latency"] == 1000
    assert (await api.delete(f"{base}/lat")).status_code == 204
    gone = await api.get(f"{base}/lat")
    assert gone.json() == {"error": "toxic not found", "status": 404}
    assert (await api.post("/proxies/nope/toxics", json={"type": "noop"})).status_code == 404


async def test_populate_semantics(api: httpx.AsyncClient, echo_port: int) -> None:
    up = f"127.0.0.1:{echo_port}"
    made = await api.post(
        "/populate",
        json=[
            {"name": "one", "upstream": up, "listen": "127.0.0.1:0"},
            {"name": "two", "upstream": up, "listen": "127.0.0.1:0", "enabled": False},
        ],
    )
    assert made.status_code == 201
    one, two = made.json()["proxies"]
    assert (one["name"], one["enabled"], two["enabled"]) == ("one", True, False)
    await api.post("/proxies/one/toxics", json={"type": "noop"})
    port = one["listen"].split(":")[1]
    kept = await api.post(
        "/populate",
        json=[{"name": "one", "upstream": up, "listen": f"localhost:{port}", "enabled": False}],
    )
    assert kept.json()["proxies"][0]["toxics"][0]["name"] == "noop_downstream"
    assert kept.json()["proxies"][0]["enabled"] is True
    bad = await api.post(
        "/populate", json=[{"name": "x", "upstream": up}, {"name": "", "upstream": up}]
    )
    assert (
        bad.content
        == b'{"error":"missing required field: name at proxy 2","status":400,"proxies":null}\n'
    )
    assert "x" not in (await api.get("/proxies")).json()
    partial = await api.post(
        "/populate",
        json=[
            {"name": "p1", "upstream": up, "listen": "127.0.0.1:0"},
            {"name": "p2", "upstream": up, "listen": "local373"},
            {"name": "p3", "upstream": up, "listen": "127.0.0.1:0"},
        ],
    )
    assert partial.status_code == 500
    assert [p["name"] for p in partial.json()["proxies"]] == ["p1"]
    assert sorted((await api.get("/proxies")).json()) == ["one", "p1", "two"]
    assert (await api.post("/populate", json=[])).content == b'{"proxies":[]}'
    assert (await api.post("/populate", json={})).status_code == 400


async def test_reset_reenables_and_clears(api: httpx.AsyncClient, echo_proxy: int) -> None:
    await api.post("/proxies/echo/toxics", json={"type": "latency", "attributes": {"latency": 50}})
    await api.post("/proxies/echo", json={"enabled": False})
    assert _refuses(echo_proxy)
    reset = await api.post("/reset")
    assert (reset.status_code, reset.content) == (204, b"")
    proxy = (await api.get("/proxies/echo")).json()
    assert (proxy["enabled"], proxy["toxics"]) == (True, [])
    assert not _refuses(echo_proxy)


async def test_toxics_survive_disable(api: httpx.AsyncClient, echo_proxy: int) -> None:
    await api.post("/proxies/echo/toxics", json={"type": "noop"})
    await api.post("/proxies/echo", json={"enabled": False})
    await api.post("/proxies/echo", json={"enabled": True})
    assert len((await api.get("/proxies/echo/toxics")).json()) == 1


async def test_unreachable_upstream_closes_client(toxiproxy: ToxiproxyServer) -> None:
    proxy = await toxiproxy.create_proxy("dead", f"127.0.0.1:{_free_port()}")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    assert await asyncio.wait_for(reader.read(), 2) == b""  # EOF at once (generous for CI)
    writer.close()


@pytest.mark.parametrize("listen", ["0.0.0.0:0", ":0", ""])
async def test_wildcard_listen_reports_dual_stack(api: httpx.AsyncClient, listen: str) -> None:
    made = await api.post("/proxies", json={"name": "w", "upstream": "x:1", "listen": listen})
    assert made.json()["listen"].startswith("[::]:")
    again = await api.post(
        "/populate",
        json=[
            {
                "name": "w",
                "upstream": "x:1",
                "listen": made.json()["listen"].replace("[::]", "0.0.0.0"),
            }
        ],
    )
    assert again.json()["proxies"][0]["listen"] == made.json()["listen"]


async def test_proxy_keys_sorted_in_go_field_order(api: httpx.AsyncClient) -> None:
    for name in ("zeta", "alpha", "mid"):
        body = {"name": name, "upstream": "x:1", "listen": "127.0.0.1:0", "enabled": False}
        await api.post("/proxies", json=body)
    raw = (await api.get("/proxies")).text
    assert raw.index('"alpha"') < raw.index('"mid"') < raw.index('"zeta"')
    assert raw.startswith('{"alpha":{"name":"alpha","listen":"127.0.0.1:0","upstream":"x:1",')
