"""Response bodies of list reads, reused while the SQLite file has not changed.

``PRAGMA data_version`` on a connection changes whenever another connection — in this
process or any other — has committed to the database. Read connections never write (they
are ``query_only``), so an unchanged value proves the database is exactly as it was when a
body was built, and the body can be served again: no staleness, no invalidation messages.
Any commit (a project, a user, the relay marking events sent) drops that connection's
bodies. Other databases have no such cheap signal, so they always build.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from sqlalchemy import Connection

MAX_ENTRIES = 512


_INFO_KEY = "covenant_page_cache"


class PageCache:
    def __init__(self, enabled: bool, max_entries: int = MAX_ENTRIES) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get_or_build(self, conn: Connection, key: Hashable,
                     build: Callable[[Connection], bytes]) -> bytes:
        if not self.enabled:
            return build(conn)
        pooled = conn.connection
        assert pooled.dbapi_connection is not None
        # Read before the query runs: a commit in between makes the body newer than its
        # version, which only costs a rebuild next time, never a stale answer.
        version = pooled.dbapi_connection.execute("PRAGMA data_version").fetchone()[0]
        # Kept in the pool's record of this DBAPI connection, so it lives and dies with it.
        known_version, known = pooled.info.get(_INFO_KEY, (None, None))
        bodies: dict[Hashable, bytes] = known if known is not None else {}
        if known is None or known_version != version or len(bodies) >= self.max_entries:
            bodies = {}
            pooled.info[_INFO_KEY] = (version, bodies)
        body = bodies.get(key)
        if body is None:
            self.misses += 1
            body = bodies[key] = build(conn)
        else:
            self.hits += 1
        return body
