"""The one error base class of the runbooks package and its few specialisations.

Every message names the bad thing and the fix; a cause is chained with ``from``.
"""

from __future__ import annotations

from collections.abc import Sequence


class RunbookError(Exception):
    """Anything wrong in runbooks: a file, a run, a journal, an escalation."""


class RunbookSpecError(RunbookError):
    """A runbook file or catalogue entry is invalid.

    ``problems`` lists every error as ``FILE:LINE: FIELD: message`` so an editor jumps to it.
    """

    def __init__(self, problems: Sequence[str], what: str = "invalid runbook") -> None:
        self.problems = list(problems)
        super().__init__(f"{what}:\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(RunbookError):
    """The inputs given to a run do not fit the runbook's declared inputs."""


class RunNotFound(RunbookError):
    """A run or step id that the journal does not hold."""


class RegionBusy(RunbookError):
    """The region lock is held by another run, a game day or a failover."""


class ApprovalRefused(RunbookError):
    """An approval that cannot be recorded: wrong step, wrong role, run not waiting, too late."""


class NotAnApprover(ApprovalRefused):
    """The person has none of the roles the step's ``approvers`` name."""


class EscalationError(RunbookError):
    """An escalation channel (PagerDuty, bus, incident) did not accept the escalation."""


class JournalError(RunbookError):
    """The journal could not read or write its rows."""
