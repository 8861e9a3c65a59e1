"""The actuator catalogue as data: every call a runbook ``action`` may make, with its arguments.

Why data and not code: validation (unknown actuator, bad arguments) and rendering need the
catalogue, but the implementations live in other packages and arrive through the composition
root (:class:`runbooks.ports.Actuator`). ``idempotent`` feeds the resume rule: an action
interrupted by a crash is repeated only if its actuator sets a state (doing it twice equals
doing it once) or its ``skip_if`` check says it is not done yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from runbooks.templating import ArgValue

ArgType = Literal["str", "int", "float", "bool", "region", "severity", "strings"]
SEVERITIES = ("P0", "P1", "P2", "P3", "P4")


@dataclass(frozen=True, slots=True)
class Arg:
    type: ArgType = "str"
    required: bool = True
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActuatorSpec:
    name: str
    summary: str
    args: Mapping[str, Arg] = field(default_factory=dict)
    idempotent: bool = True
    undo: str | None = None  # the actuator that reverses this one, for rollback steps


Catalogue = Mapping[str, ActuatorSpec]

REGION = Arg("region", description="Region code.")
REASON = Arg("str", required=False, description="Why, recorded with the change.")


def _spec(name: str, summary: str, idempotent: bool = True, undo: str | None = None,
          **args: Arg) -> ActuatorSpec:
    return ActuatorSpec(name, summary, args, idempotent, undo)


ACTUATORS: Catalogue = {s.name: s for s in (
    _spec("route.drain", "Send the region's traffic to its nearest healthy regions (weight 0).",
          undo="route.restore", region=REGION, reason=REASON),
    _spec("route.restore", "Give the region its normal share of traffic again.",
          region=REGION, reason=REASON),
    _spec("chaos.pause", "Pause every chaos experiment and game day.", undo="chaos.resume",
          reason=REASON),
    _spec("chaos.resume", "Resume paused chaos experiments.", reason=REASON),
    _spec("deploy.freeze", "Refuse deploys except P0 and security fixes.",
          undo="deploy.unfreeze", reason=REASON),
    _spec("deploy.unfreeze", "Lift a deploy freeze.", reason=REASON),
    _spec("db.failover", "Promote the region's standby and fence the old primary.",
          idempotent=False, region=REGION, reason=REASON),
    _spec("db.route_reads", "Serve the region's reads from its primary or its standby.",
          undo="db.route_reads", region=REGION,
          to=Arg("str", choices=("primary", "standby"), description="Where reads go.")),
    _spec("db.checkpoint", "Force a CHECKPOINT so old WAL segments can be recycled.",
          region=REGION),
    _spec("db.drop_slot", "Drop a replication slot that holds WAL back (fails if absent).",
          idempotent=False, region=REGION, slot=Arg("str", description="Slot name.")),
    _spec("cache.flush", "Delete cached entries of the region (all, or under a prefix).",
          region=REGION, prefix=Arg("str", required=False, description="Key prefix.")),
    _spec("cache.warm", "Load the region's hot pages (its home countries' pages, the "
          "statistics) into the cache.",
          region=REGION, top=Arg("int", required=False, description="At most this many.")),
    _spec("scale", "Set the number of replicas of a service in a region.",
          region=REGION, service=Arg("str", choices=("api", "relay", "worker")),
          replicas=Arg("int", description="Replicas wanted (a target, not a delta).")),
    _spec("incident.open", "Open an incident for the region.", idempotent=False,
          region=REGION, severity=Arg("severity"), title=Arg("str")),
    _spec("incident.annotate", "Add a note to the region's open incident's timeline.",
          region=REGION, note=Arg("str")),
    _spec("incident.escalate", "Raise the region's incident to a severity and page.",
          region=REGION, severity=Arg("severity"), reason=REASON),
    _spec("outbox.drain", "Publish the region's held outbox events (deduplicated by id).",
          region=REGION, max_events=Arg("int", required=False, description="Batch limit.")),
    _spec("evidence.collect", "Run the evidence collectors now and append to the ledger.",
          region=REGION, control=Arg("str", required=False, description="One control id.")),
    _spec("residency.quarantine", "Stop serving personal data held outside its home region.",
          undo="residency.release", region=REGION, reason=REASON),
    _spec("residency.release", "Lift a residency quarantine.", region=REGION, reason=REASON),
    _spec("residency.relocate", "Move misplaced personal data to its home region and erase "
          "the copy here.", idempotent=False, region=REGION, reason=REASON),
)}


def suggest(name: str, known: Collection[str]) -> str:
    """``"; did you mean 'route.drain'?"`` when a close name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def arg_problems(spec: ActuatorSpec, args: Mapping[str, ArgValue],
                 templated: Collection[str] = ()) -> list[tuple[str | None, str]]:
    """(argument or None, problem) for each bad argument. ``templated`` arguments are whole
    ``{{ inputs.x }}`` references whose type the validator checks against the input's."""
    out: list[tuple[str | None, str]] = []
    for name in args:
        if name not in spec.args:
            out.append((name, f"{spec.name} takes no argument {name!r}"
                              f"{suggest(name, spec.args)}; it takes {_names(spec)}"))
    for name, arg in spec.args.items():
        if name not in args:
            if arg.required:
                out.append((None, f"{spec.name} needs argument {name!r} ({arg.type})"))
        elif name not in templated:
            problem = type_problem(arg, args[name])
            if problem:
                out.append((name, problem))
    return out


def type_problem(arg: Arg, value: ArgValue) -> str:
    """Why ``value`` does not fit ``arg`` ("" when it does); region codes checked elsewhere."""
    kind = arg.type
    ok = {"str": isinstance(value, str), "region": isinstance(value, str),
          "severity": value in SEVERITIES,
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, int | float) and not isinstance(value, bool),
          "bool": isinstance(value, bool),
          "strings": isinstance(value, list) and all(isinstance(v, str) for v in value)}[kind]
    if not ok:
        want = "one of " + ", ".join(SEVERITIES) if kind == "severity" else f"a {kind}"
        return f"{value!r} is not {want}"
    if arg.choices and value not in arg.choices:
        return f"{value!r} is not one of {', '.join(arg.choices)}"
    return ""


def _names(spec: ActuatorSpec) -> str:
    return ", ".join(spec.args) if spec.args else "no arguments"
