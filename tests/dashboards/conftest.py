"""The shipped dashboard inputs, built once per session by the composition root."""

from __future__ import annotations

import pytest

from covenant.observability import dashboard_inputs
from dashboards.inputs import DashboardInputs


@pytest.fixture(scope="session")
def inputs() -> DashboardInputs:
    return dashboard_inputs()
