"""``covenant infra generate``: prometheus.yml and alertmanager.yml for ``covenant up``'s
ports. The composition root registers it with ``rule_files``: the SLO rules' text, which
this package may not generate itself."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import typer

RuleFiles = Callable[[], Mapping[str, str]]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def register(app: typer.Typer, rule_files: RuleFiles) -> None:
    infra = typer.Typer(help="Prometheus and Alertmanager configuration.", no_args_is_help=True)
    app.add_typer(infra, name="infra")
    infra.command("generate")(_generate(rule_files))


def _generate(rule_files: RuleFiles) -> Callable[..., None]:
    def generate(
        out: Annotated[Path, typer.Option("--out", help="Directory for prometheus/ and "
                                          "alertmanager/.")],
        scrape_interval: Annotated[str, typer.Option("--scrape-interval")] = "15s",
        webhook_token: Annotated[str | None, typer.Option(
            "--webhook-token", envvar="COVENANT_WEBHOOK_TOKEN",
            help="Bearer token Alertmanager sends to the control plane's webhook; written to "
            "alertmanager/webhook-token (mode 0600). Default: a new random one.")] = None,
        webhook_token_file: Annotated[Path | None, typer.Option(
            "--webhook-token-file", help="Use this existing token file instead.")] = None,
        check: Annotated[bool, typer.Option("--check/--no-check", help="Run promtool check "
                                            "config and amtool check-config.")] = True,
    ) -> None:
        """prometheus.yml (scrapes, SLO rules, Alertmanager) and alertmanager.yml."""
        from infra.check import check_alertmanager, check_prometheus
        from infra.errors import InfraError
        from infra.generate import generate as run
        from infra.model import TOKEN_FILE, Endpoints, InfraSpec

        if webhook_token and webhook_token_file:
            _fail("pass --webhook-token or --webhook-token-file, not both")
        credentials = str(webhook_token_file.resolve()) if webhook_token_file else TOKEN_FILE
        token = None if webhook_token_file else (webhook_token or secrets.token_urlsafe(32))
        spec = InfraSpec(Endpoints(), rule_files(), scrape_interval,
                         credentials_file=credentials)
        try:
            done = run(spec, out, token=token)
            if check:
                check_prometheus(done.prometheus)
                check_alertmanager(done.alertmanager)
        except InfraError as exc:
            _fail(str(exc))
            return
        typer.echo(f"wrote {done.prometheus} ({len(done.rule_files)} rule files) and "
                   f"{done.alertmanager}" + (" - checked by promtool and amtool" if check
                                             else ""))
        if done.token and not webhook_token:
            typer.echo(f"new webhook token in {done.token}: give the control plane's webhook "
                       "the same")
    return generate
