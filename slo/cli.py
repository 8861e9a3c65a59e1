"""`covenant slo ...` commands and `covenant bench slo`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

SPEC_ARG = typer.Argument(..., help="An SLO spec (Sloth prometheus/v1 + Covenant extensions).")
OutDir = Annotated[Path, typer.Option("--out", help="Directory for rules, tests and the "
                                      "Alertmanager fragment.")]
OutFile = Annotated[Path, typer.Option("--out", help="File to write.")]
Source = Annotated[Path, typer.Argument(help="OpenSLO v1 YAML (multi-document).")]


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


def gate(
    service: str = typer.Option(..., "--service", help="Service to gate, e.g. core-api."),
    priority: str = typer.Option("", "--priority", help="Change priority; P0 is excepted."),
    security: bool = typer.Option(False, "--security", help="A security fix (excepted)."),
) -> None:
    """Exit 1 while the error-budget policy freezes deploys of SERVICE (CI/CD gate)."""
    from controlplane.settings import load_settings, state_store_url
    from slo.policy import gate_verdict
    from slo.store import SloStore

    settings = load_settings()
    store = SloStore(state_store_url(settings.state_url, settings.data_dir))
    decisions = store.decisions(service)
    store.close()
    allowed, why = gate_verdict(decisions, service, priority, security)
    if not allowed:
        _fail(why)
        return
    typer.echo(why)


def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each SLO's latest recorded budget and the latest policy verdicts."""
    from controlplane.settings import load_settings, state_store_url
    from slo.store import SloStore

    settings = load_settings()
    store = SloStore(state_store_url(settings.state_url, settings.data_dir))
    rows, decisions = store.latest_budgets(), store.decisions(limit=50)
    store.close()
    if as_json:
        typer.echo(json.dumps({"budgets": [{"slo": r.slo_id, "objective": r.objective,
                                            "sli": r.sli, "remaining": r.remaining,
                                            "burn_rate": r.burn_rate, "at": r.at} for r in rows],
                               "decisions": [{"kind": d.kind.value, "service": d.service,
                                              "reason": d.reason, "at": d.at}
                                             for d in decisions]}))
        return
    if not rows:
        typer.echo("no budgets recorded yet: `covenant up` records them every minute "
                   "when covenant.yaml has slo: {enforce: true}")
    for r in rows:
        typer.echo(f"{r.slo_id:40s} objective {r.objective:.4%}  SLI {r.sli:.4%}  "
                   f"budget left {r.remaining:7.1%}  burn {r.burn_rate:.2f}x")
    for d in decisions[-5:]:
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


def bench_slo(
    slos: int = typer.Option(1000, "--slos", help="SLOs to generate rules for."),
    days: int = typer.Option(30, "--days", help="Days of 1-minute samples per region."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rule generation for 1,000 SLOs (+ promtool check) and 30 days of budget math."""
    from slo.bench import run

    figures = run(slos, days)
    if not as_json:
        for k, v in figures.items():
            typer.echo(f"{k}: {v}")
    typer.echo(json.dumps(figures))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this package's commands to the root app and its benchmarks to bench."""
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
    bench.command("slo")(bench_slo)
