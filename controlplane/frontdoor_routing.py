"""The front door's decisions, pure: whose data a request touches, where it may be served,
what to do after each attempt, and what to answer when no attempt can serve it.

No I/O and no clock: the relay (``frontdoor_client``) extracts a request's facts, asks
these functions, and carries out the answer. Every decision carries a one-line reason.

- **Region-owned data** (projects and users) lives in its home region only (data
  residency): a write, or a read of one entity, goes to the home named by the entity's id
  (``/v1/projects/syd-61``), by the write's body (``{"country": "AUS"}``) or by
  ``?country=``; when the control plane has routed the home's traffic away, the answer is
  503 with ``Retry-After`` — never a 4xx (the client must retry) and never another region.
- **Replicated reference data** (countries, contributions, sectors, statistics...) goes
  where the route table sends the home's traffic, then to the home and its nearest regions.
- **Lists across regions** (``GET /v1/projects`` or ``/v1/users`` without a country, e.g.
  the GDPR search ``/v1/users?email=...``) fan out to every region and are merged; a region
  whose traffic is routed away makes the answer a 503, never a silently partial list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from core_api.contract import region_of_id

ENTITIES = frozenset({"projects", "users"})  # region-owned: a home region each
# Reads: repeating one changes nothing. (PUT and DELETE are idempotent in HTTP's terms, but
# a DELETE repeated after the first one acted answers 404: a write is repeated only with a key.)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_ATTEMPTS = 3
MAX_TARGET = 8192  # bytes of path and query
SERVE, STOP = "serve", "stop"


class Kind(enum.Enum):
    OWNED = "owned"          # a region's own data: its home only
    REFERENCE = "reference"  # replicated: the routed region, then the nearest others
    FANOUT = "fanout"        # every region, answers merged


class Failure(enum.Enum):
    """An attempt that got no answer."""

    CONNECT = "connect"  # refused or timed out connecting: nothing reached the origin
    RESET = "reset"      # the connection broke after the request was sent
    TIMEOUT = "timeout"  # no answer in time; the origin may be acting on it


Outcome = int | Failure  # an attempt's status code, or how it failed


@dataclass(frozen=True, slots=True)
class Facts:
    """What routing reads of a request (headers lower-cased by the relay)."""

    method: str
    path: str
    query: str = ""
    region_header: str = ""
    country_header: str = ""
    body_country: str = ""  # only for a write routed by its body (``routes_by_body``)


@dataclass(frozen=True, slots=True)
class Topology:
    regions: tuple[str, ...]
    homes: Mapping[str, str]                   # ISO3 and ISO2 code -> home region
    default: str                               # home of a request naming none
    nearest: Mapping[str, tuple[str, ...]]     # region -> the others, nearest first


@dataclass(frozen=True, slots=True)
class Home:
    region: str
    kind: Kind
    why: str


@dataclass(frozen=True, slots=True)
class Plan:
    home: str
    kind: Kind
    regions: tuple[str, ...]  # the attempts in order (region-owned: the home each time)
    refusal: str = ""         # non-empty: answer 503 with this reason and try nothing


@dataclass(frozen=True, slots=True)
class GiveUp:
    status: int
    reason: str
    retry_after: bool  # a 503 the client should retry (nothing was written, or keyed)


def entity_of(path: str) -> tuple[str, str | None] | None:
    """``("projects", "syd-61")`` for ``/v1/projects/syd-61[/...]``, ``("users", None)`` for
    the collection, None for anything that is not region-owned data."""
    parts = path.split("/", 4)
    if len(parts) < 3 or parts[0] or parts[1] != "v1" or parts[2] not in ENTITIES:
        return None
    return parts[2], (parts[3] or None) if len(parts) > 3 else None


def routes_by_body(method: str, path: str) -> bool:
    """Whether the home is read from the JSON body: a create in a collection of owned data."""
    if method != "POST":
        return False
    entity = entity_of(path)
    return entity is not None and entity[1] is None


def classify(facts: Facts, topo: Topology) -> Home:
    """The home region of a request and the kind of data it touches, with why."""
    entity = entity_of(facts.path)
    kind = Kind.OWNED if entity is not None else Kind.REFERENCE
    region = facts.region_header.lower()
    if region in topo.regions:
        return Home(region, kind, "X-Covenant-Region header")
    country = topo.homes.get(facts.country_header.upper())
    if country is not None:
        return Home(country, kind, "X-Covenant-Country header")
    if entity is not None:
        return _owned_home(facts, entity[1], topo)
    for segment in facts.path.split("/"):
        if len(segment) == 3 and segment.isupper() and segment in topo.homes:
            return Home(topo.homes[segment], kind, f"country {segment} in the path")
    queried = _query_country(facts.query)
    if queried in topo.homes:
        return Home(topo.homes[queried], kind, f"?country={queried}")
    return Home(topo.default, kind, "no country named: the default region")


def _owned_home(facts: Facts, entity_id: str | None, topo: Topology) -> Home:
    if entity_id is not None:
        region = region_of_id(entity_id)
        if region is not None and region in topo.regions:
            return Home(region, Kind.OWNED, f"id {entity_id}")
        return Home(topo.default, Kind.OWNED, f"id {entity_id} names no region: the default")
    if facts.body_country:
        home = topo.homes.get(facts.body_country.upper())
        if home is not None:
            return Home(home, Kind.OWNED, f"body country {facts.body_country}")
    queried = _query_country(facts.query)
    if queried in topo.homes:
        return Home(topo.homes[queried], Kind.OWNED, f"?country={queried}")
    if facts.method == "GET":
        return Home(topo.default, Kind.FANOUT, "a list without a country: every region")
    return Home(topo.default, Kind.OWNED, "no country named: the default region answers")


def _query_country(query: str) -> str:
    if "country=" not in query:
        return ""
    for key, value in parse_qsl(query):
        if key == "country":
            return value.upper()
    return ""


def plan(home: Home, routed: Mapping[str, str] | None, topo: Topology,
         attempts: int = MAX_ATTEMPTS) -> Plan:
    """Where to try, in order, given where the route table sends each home's traffic
    (None: no table yet, every home serves itself)."""
    target = (routed or {}).get(home.region, home.region)
    if home.kind is Kind.OWNED:
        if target != home.region:
            return Plan(home.region, home.kind, (), f"region {home.region} is unavailable "
                        f"(the control plane routed its traffic to {target}); its own data is "
                        f"written and served only in {home.region}: retry later")
        return Plan(home.region, home.kind, (home.region,) * attempts)
    if home.kind is Kind.FANOUT:
        away = [r for r in topo.regions if (routed or {}).get(r, r) != r]
        if away:  # answered for (and counted against) the region that is away
            return Plan(away[0], home.kind, (), f"region {', '.join(away)} unavailable "
                        "(traffic routed away): a list across regions would miss its data; "
                        "retry later")
        return Plan(home.region, home.kind, topo.regions)
    rest = [r for r in (home.region, *topo.nearest.get(home.region, ())) if r != target]
    return Plan(home.region, home.kind, (target, *rest[:attempts - 1]))


def retry_safe(method: str, has_idempotency_key: bool) -> bool:
    """May the request be sent again after an attempt that may have reached the origin? A
    read, or a write carrying an ``Idempotency-Key``."""
    return method in SAFE_METHODS or has_idempotency_key


def next_step(outcome: Outcome, safe: bool) -> str:
    """After one attempt: ``SERVE`` the answer, ``STOP`` trying, or try the plan's next
    region (the retry's reason, for the metric).

    A connect failure never reached the origin, so any request may go again; a reset or a
    timeout (the origin may have acted) and a 502-504 retry only a request that is safe to
    repeat (``retry_safe``); any other answer, an origin's 500 included, is served."""
    if outcome is Failure.CONNECT:
        return "connect"
    if isinstance(outcome, Failure):
        return str(outcome.value) if safe else STOP
    if safe and outcome in RETRY_STATUSES:
        return str(outcome)
    return SERVE


def misdirected_to(status: int, named: str, tried: str, topo: Topology) -> str:
    """The region to send a request to after ``tried`` answered 421 Misdirected naming
    ``named`` as the data's home ("" to serve the 421 as it is). A 421 changed nothing, so
    any request may go again — to the home it names, never anywhere else."""
    if status != 421 or named == tried or named not in topo.regions:
        return ""
    return named


def give_up(home: str, kind: Kind, last: Failure, safe: bool, tried: str) -> GiveUp:
    """What to answer when no attempt got an answer to serve.

    Region-owned data that never reached its home, or a request safe to repeat, is a 503
    with ``Retry-After``: nothing was written (or a retry with the same key is harmless).
    A write that may have been applied is a 502 saying so; replicated data that no region
    could serve stays the 502 it always was."""
    if kind is Kind.OWNED and last is Failure.CONNECT:
        return GiveUp(503, f"region {home} is unreachable ({tried}); nothing was written: "
                      "retry later", True)
    if last is not Failure.CONNECT and not safe:
        return GiveUp(502, f"the connection to {home} broke before it answered ({tried}); the "
                      "write may have been applied: send writes with an Idempotency-Key to "
                      "retry them safely", False)
    if kind is Kind.OWNED:
        return GiveUp(503, f"region {home} did not answer ({tried}): retry later", True)
    return GiveUp(502, f"no region could serve: {tried}", False)


def describe(outcome: Outcome) -> str:
    if outcome is Failure.CONNECT:
        return "connect failed"
    if isinstance(outcome, Failure):
        return str(outcome.value)
    return f"answered {outcome}"


# A path byte that is not visible ASCII; a percent-encoded control character; a dot segment.
_BAD_BYTE = re.compile(rb"[^\x21-\x7e]")
_ENCODED_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])")
_DOT_SEGMENT = re.compile(rb"(?:^|/)(?:\.|%2[eE]){1,2}(?:/|$)")


def reject_target(target: bytes) -> str:
    """Why a request target is refused with 400 before any region sees it ("" when fine):
    not a path, too long, a control or non-ASCII byte, an encoded control character in the
    path, or a ``.``/``..`` segment (raw or percent-encoded)."""
    if len(target) > MAX_TARGET:
        return f"the request target is {len(target)} bytes; at most {MAX_TARGET} are accepted"
    if not target.startswith(b"/"):
        return "the request target must be a path starting with '/'"
    path = target.split(b"?", 1)[0]
    if _BAD_BYTE.search(target):
        return "the request target holds a control, space or non-ASCII byte"
    if _ENCODED_CONTROL.search(path):
        return "the path holds a percent-encoded control character"
    if (b"." in path or b"%2" in path) and _DOT_SEGMENT.search(path):
        return "the path holds a '.' or '..' segment"
    return ""


def counted_route(path: str) -> str:
    """The route label of an answer the front door makes itself, in the core API's shape
    (a template, never the raw path: bounded cardinality)."""
    entity = entity_of(path)
    if entity is None:
        return "<frontdoor>"
    name, entity_id = entity
    return f"/v1/{name}" if entity_id is None else f"/v1/{name}/{{id}}"

