"""``covenant keys``: API keys of the control plane, on the state store directly (works
whether or not ``covenant up`` runs; a revoked key fails on its next request either way).
Every change is recorded in ``cp_key_events`` with the OS user who made it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from controlplane.access import Role

if TYPE_CHECKING:  # SQLAlchemy stays out of `covenant --help`
    from controlplane.keys import KeyStore

RoleOption = Annotated[Role, typer.Option("--role", help="admin, sre, oncall, auditor or "
                                          "alertmanager (docs/runbooks.md, Access).")]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    keys = typer.Typer(help="API keys of the control-plane API (stored as hashes).",
                       no_args_is_help=True)
    app.add_typer(keys, name="keys")
    keys.command("create")(create)
    keys.command("list")(list_keys)
    keys.command("revoke")(revoke)
    keys.command("role")(set_role)
    keys.command("events")(events)


def _store() -> KeyStore:
    from controlplane.keys import KeyStore
    from kernel.settings import load_settings

    return KeyStore(load_settings().state.resolved_url())


def _actor() -> str:
    try:
        return f"cli:{os.getlogin()}"
    except OSError:
        return f"cli:uid-{os.getuid()}"


def _when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def create(role: RoleOption, name: Annotated[str, typer.Option("--name")],
           teams: Annotated[list[str] | None, typer.Option(
               "--team", help="A runbook approver role this key may approve as (repeatable), "
               "e.g. sre-oncall.")] = None) -> None:
    """Make a key; it is printed once (only its hash is kept)."""
    from controlplane.keys import ApiKeyError

    store = _store()
    try:
        info, token = store.create(name, role.value, teams or [], _actor())
    except ApiKeyError as exc:
        typer.echo(f"covenant keys create: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"key #{info.id} {info.name} ({info.role}"
               f"{', teams ' + ', '.join(info.teams) if info.teams else ''}):")
    typer.echo(token)
    typer.echo("keep it now: only its hash is stored. Use: -H 'Authorization: Bearer <key>'",
               err=True)


def list_keys(revoked: Annotated[bool, typer.Option("--all", help="Revoked ones too.")]
              = False) -> None:
    """The keys (never the keys themselves: their prefixes)."""
    from rich.console import Console
    from rich.table import Table

    store = _store()
    try:
        found = store.keys(include_revoked=revoked)
    finally:
        store.close()
    table = Table("id", "name", "role", "teams", "prefix", "created", "by", "revoked")
    for k in found:
        table.add_row(str(k.id), k.name, k.role, ", ".join(k.teams), f"{k.prefix}…",
                      _when(k.created_at), k.created_by, _when(k.revoked_at))
    Console().print(table)


def revoke(key: Annotated[str, typer.Argument(help="The key's id, name or prefix.")]) -> None:
    """Revoke a key: its next request fails with 401."""
    from controlplane.keys import ApiKeyError

    store = _store()
    try:
        info = store.revoke(key, _actor())
    except ApiKeyError as exc:
        typer.echo(f"covenant keys revoke: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"revoked key #{info.id} {info.name} ({info.prefix}…)")


def set_role(key: Annotated[str, typer.Argument(help="The key's id, name or prefix.")],
             role: RoleOption) -> None:
    """Give a key another role (recorded)."""
    from controlplane.keys import ApiKeyError

    store = _store()
    try:
        info = store.set_role(key, role.value, _actor())
    except ApiKeyError as exc:
        typer.echo(f"covenant keys role: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"key #{info.id} {info.name} is now {info.role}")


def events(limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    """Every key and role change, newest first (the compliance evidence)."""
    store = _store()
    try:
        found = store.events(limit)
    finally:
        store.close()
    for e in found:
        typer.echo(f"{_when(e.at)} #{e.key_id} {e.key_name} {e.kind} ({e.role}) by {e.actor}: "
                   f"{e.detail}")
