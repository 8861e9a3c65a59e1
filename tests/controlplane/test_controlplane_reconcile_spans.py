"""A reconcile pass is one trace: a ``reconcile`` span with its phases as children."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from controlplane.assembly import build_control_plane
from controlplane.fakes import fake_regions
from kernel.settings import Settings


async def test_each_pass_is_a_reconcile_span_with_its_phases(tmp_path: Path) -> None:
    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with fake_regions() as (desired, _fakes, _servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path),
                                    tracer=provider.get_tracer("test"))
        try:
            await plane.reconciler.run_once()
            await plane.reconciler.run_once()
        finally:
            await plane.close()
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "reconcile"]
    assert [(r.attributes or {}).get("covenant.pass") for r in roots] == [0, 1]
    assert all(r.parent is None for r in roots)
    first = roots[0]
    children = [s for s in spans if s.parent is not None
                and s.parent.span_id == first.context.span_id]
    assert [s.name for s in children] == ["observe", "decide", "act", "record"]
    assert all(s.context.trace_id == first.context.trace_id for s in children)
    assert (first.attributes or {})["covenant.leader"] is True
    act = children[2]
    actions = (act.attributes or {})["covenant.actions"]
    assert isinstance(actions, int) and actions >= 1  # the first pass sets the routes
    assert first.start_time is not None and first.end_time is not None
    assert all(c.start_time is not None and c.end_time is not None
               and first.start_time <= c.start_time <= c.end_time <= first.end_time
               for c in children)
    provider.shutdown()


async def test_without_a_tracer_a_pass_runs_untraced(tmp_path: Path) -> None:
    async with fake_regions() as (desired, _fakes, _servers):
        plane = build_control_plane(desired, Settings(data_dir=tmp_path))
        try:
            decision = await plane.reconciler.run_once()
        finally:
            await plane.close()
    assert decision.actions  # the pass ran in full
