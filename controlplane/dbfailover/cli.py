"""``covenant db pair init|status``, ``covenant db rejoin``, ``covenant db switchover`` and
``covenant db failover``, added by the composition root to the core API's ``db`` group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from controlplane.dbfailover.supervisor import DbSupervisor, PairBackend
    from controlplane.dbspec import PairSpec

FAILOVER_RUNBOOK = "postgres-primary-down"  # its manual step asks for `covenant db rejoin`
RegionArg = Annotated[str, typer.Argument(help="Region code: ams, iad, syd, sin, sfo or jnb.")]
DirOption = Annotated[Path | None, typer.Option(
    "--dir", help="The pair's directory (default: db.pairs.<region>.dir of --config, else "
    "<data_dir>/pg/<region>).")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="covenant.yaml: the region's pair (backend, directory) under db.pairs.")]


def register(db: typer.Typer) -> None:
    pair = typer.Typer(help="A region's PostgreSQL primary and synchronous standby.",
                       no_args_is_help=True)
    db.add_typer(pair, name="pair")
    pair.command("init")(pair_init)
    pair.command("status")(pair_status)
    db.command("rejoin")(rejoin)
    db.command("switchover")(switchover)
    db.command("failover")(failover)


def _quiet() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Toxiproxy call


def _fail(command: str, exc: Exception) -> typer.Exit:
    typer.echo(f"covenant db {command}: {exc}", err=True)
    return typer.Exit(1)


def _region(region: str) -> str:
    from kernel.regions import REGION_CODES

    _quiet()

    if region not in REGION_CODES:
        raise typer.BadParameter(f"{region!r} is not a region; use {', '.join(REGION_CODES)}")
    return region


def _dir(region: str, directory: Path | None, config: Path | None) -> Path:
    from controlplane.dbfailover.backends import pair_dir
    from controlplane.dbspec import PairSpec
    from kernel.settings import load_settings

    if directory is not None:
        return directory.resolve()
    settings = load_settings(config)
    spec = _spec(region, config) or PairSpec()
    return pair_dir(region, spec, Path(settings.data_dir))


def _spec(region: str, config: Path | None) -> PairSpec | None:
    if config is None:
        return None
    from controlplane.desired import load_desired

    return load_desired(config).db.pairs.get(region)


def pair_init(
    region: RegionArg,
    primary_port: Annotated[int, typer.Option("--primary-port", min=1, max=65535)] = 5441,
    standby_port: Annotated[int, typer.Option("--standby-port", min=1, max=65535)] = 5442,
    directory: DirOption = None,
    database: Annotated[str, typer.Option("--database", help="The core API's database.")]
    = "covenant",
) -> None:
    """Create a primary and a synchronous streaming standby (initdb, pg_basebackup, a
    replication slot, wal_log_hints for pg_rewind). Refused before anything is touched when
    a binary is missing, a port is in use or the directory is taken."""
    from controlplane.dbfailover.errors import DbFailoverError
    from controlplane.dbfailover.pair import init_pair

    where = _dir(_region(region), directory, None)
    try:
        state = asyncio.run(init_pair(region, where, primary_port, standby_port, database))
    except DbFailoverError as exc:
        raise _fail("pair init", exc) from exc
    typer.echo(f"pair {region} ready in {where}: primary a on {state.nodes['a']}, synchronous "
               f"standby b on {state.nodes['b']}; database url "
               f"postgresql+psycopg://postgres@127.0.0.1:{state.nodes['a']}/{database}")


def pair_status(region: RegionArg, directory: DirOption = None,
                config: ConfigOption = None) -> None:
    """Roles, LSNs, lag and sync state of the region's pair, read from both nodes."""
    from rich.console import Console

    from controlplane.dbfailover.errors import DbFailoverError
    from controlplane.dbfailover.pair import pair_status as read
    from controlplane.dbfailover.pairstate import STATE_FILE
    from controlplane.dbfailover.status import status_table

    where = _dir(_region(region), directory, config)
    if not (where / STATE_FILE).exists():
        raise _fail("pair status", DbFailoverError(
            f"{region} has no database pair in {where}: the embedded default (SQLite) has no "
            f"standby and no failover; create one with `covenant db pair init {region}`"))
    try:
        state, nodes = asyncio.run(read(where))
    except DbFailoverError as exc:
        raise _fail("pair status", exc) from exc
    Console().print(status_table(state, nodes))


def _backend(region: str, directory: Path | None, config: Path | None) -> PairBackend:
    from controlplane.dbfailover.backends import backend_for
    from controlplane.dbfailover.native import NativePair
    from kernel.settings import load_settings

    spec = _spec(region, config)
    if spec is not None and spec.backend != "native":
        return backend_for(region, spec, Path(load_settings(config).data_dir), True)
    return NativePair(region, _dir(region, directory, config))


def rejoin(region: RegionArg, directory: DirOption = None, config: ConfigOption = None) -> None:
    """The fenced old primary becomes the new standby: CHECKPOINT on the primary, pg_rewind,
    start as a standby, synchronous again. Takes the region's lock, or goes ahead under the
    postgres-primary-down run that holds it and asks for this rejoin."""
    from controlplane.dbfailover.errors import DbFailoverError
    from runbooks.admission import lock_holder_name

    try:
        line = _locked(region, directory, config, lambda s: s.rejoin(
            region, on_behalf_of={lock_holder_name(FAILOVER_RUNBOOK)}))
    except DbFailoverError as exc:
        raise _fail("rejoin", exc) from exc
    typer.echo(line)


def switchover(region: RegionArg, directory: DirOption = None,
               config: ConfigOption = None) -> None:
    """Planned: the synchronous standby becomes primary, the old primary its standby; the
    write pause is measured and reported. Refused while a runbook, a game day or another
    database operation holds the region."""
    from controlplane.dbfailover.errors import DbFailoverError

    try:
        line = _locked(region, directory, config, lambda s: s.switchover(region))
    except DbFailoverError as exc:
        raise _fail("switchover", exc) from exc
    typer.echo(line)


def failover(region: RegionArg, directory: DirOption = None, config: ConfigOption = None,
             reason: Annotated[str, typer.Option("--reason")] = "by hand") -> None:
    """Fence the primary and promote the standby now (what the control plane does when the
    primary is down). Refused when the pair has no standby, or while someone else holds the
    region."""
    from controlplane.dbfailover.errors import DbFailoverError

    async def by_hand(supervisor: DbSupervisor) -> str:
        backend = supervisor.backend(region)
        async with supervisor.holding(region, "failover"):
            report = await backend.failover(reason)
        return report.line()

    try:
        line = _locked(region, directory, config, by_hand)
    except DbFailoverError as exc:
        raise _fail("failover", exc) from exc
    typer.echo(line)


def _locked(region: str, directory: Path | None, config: Path | None,
            work: Callable[[DbSupervisor], Coroutine[Any, Any, str]]) -> str:
    """``work`` on a supervisor of this one pair whose lock is the state store's region lock,
    the one ``covenant up``'s runbooks and failovers take (so two processes never act on a
    region at once)."""
    from controlplane.dbfailover.supervisor import DbSupervisor
    from controlplane.dbspec import FailoverPolicy
    from kernel.settings import load_settings
    from kernel.state.locks import SqlRegionLock

    backend = _backend(_region(region), directory, config)
    lock = SqlRegionLock(load_settings(config).state.resolved_url())
    try:
        return asyncio.run(work(DbSupervisor(FailoverPolicy(), {region: backend}, lock)))
    finally:
        lock.close()
