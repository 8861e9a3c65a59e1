"""The composition root's runbook adapters: pausing chaos on the embedded Toxiproxy server
(the faults lifted, then put back as they were), and the local keys `covenant up` makes."""

from __future__ import annotations

from pathlib import Path

from chaos.server import ToxiproxyServer
from controlplane.keys import KeyStore
from covenant.chaos_pause import ToxiproxyChaosPause
from covenant.local_keys import ensure_local_keys


async def test_pause_lifts_every_fault_and_resume_puts_them_back() -> None:
    server = ToxiproxyServer(port=0)
    await server.start()
    try:
        await server.create_proxy("syd_api", "127.0.0.1:9")
        await server.create_proxy("sin_api", "127.0.0.1:9")
        await server.add_toxic("syd_api", "latency", name="slow", attributes={"latency": 500})
        await server.update_proxy("sin_api", enabled=False)
        chaos = ToxiproxyChaosPause(server)
        await chaos.pause("budget burning")
        await chaos.pause("again")  # idempotent: the snapshot is not overwritten
        proxies = server.proxies()
        assert chaos.paused and all(p.enabled and not p.toxics for p in proxies.values())
        assert chaos.describe() == "paused (budget burning), 2 fault(s) held back"
        await chaos.resume("budget recovered")
        proxies = server.proxies()
        assert [t.name for t in proxies["syd_api"].toxics] == ["slow"]
        assert proxies["syd_api"].toxics[0].attributes["latency"] == 500
        assert not proxies["sin_api"].enabled and not chaos.paused
        await chaos.resume("twice")  # nothing to put back
        assert chaos.describe() == "running"
    finally:
        await server.stop()


def test_up_makes_the_local_keys_once_and_again_when_revoked(tmp_path: Path) -> None:
    keys = KeyStore(f"sqlite:///{tmp_path / 'state.db'}")
    ensure_local_keys(keys, tmp_path, ["sre-oncall"])
    admin = (tmp_path / "admin.key").read_text().strip()
    assert (tmp_path / "admin.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "alertmanager.key").stat().st_mode & 0o777 == 0o600
    info = keys.authenticate(admin)
    assert info is not None and info.role == "admin" and info.teams == ("sre-oncall",)
    ensure_local_keys(keys, tmp_path, ["sre-oncall"])  # a restart keeps them
    assert (tmp_path / "admin.key").read_text().strip() == admin
    keys.revoke("local-admin", "test")
    ensure_local_keys(keys, tmp_path, ["sre-oncall"])  # a revoked one is replaced
    assert (tmp_path / "admin.key").read_text().strip() != admin
    assert [e.kind for e in keys.events()] == ["created", "revoked", "created", "created"]
    keys.close()
