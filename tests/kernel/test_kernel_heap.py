"""settle_heap: what exists at the call is frozen (skipped by later collections); what is
allocated afterwards is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from kernel.heap import settle_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture()
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_objects_alive_at_the_call_are_frozen_and_later_garbage_is_still_collected(
        unfrozen: None) -> None:
    before = Node()
    frozen = settle_heap()
    assert frozen == gc.get_freeze_count() > 0
    assert not any(o is before for o in gc.get_objects())  # frozen: in no generation now
    later = Node()
    ref = weakref.ref(later)
    del later
    gc.collect()
    assert ref() is None  # a cycle made after the freeze is collected
