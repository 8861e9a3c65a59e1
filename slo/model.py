"""The plain domain model every generator works from (spec formats map onto it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from kernel.matchers import Matcher
from slo.period import Period


class SliKind(StrEnum):
    EVENTS = "events"  # Sloth: arbitrary error/total queries
    RAW = "raw"  # Sloth: an error-ratio query
    RATIO = "ratio"  # native: bad/total events of one counter
    LATENCY = "latency"  # native: histogram bucket at a threshold
    AVAILABILITY = "availability"  # native: a 0/1 probe gauge


class Budgeting(StrEnum):
    OCCURRENCES = "occurrences"
    TIMESLICES = "timeslices"


def _frozen(m: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Sli:
    kind: SliKind
    error_query: str = ""  # events/ratio/latency; Sloth template with {{.window}}
    total_query: str = ""
    error_ratio_query: str = ""  # raw/availability
    metric: str = ""  # native kinds: the series name the tracker reads
    selector: tuple[Matcher, ...] = ()
    error_selector: tuple[Matcher, ...] = ()
    threshold: str = ""  # latency: the le bucket

    @property
    def has_events(self) -> bool:
        return bool(self.total_query)


@dataclass(frozen=True)
class AlertMeta:
    name: str
    disable: bool = False
    labels: Mapping[str, str] = field(default_factory=_frozen)
    annotations: Mapping[str, str] = field(default_factory=_frozen)
    for_seconds: int = 0


@dataclass(frozen=True)
class Timeslice:
    length_seconds: int
    good_threshold: float  # a slice is good when its good-event ratio >= this


@dataclass(frozen=True)
class SLO:
    service: str
    name: str
    objective: float  # percent, (0, 100]
    sli: Sli
    period: Period
    page: AlertMeta
    ticket: AlertMeta
    no_data: AlertMeta
    exhausted: AlertMeta
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=_frozen)
    budgeting: Budgeting = Budgeting.OCCURRENCES
    timeslice: Timeslice | None = None
    runbook_url: str = ""

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget(self) -> float:
        # Computed like Sloth's alert thresholds ((100 - objective) / 100) so the rules and the
        # simulator compare against the very same float.
        return (100 - self.objective) / 100

    def id_labels(self) -> dict[str, str]:
        return {"sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.name}


@dataclass(frozen=True)
class SLOGroup:
    service: str
    slos: tuple[SLO, ...]
    labels: Mapping[str, str] = field(default_factory=_frozen)
