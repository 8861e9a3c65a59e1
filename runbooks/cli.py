"""``covenant runbook ...``: list, show, validate, render, run (or --dry-run), approve, status,
and ``call``/``probe`` to do one step by hand.

The composition root passes a ``context_factory`` (a context manager yielding a
:class:`RunbookContext`); the default has the shipped library only, enough for ``list``,
``show``, ``validate``, ``render`` and ``run --dry-run``. With a ``remote`` factory (what
``covenant`` passes) the commands that act or read runs talk to the control-plane API of a
running ``covenant up`` (``--url``, default http://127.0.0.1:8000) with the local admin key:
``run``, ``approve`` (the approver is the key's name), ``status``, ``call``, ``probe``, and
``show``/``list`` add the latest runs and what can run here when it answers. Without either,
commands that act say what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from runbooks.errors import RunbookError, RunbookSpecError
from runbooks.executor import Executor
from runbooks.journal import Journal, RunStatus
from runbooks.model import Runbook
from runbooks.ports import CallContext, Runners
from runbooks.probes import VERDICTS
from runbooks.templating import ArgValue

if TYPE_CHECKING:  # httpx stays out of `covenant --help`
    from runbooks.remote import RemoteRuns

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class RunbookContext:
    runbooks: Mapping[str, Runbook]
    journal: Journal | None = None
    executor: Executor | None = None
    runners: Runners = field(default_factory=Runners)
    known_alerts: Collection[str] | None = None  # None: alert names not checked
    known_verdicts: Collection[str] = field(default_factory=lambda: tuple(VERDICTS))


ContextFactory = Callable[[], AbstractContextManager[RunbookContext]]
RemoteFactory = Callable[[str], "RemoteRuns"]  # the control plane's URL -> a client with a key


@contextlib.contextmanager
def library_context() -> Iterator[RunbookContext]:
    """The shipped library and nothing else (no stack)."""
    from runbooks.spec import load_library

    yield RunbookContext(load_library())


Inputs = Annotated[list[str] | None, typer.Option("--input", "-i", help="NAME=VALUE, repeatable.")]
Pairs = Annotated[list[str] | None, typer.Argument(help="NAME=VALUE arguments.")]
Roles = Annotated[list[str] | None, typer.Option(
    "--role", help="Your role (repeatable; without the API only: the API takes the key's).")]
Url = Annotated[str, typer.Option("--url", help="The control-plane API of `covenant up`.")]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _pairs(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            _fail(f"{item!r} is not NAME=VALUE")
        out[name.strip()] = value
    return out


def _need(thing: object, what: str) -> None:
    if thing is None:
        _fail(f"no {what} is wired here: this needs the running stack (`covenant up`); "
              "use --dry-run to see what would happen")


def register(app: typer.Typer, bench: typer.Typer,
             context_factory: ContextFactory = library_context,
             remote: RemoteFactory | None = None) -> None:
    """Add ``covenant runbook``. ``bench`` is taken for the uniform signature (its benchmark
    is bench.cli's)."""
    rb_app = typer.Typer(help="Runbook-as-code: list, show, run with approvals, status.",
                         no_args_is_help=True)
    app.add_typer(rb_app, name="runbook")
    commands = Commands(context_factory, remote)
    rb_app.command("list")(commands.list_)
    rb_app.command("show")(commands.show)
    rb_app.command("validate")(commands.validate_)
    rb_app.command("render")(commands.render)
    rb_app.command("run")(commands.run)
    rb_app.command("approve")(commands.approve)
    rb_app.command("status")(commands.status)
    rb_app.command("call")(commands.call)
    rb_app.command("probe")(commands.probe)


class Commands:
    """The commands, bound to the context factory the composition root passed."""

    def __init__(self, context_factory: ContextFactory,
                 remote: RemoteFactory | None = None) -> None:
        self._ctx = context_factory
        self._remote = remote

    @contextlib.contextmanager
    def _api(self, url: str) -> Iterator[RemoteRuns]:
        assert self._remote is not None
        client = self._remote(url)
        try:
            yield client
        except RunbookError as exc:  # runbooks.remote.RemoteError: unreachable or refused
            _fail(str(exc))
        finally:
            client.close()

    def _maybe(self, url: str) -> RemoteRuns | None:
        """A client when the API answers, else None (for what works without it)."""
        if self._remote is None:
            return None
        client = self._remote(url)
        try:
            client.runbooks()
        except RunbookError:
            client.close()
            return None
        return client

    def list_(self, url: Url = DEFAULT_URL) -> None:
        """The runbooks, their severity, owner and title (and, with the stack up, which run
        here for real)."""
        from runbooks.console import print_library

        with self._ctx() as c:
            client = self._maybe(url)
            here = {r["id"]: r for r in client.runbooks()} if client else None
            if client:
                client.close()
            print_library(Console(), c.runbooks, here)

    def show(self, runbook_id: str, html: Annotated[bool, typer.Option("--html")] = False,
             url: Url = DEFAULT_URL) -> None:
        """A runbook as a page (Markdown, or HTML with --html), with its latest runs."""
        from runbooks.render import render_html, render_markdown

        with self._ctx() as c:
            rb = _runbook(c, runbook_id)
            runs = (asyncio.run(c.journal.list_runs(runbook=rb.id, limit=10))
                    if c.journal is not None else [])
            client = self._maybe(url) if c.journal is None else None
            if client is not None:
                try:
                    runs = client.runs(limit=10, runbook=rb.id)
                except RunbookError:
                    runs = []  # a key that may not read runs: the page without them
                client.close()
            typer.echo((render_html if html else render_markdown)(rb, runs))

    def validate_(self, paths: Annotated[list[Path] | None, typer.Argument()] = None,
                  url: Url = DEFAULT_URL) -> None:
        """Check runbook files (default: the library); print every problem as FILE:LINE,
        and, with the stack up, what can only be dry-run there and why."""
        from runbooks.spec import load_runbook
        from runbooks.validate import problems

        with self._ctx() as c:
            found: list[str] = []
            books = list(c.runbooks.values())
            try:
                books = [load_runbook(p) for p in paths] if paths else books
            except RunbookSpecError as exc:
                _fail(str(exc))
            for rb in books:
                found += problems(rb, c.known_alerts, c.known_verdicts)
            if found:
                _fail("\n".join(found))
            typer.echo(f"{len(books)} runbook(s) valid")
            self._dry_only(url)

    def _dry_only(self, url: str) -> None:
        client = self._maybe(url)
        if client is None:
            return
        blocked = [r for r in client.runbooks() if not r["runnable"]]
        client.close()
        if blocked:
            typer.echo(f"in the stack at {url}, {len(blocked)} run only as a dry run:")
            for r in blocked:
                typer.echo("\n".join(f"  {p}" for p in r["blocked"]))

    def render(self, out: Annotated[Path, typer.Option("--out", help="Directory for the pages.")]
               ) -> None:
        """Write a Markdown page per runbook and an index."""
        from runbooks.render import write_pages

        with self._ctx() as c:
            written = write_pages(c.runbooks, out)
        typer.echo(f"wrote {len(written)} pages under {out}")

    def run(self, runbook_id: str, region: Annotated[str, typer.Option("--region")],
            inputs: Inputs = None, dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
            actor: Annotated[str, typer.Option("--as", help="Who starts it.")] = "cli",
            url: Url = DEFAULT_URL) -> None:
        """Run a runbook (or show every call it would make with --dry-run)."""
        from runbooks.console import print_plan, print_run
        from runbooks.inputs import resolve_inputs
        from runbooks.plan import plan

        with self._ctx() as c:
            rb = _runbook(c, runbook_id)
            given = {**_pairs(inputs), "region": region}
            try:
                if dry_run:
                    values = resolve_inputs(rb, given)
                    print_plan(Console(), rb, plan(rb, values), values)
                    return
                if self._remote is not None and c.executor is None:
                    self._run_remote(url, rb.id, region, _pairs(inputs))
                    return
                _need(c.executor, "executor")
                assert c.executor is not None and c.journal is not None
                record = asyncio.run(c.executor.start(rb.id, given, f"cli:{actor}"))
                steps = asyncio.run(c.journal.steps(record.id))
            except RunbookError as exc:
                _fail(str(exc))
                return
            print_run(Console(), record, steps)
            if record.status in (RunStatus.FAILED, RunStatus.TIMED_OUT):
                raise typer.Exit(1)

    def _run_remote(self, url: str, runbook_id: str, region: str,
                    inputs: Mapping[str, str]) -> None:
        from runbooks.console import print_run

        with self._api(url) as api:
            started = api.start(runbook_id, region, inputs)
            typer.echo(f"{started['decision']}: {started['reason']}")
            if started.get("run") is not None:
                print_run(Console(), *api.run(int(started["run"])))
                typer.echo(f"follow it: covenant runbook status {started['run']}")

    def approve(self, run_id: int, step_id: str, roles: Roles = None,
                approver: Annotated[str | None, typer.Option(
                    "--as", help="Your name (without the API only: the API takes the key's)."
                )] = None, url: Url = DEFAULT_URL) -> None:
        """Approve a waiting approval step, or confirm a manual step done."""
        from runbooks.console import print_run

        with self._ctx() as c:
            if self._remote is not None and c.executor is None:
                with self._api(url) as api:
                    done = api.approve(run_id, step_id)
                    typer.echo(done["output"])
                    print_run(Console(), *api.run(run_id))
                return
            _need(c.executor, "executor")
            assert c.executor is not None and c.journal is not None
            if not approver or not roles:
                _fail("without the control-plane API, give --as NAME and --role ROLE")
            assert approver is not None and roles is not None
            try:
                record = asyncio.run(c.executor.approve(run_id, step_id, approver, roles))
                steps = asyncio.run(c.journal.steps(run_id))
            except RunbookError as exc:
                _fail(str(exc))
                return
            print_run(Console(), record, steps)

    def status(self, run_id: Annotated[int | None, typer.Argument()] = None,
               limit: Annotated[int, typer.Option("--limit")] = 20,
               before: Annotated[int | None, typer.Option("--before", help="Older than this.")]
               = None, url: Url = DEFAULT_URL) -> None:
        """Recent runs, or one run's steps like a deploy log."""
        from runbooks.console import print_locks, print_run, print_runs

        with self._ctx() as c:
            if self._remote is not None and c.journal is None:
                with self._api(url) as api:
                    if run_id is None:
                        print_runs(Console(), api.runs(limit, before))
                        print_locks(Console(), api.locks())
                    else:
                        print_run(Console(), *api.run(run_id))
                return
            _need(c.journal, "journal")
            assert c.journal is not None
            try:
                if run_id is None:
                    print_runs(Console(), asyncio.run(c.journal.list_runs(before=before,
                                                                          limit=limit)))
                    return
                record = asyncio.run(c.journal.run(run_id))
                print_run(Console(), record, asyncio.run(c.journal.steps(run_id)))
            except RunbookError as exc:
                _fail(str(exc))

    def call(self, actuator: str, args: Pairs = None, url: Url = DEFAULT_URL) -> None:
        """Call one actuator by hand: ``covenant runbook call route.drain region=syd``."""
        with self._ctx() as c:
            if self._remote is not None and not c.runners.actuators:
                with self._api(url) as api:
                    typer.echo(api.call(actuator, _typed(_pairs(args))))
                return
            impl = c.runners.actuators.get(actuator)
            _need(impl, f"actuator {actuator!r}")
            assert impl is not None
            region = _pairs(args).get("region", "")
            out = asyncio.run(impl.call(_pairs(args), CallContext(0, "by-hand", actuator,
                                                                  region)))
            typer.echo(out)

    def probe(self, name: str, args: Pairs = None, url: Url = DEFAULT_URL) -> None:
        """Read one probe by hand: ``covenant runbook probe db.role region=syd node=primary``."""
        from runbooks.expect import CheckSpec

        with self._ctx() as c:
            if self._remote is not None and "probe" not in c.runners.checks:
                with self._api(url) as api:
                    value, detail = api.probe(name, _pairs(args))
                    typer.echo(f"{value!r} {detail}".strip())
                return
            runner = c.runners.checks.get("probe")
            _need(runner, "probe runner")
            assert runner is not None
            pairs = _pairs(args)
            spec = CheckSpec(type="probe", probe=name, args=dict(pairs))
            result = asyncio.run(runner.check(spec, CallContext(0, "by-hand", name,
                                                                pairs.get("region", ""))))
            typer.echo(f"{result.value!r} {result.detail}".strip())


def _typed(pairs: Mapping[str, str]) -> dict[str, ArgValue]:
    """By-hand arguments typed as the catalogue reads them: numbers and booleans."""
    out: dict[str, ArgValue] = {}
    for name, text in pairs.items():
        lowered = text.lower()
        if lowered in ("true", "false"):
            out[name] = lowered == "true"
        elif text.lstrip("-").isdigit():
            out[name] = int(text)
        else:
            try:
                out[name] = float(text) if "." in text else text
            except ValueError:
                out[name] = text
    return out


def _runbook(c: RunbookContext, runbook_id: str) -> Runbook:
    from runbooks.actuators import suggest

    if runbook_id not in c.runbooks:
        _fail(f"unknown runbook {runbook_id!r}{suggest(runbook_id, c.runbooks)}; see "
              "`covenant runbook list`")
    return c.runbooks[runbook_id]
