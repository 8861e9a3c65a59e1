"""The set of proxies and the API's semantics over it (spec 1.3-1.5): create, update, delete,
populate, reset and the toxic operations, each validating in Go's order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from chaos import address, errors, gojson, toxic_math
from chaos.errors import ApiError
from chaos.proxy import Proxy
from chaos.toxic_spec import ToxicSpec, apply_update, parse_new_toxic
from kernel.clock import Clock


@dataclass(frozen=True)
class ProxyInput:
    """The writable fields of a proxy, as decoded from a request body."""

    name: str = ""
    listen: str = ""
    upstream: str = ""
    enabled: bool = True


class PopulateError(ApiError):
    """A /populate failure; the body also lists the proxies processed before it (or null)."""

    def __init__(self, cause: ApiError, proxies: list[dict[str, object]] | None) -> None:
        super().__init__(cause.status, cause.message)
        self.proxies = proxies

    def extra(self) -> dict[str, object]:
        return {"proxies": self.proxies}


def parse_proxy_input(body: object, base: ProxyInput, where: str = "Go value") -> ProxyInput:
    """Overlay a JSON object on ``base``: unknown keys ignored, null keeps, keys case-folded."""
    if not isinstance(body, dict):
        raise gojson.type_error(body, where, "proxy.Proxy")
    result = base
    for key, value in gojson.fold_keys(body).items():
        if key == "enabled" and value is not None:
            if not isinstance(value, bool):
                raise gojson.type_error(value, "Go struct field Proxy.enabled", "bool")
            result = replace(result, enabled=value)
        elif key in ("name", "listen", "upstream") and value is not None:
            if not isinstance(value, str):
                raise gojson.type_error(value, f"Go struct field Proxy.{key}", "string")
            result = replace(result, **{key: value})  # type: ignore[arg-type]
    return result


class ProxyCollection:
    """All proxies of one server. Mutations are serialised, as Go does with its mutex."""

    def __init__(self, clock: Clock, rng: toxic_math.Rng) -> None:
        self._clock = clock
        self._rng = rng
        self._proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()

    def all(self) -> list[Proxy]:
        return [self._proxies[name] for name in sorted(self._proxies)]

    def get(self, name: str) -> Proxy:
        proxy = self._proxies.get(name)
        if proxy is None:
            raise ApiError(404, errors.PROXY_NOT_FOUND)
        return proxy

    async def create(self, spec: ProxyInput) -> Proxy:
        async with self._lock:
            _require_fields(spec, "")
            if spec.name in self._proxies:
                raise ApiError(409, errors.PROXY_EXISTS)
            proxy = self._new(spec)
            if spec.enabled:
                await proxy.start()
            self._proxies[spec.name] = proxy
            return proxy

    async def update(self, name: str, body: object) -> Proxy:
        async with self._lock:
            proxy = self.get(name)
            base = ProxyInput(proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
            spec = parse_proxy_input(body, base)
            if await _differs(proxy, spec):
                proxy.stop()  # a new listen or upstream drops every connection
                proxy.listen, proxy.upstream = spec.listen, spec.upstream
            if spec.enabled and not proxy.enabled:
                await proxy.start()
            elif not spec.enabled and proxy.enabled:
                proxy.stop()
            return proxy

    async def delete(self, name: str) -> None:
        async with self._lock:
            self.get(name).stop()
            del self._proxies[name]

    async def populate(self, body: object) -> list[Proxy]:
        """Validate every item first (atomic), then add or replace in order, stopping at the
        first failure without rolling back (spec 1.4)."""
        if not isinstance(body, list):
            raise gojson.type_error(body, "Go value", "[]proxy.Proxy")
        specs = [parse_proxy_input(item, ProxyInput()) for item in body]
        try:
            for index, spec in enumerate(specs, start=1):
                _require_fields(spec, f" at proxy {index}")
        except ApiError as exc:
            raise PopulateError(exc, None) from exc
        done: list[Proxy] = []
        async with self._lock:
            for spec in specs:
                try:
                    done.append(await self._add_or_replace(spec))
                except ApiError as exc:
                    raise PopulateError(exc, [p.document() for p in done]) from exc
        return done

    async def _add_or_replace(self, spec: ProxyInput) -> Proxy:
        existing = self._proxies.get(spec.name)
        if existing is not None:
            if not await _differs(existing, spec):
                return existing  # untouched: listener, connections, toxics, enabled state
            existing.stop()
        proxy = self._new(spec)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def reset(self) -> None:
        """Re-enable every proxy and remove all toxics; proxies are not deleted (spec 1.5)."""
        async with self._lock:
            for proxy in self.all():
                await proxy.start()
                proxy.remove_all_toxics()

    def stop_all(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()

    # Toxics
    async def add_toxic(self, proxy_name: str, body: object) -> ToxicSpec:
        async with self._lock:
            proxy = self.get(proxy_name)
            spec = parse_new_toxic(body, {s.name for s in proxy.toxics()})
            proxy.add_toxic(spec)
            return spec

    def get_toxic(self, proxy_name: str, toxic_name: str) -> ToxicSpec:
        spec = self.get(proxy_name).find_toxic(toxic_name)
        if spec is None:
            raise ApiError(404, errors.TOXIC_NOT_FOUND)
        return spec

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> ToxicSpec:
        async with self._lock:
            spec = apply_update(self.get_toxic(proxy_name, toxic_name), body)
            self.get(proxy_name).update_toxic(spec)
            return spec

    async def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        async with self._lock:
            spec = self.get_toxic(proxy_name, toxic_name)
            self.get(proxy_name).remove_toxic(spec)

    def _new(self, spec: ProxyInput) -> Proxy:
        return Proxy(spec.name, spec.listen, spec.upstream, self._clock, self._rng)


def _require_fields(spec: ProxyInput, suffix: str) -> None:
    if not spec.name:
        raise ApiError(400, f"{errors.MISSING_FIELD}: name{suffix}")
    if not spec.upstream:
        raise ApiError(400, f"{errors.MISSING_FIELD}: upstream{suffix}")


async def _differs(proxy: Proxy, spec: ProxyInput) -> bool:
    """Go's ``Differs``: the resolved new listen against the stored one, upstream byte for byte."""
    resolved = str(await address.resolve(spec.listen))
    return resolved != proxy.listen or spec.upstream != proxy.upstream
