"""A client for ANY Toxiproxy 2.x endpoint — the embedded server or a real one.

Updates use POST (accepted by every 2.x server; PATCH only exists since 2.6.0). The network
seam is an httpx transport, so tests can pass ``httpx.MockTransport`` or an ASGI one.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from urllib.parse import quote

import httpx

from chaos.errors import ClientError
from chaos.models import Proxy, ProxyConfig, Toxic

USER_AGENT = "covenant-chaos"


class ToxiproxyClient:
    """Async client: ``async with ToxiproxyClient("http://127.0.0.1:8474") as toxiproxy: ...``."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
        )

    async def __aenter__(self) -> ToxiproxyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: object = None) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ClientError(0, f"{method} {path}: Toxiproxy unreachable: {exc}") from exc
        if response.is_error:
            raise ClientError(response.status_code, f"{method} {path}: {_message(response)}")
        return response

    async def version(self) -> str:
        response = await self._call("GET", "/version")
        try:
            return str(response.json()["version"])
        except (ValueError, KeyError, TypeError):
            return response.text.strip()  # Toxiproxy <= 2.5 answered plain text

    async def proxies(self) -> dict[str, Proxy]:
        data = (await self._call("GET", "/proxies")).json()
        return {name: Proxy.model_validate(value) for name, value in data.items()}

    async def get_proxy(self, name: str) -> Proxy:
        return Proxy.model_validate((await self._call("GET", _p(name))).json())

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy.model_validate((await self._call("POST", "/proxies", body)).json())

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        given = {"listen": listen, "upstream": upstream, "enabled": enabled}
        body = {key: value for key, value in given.items() if value is not None}
        return Proxy.model_validate((await self._call("POST", _p(name), body)).json())

    async def enable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._call("DELETE", _p(name))

    async def populate(self, configs: Sequence[ProxyConfig]) -> list[Proxy]:
        body = [config.model_dump() for config in configs]
        data = (await self._call("POST", "/populate", body)).json()
        return [Proxy.model_validate(item) for item in data.get("proxies") or []]

    async def toxics(self, proxy: str) -> list[Toxic]:
        data = (await self._call("GET", f"{_p(proxy)}/toxics")).json()
        return [Toxic.model_validate(item) for item in data]

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, int] | None = None,
    ) -> Toxic:
        body: dict[str, object] = {"type": type, "stream": stream, "toxicity": toxicity}
        if name is not None:
            body["name"] = name
        body["attributes"] = attributes or {}
        data = (await self._call("POST", f"{_p(proxy)}/toxics", body)).json()
        return Toxic.model_validate(data)

    async def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: dict[str, int] | None = None,
        toxicity: float | None = None,
    ) -> Toxic:
        body: dict[str, object] = {"attributes": attributes or {}}
        if toxicity is not None:
            body["toxicity"] = toxicity
        data = await self._call("POST", f"{_p(proxy)}/toxics/{quote(name, safe='')}", body)
        return Toxic.model_validate(data.json())

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"{_p(proxy)}/toxics/{quote(name, safe='')}")

    async def reset(self) -> None:
        await self._call("POST", "/reset")


def _p(name: str) -> str:
    return f"/proxies/{quote(name, safe='')}"


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip() or response.reason_phrase
