"""Spec -> model -> generators -> writer: rules, promtool tests and the Alertmanager fragment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kernel.files import atomic_write
from slo.alertmanager import render_fragment
from slo.model import SLOGroup
from slo.promtest import slo_test
from slo.rules import render_rules

log = logging.getLogger(__name__)
Writer = Callable[[Path, str], None]


def write_file(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a reader never sees half a rules file."""
    atomic_write(path, text)


@dataclass(frozen=True)
class Generated:
    rule_files: tuple[Path, ...]
    test_files: tuple[Path, ...]
    alertmanager: Path


def generate(group: SLOGroup, out: Path, *, tests: bool = True,
             writer: Writer = write_file) -> Generated:
    rules, test_files = [], []
    for slo in group.slos:
        rule_path = out / f"{slo.id}.rules.yml"
        writer(rule_path, render_rules([slo]))
        rules.append(rule_path)
        if tests:
            test_path = out / f"{slo.id}.test.yml"
            writer(test_path, slo_test(slo, rule_path.name))
            test_files.append(test_path)
    am = out / "alertmanager.yml"
    writer(am, render_fragment())
    log.info("wrote %d rule files, %d test files and %s", len(rules), len(test_files), am)
    return Generated(tuple(rules), tuple(test_files), am)
