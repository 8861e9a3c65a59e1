"""The shipped SLO rule files, as the composition root hands them to infra."""

from __future__ import annotations

import pytest

from covenant.observability import slo_rule_files


@pytest.fixture(scope="session")
def rule_files() -> dict[str, str]:
    return slo_rule_files()
