"""`covenant slo ...` commands (`covenant bench slo` is ``bench.cli``'s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from slo.store import SloStore

SPEC_ARG = typer.Argument(..., help="An SLO spec (Sloth prometheus/v1 + Covenant extensions).")
OutDir = Annotated[Path, typer.Option("--out", help="Directory for rules, tests and the "
                                      "Alertmanager fragment.")]
OutFile = Annotated[Path, typer.Option("--out", help="File to write.")]
Source = Annotated[Path, typer.Argument(help="OpenSLO v1 YAML (multi-document).")]
GATE_DECISIONS = 1000  # the newest of one service: its latest verdict is among them
STATUS_DECISIONS = 1000  # enough for the latest snapshot's insufficient-data marks


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def validate(spec: Path = SPEC_ARG) -> None:
    """Check a spec; print every error with the path of the bad field."""
    from slo.errors import SpecError
    from slo.spec import load_group

    try:
        group = load_group(spec)
    except SpecError as exc:
        _fail(str(exc))
        return
    typer.echo(f"{spec}: valid, service {group.service}, {len(group.slos)} SLOs")


def generate(
    out: OutDir,
    spec: Path = SPEC_ARG,
    tests: bool = typer.Option(True, "--tests/--no-tests", help="Write promtool test files."),
) -> None:
    """Prometheus rules + a promtool test per SLO + the Alertmanager fragment."""
    from slo.errors import SloError
    from slo.generate import generate as run
    from slo.spec import load_group

    try:
        res = run(load_group(spec), out, tests=tests)
    except SloError as exc:
        _fail(str(exc))
        return
    typer.echo(f"wrote {len(res.rule_files)} rule files, {len(res.test_files)} promtool tests "
               f"and {res.alertmanager} under {out}")


def simulate(
    spec: Path = SPEC_ARG,
    error_ratio: float = typer.Option(..., "--error-ratio", help="Error ratio of the incident."),
    duration: str = typer.Option(..., "--for", help="Incident length, e.g. 30m."),
    slo: str = typer.Option("", "--slo", help="Only this SLO name."),
    warmup: str = typer.Option("3d", "--warmup", help="Clean traffic before the incident."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Each alert's detection and reset time and the budget an incident spends."""
    from slo.errors import SloError
    from slo.period import parse_duration
    from slo.report import simulate_report
    from slo.spec import load_group

    try:
        group = load_group(spec)
        lines, data = simulate_report(group, error_ratio, parse_duration(duration),
                                      parse_duration(warmup), slo)
    except (SloError, ValueError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(data) if as_json else "\n".join(lines))


def _open_store() -> SloStore:
    """The state store the control plane records budgets and verdicts into; exit 2 with the
    store's message (which names the URL and the setting to fix) when it cannot be opened."""
    from kernel.settings import load_settings
    from slo.store import SloStore, StoreError

    try:
        return SloStore(load_settings().state.resolved_url())
    except StoreError as exc:
        typer.echo(f"cannot read the error-budget policy's records: {exc}", err=True)
        raise typer.Exit(2) from exc


def gate(
    service: str = typer.Option(..., "--service", help="Service to gate, e.g. core-api."),
    priority: str = typer.Option("", "--priority", help="Change priority; P0 is excepted."),
    security: bool = typer.Option(False, "--security", help="A security fix (excepted)."),
) -> None:
    """Exit 1 while the error-budget policy freezes deploys of SERVICE (CI/CD gate).

    A P0 or security change passes a freeze, and the freeze's reason is printed. Reads only
    SERVICE's recorded decisions; exit 2 when the state store cannot be read."""
    from slo.policy import gate_verdict

    store = _open_store()
    try:
        decisions = store.decisions(service, limit=GATE_DECISIONS)
    finally:
        store.close()
    allowed, why = gate_verdict(decisions, service, priority, security)
    if not allowed:
        _fail(why)
        return
    typer.echo(why)


def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each SLO's latest recorded budget and the latest policy verdicts; a budget the policy
    does not act on yet (below its minimum data) shows "insufficient data"."""
    from slo.policy import DecisionKind

    store = _open_store()
    try:
        rows, decisions = store.latest_budgets(), store.decisions(limit=STATUS_DECISIONS)
    finally:
        store.close()
    unjudged = {(d.slo_id, d.at) for d in decisions
                if d.kind is DecisionKind.INSUFFICIENT_DATA}
    verdicts = [d for d in decisions if d.kind is not DecisionKind.INSUFFICIENT_DATA]
    if as_json:
        typer.echo(json.dumps({"budgets": [{"slo": r.slo_id, "objective": r.objective,
                                            "sli": r.sli, "remaining": r.remaining,
                                            "burn_rate": r.burn_rate, "at": r.at,
                                            "insufficient_data": (r.slo_id, r.at) in unjudged}
                                           for r in rows],
                               "decisions": [{"kind": d.kind.value, "service": d.service,
                                              "reason": d.reason, "at": d.at}
                                             for d in decisions[-50:]]}))
        return
    if not rows:
        typer.echo("no budgets recorded yet: `covenant up` records them every minute "
                   "(unless covenant.yaml says slo: {enforce: false}); is it running with "
                   "this data_dir / COVENANT_STATE_URL?")
    for r in rows:
        verdict = ("insufficient data (the policy does not act on it yet)"
                   if (r.slo_id, r.at) in unjudged else
                   f"budget left {r.remaining:7.1%}  burn {r.burn_rate:.2f}x")
        typer.echo(f"{r.slo_id:40s} objective {r.objective:.4%}  SLI {r.sli:.4%}  {verdict}")
    for d in verdicts[-5:]:
        typer.echo(f"policy: {d.service} {d.kind.value}: {d.reason}")


def import_cmd(source: Source, out: OutFile) -> None:
    """Import OpenSLO v1 into the native spec."""
    from slo.errors import SpecError
    from slo.generate import write_file
    from slo.openslo import import_openslo
    from slo.rules import dump_yaml

    try:
        spec = import_openslo(source.read_text())
    except SpecError as exc:
        _fail(str(exc))
        return
    write_file(out, dump_yaml(spec.model_dump(by_alias=True, exclude_defaults=True)))
    typer.echo(f"wrote {out}")


def export_cmd(out: OutFile, spec: Path = SPEC_ARG) -> None:
    """Export the native spec as OpenSLO v1 (Service, SLO, AlertPolicy)."""
    from slo.errors import SpecError
    from slo.generate import write_file
    from slo.openslo import export_openslo
    from slo.spec import load_spec

    try:
        text = export_openslo(load_spec(spec))
    except SpecError as exc:
        _fail(str(exc))
        return
    write_file(out, text)
    typer.echo(f"wrote {out}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app (``bench`` is unused: the benchmarks
    are registered by ``bench.cli``)."""
    slo_app = typer.Typer(help="SLOs, error budgets, burn-rate alerts and the budget policy.",
                          no_args_is_help=True)
    slo_app.command("validate")(validate)
    slo_app.command("generate")(generate)
    slo_app.command("simulate")(simulate)
    slo_app.command("gate")(gate)
    slo_app.command("status")(status)
    slo_app.command("import")(import_cmd)
    slo_app.command("export")(export_cmd)
    app.add_typer(slo_app, name="slo")
