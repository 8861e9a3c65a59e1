"""Typed views of the Toxiproxy API's objects, shared by the client and the in-process API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Toxic(BaseModel):
    """A toxic as the API reports it. ``attributes`` are the type's integer parameters."""

    model_config = ConfigDict(extra="ignore")

    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, int] = Field(default_factory=dict)


class Proxy(BaseModel):
    """A proxy as the API reports it; ``listen`` is the bound address once it has started."""

    model_config = ConfigDict(extra="ignore")

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = Field(default_factory=list)

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"


class ProxyConfig(BaseModel):
    """One proxy to create or populate (the ``-config`` file holds a JSON list of these)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    upstream: str
    listen: str = "127.0.0.1:0"
    enabled: bool = True
