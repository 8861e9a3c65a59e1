"""The unmodified PyPI clients end to end: toxiproxy-python and chaostoolkit-toxiproxy.

Both are synchronous (requests), so they run in a worker thread while the server runs in the
test's event loop. Each test also checks the effect on real traffic, not just the API answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from chaos.loopback import round_trip
from chaos.server import ToxiproxyServer

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def echo_round_trip(port: int, payload: bytes = b"ping") -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(round_trip(reader, writer, payload), 5)
    finally:
        writer.close()


@pytest.fixture()
def toxiproxy_python(toxiproxy: ToxiproxyServer) -> Iterator[Any]:
    """toxiproxy-python pointed at our server through its own API (process-wide globals)."""
    from toxiproxy import Toxiproxy
    from toxiproxy.api import APIConsumer

    saved = (APIConsumer.host, APIConsumer.port)
    client = Toxiproxy()
    client.update_api_consumer("127.0.0.1", toxiproxy.port)
    yield client
    client.update_api_consumer(*saved)


async def test_toxiproxy_python_end_to_end(toxiproxy_python: Any, echo_port: int) -> None:
    from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

    client = toxiproxy_python
    assert await in_thread(client.running)
    assert await in_thread(client.version) == b'{"version": "2.12.0"}\n'
    proxy = await in_thread(client.create, f"127.0.0.1:{echo_port}", "echo")
    port = int(proxy.listen.split(":")[1])
    assert proxy.enabled is True and set(await in_thread(client.proxies)) == {"echo"}
    with pytest.raises(ProxyExists):
        await in_thread(client.create, f"127.0.0.1:{echo_port}", "echo")

    await in_thread(proxy.add_toxic, type="latency", attributes={"latency": 150})
    with pytest.raises(ProxyExists):  # the client maps every 409, toxics included
        await in_thread(proxy.add_toxic, type="latency", attributes={"latency": 1})
    with pytest.raises(InvalidToxic):
        await in_thread(proxy.add_toxic, type="bogus", name="b")
    toxic = (await in_thread(proxy.toxics))["latency_downstream"]
    assert (toxic.type, toxic.attributes) == ("latency", {"latency": 150, "jitter": 0})
    assert await echo_round_trip(port) >= 0.14
    assert await in_thread(proxy.destroy_toxic, "latency_downstream") is True
    assert await echo_round_trip(port) < 0.1
    with pytest.raises(NotFound):
        await in_thread(proxy.destroy_toxic, "latency_downstream")

    def refused_while_down() -> bool:
        with proxy.down():
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            except ConnectionRefusedError:
                return True
        return False

    assert await in_thread(refused_while_down)
    assert await echo_round_trip(port) < 0.1  # back up after the context
    await in_thread(proxy.disable)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await in_thread(proxy.add_toxic, type="noop")
    assert await in_thread(client.reset) is True  # re-enables and clears toxics
    assert await in_thread(proxy.toxics) == {}
    assert await echo_round_trip(port) < 0.1

    made = await in_thread(
        client.populate,
        [{"name": "p2", "upstream": f"127.0.0.1:{echo_port}", "listen": "127.0.0.1:0"}],
    )
    assert [p.name for p in made] == ["p2"]
    await in_thread(client.destroy_all)
    assert await in_thread(client.proxies) == {}


async def test_chaostoolkit_toxiproxy_actions(
    toxiproxy: ToxiproxyServer, echo_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaostoxi.proxy import actions as proxy_actions
    from chaostoxi.proxy import probes
    from chaostoxi.toxic import actions as toxic_actions

    monkeypatch.setenv("ctk_PORT", "")  # create_proxy writes os.environ; restored after
    config: dict[str, Any] = {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": toxiproxy.port}
    assert await in_thread(
        proxy_actions.create_proxy, "ctk", "127.0.0.1", echo_port, configuration=config
    )
    port = int(config["ctk_PORT"])
    assert await in_thread(probes.proxy_exist, "ctk", configuration=config)
    listen = await in_thread(probes.get_proxy_attribute, "ctk", "listen", configuration=config)
    assert listen == f"[::]:{port}"  # default listen_host 0.0.0.0 binds dual-stack, as Go does

    assert await in_thread(
        toxic_actions.create_latency_toxic, "ctk", "slow", 200, configuration=config
    )
    assert 0.18 <= await echo_round_trip(port) <= 0.5
    assert await in_thread(toxic_actions.delete_toxic, "ctk", "slow", configuration=config)
    assert await in_thread(toxic_actions.delete_toxic, "ctk", "slow", configuration=config) is False

    assert await in_thread(
        toxic_actions.create_limiter_toxic, "ctk", "lim", 3, configuration=config
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"abcdef")
    assert await asyncio.wait_for(reader.read(), 5) == b"abc"  # 3 bytes, then closed
    writer.close()
    assert await in_thread(
        toxic_actions.create_toxic,
        "ctk",
        "rp",
        "reset_peer",
        "upstream",
        attributes=None,
        configuration=config,
    )
    await in_thread(proxy_actions.reset, configuration=config)
    assert await in_thread(probes.get_proxy_attribute, "ctk", "toxics", configuration=config) == []

    await in_thread(proxy_actions.disable_proxy, "ctk", configuration=config)
    assert not await in_thread(probes.get_proxy_attribute, "ctk", "enabled", configuration=config)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await in_thread(proxy_actions.enable_proxy, "ctk", configuration=config)
    assert await echo_round_trip(port) < 0.1
    with pytest.raises(TypeError):  # the action's own failure mode on a 400 (spec 3.1)
        await in_thread(toxic_actions.create_toxic, "ctk", "bad", "bogus", configuration=config)
    await in_thread(proxy_actions.delete_proxy, "ctk", configuration=config)
    assert not await in_thread(probes.proxy_exist, "ctk", configuration=config)
