"""Database failover for a region's PostgreSQL pair: the pair itself (``pair``, ``postgres``),
its per-cycle probe (``probe``), the pure decision (``decide``), the endpoint and fencing
(``endpoint``), the backends (``native``, ``patroni``, ``rds``) and the supervisor the
reconciler drives (``supervisor``). See docs/dbfailover.md.
"""
