"""The composition root: the ``covenant`` command and the assembly of ``covenant up``.

The only package that imports every other one. It builds the event bus, the signals, the
front door's country map and the actuators, and hands each package what it asked for in its
signatures; the packages below never import each other to get them (see
``docs/architecture.md`` and the import-linter contracts in ``pyproject.toml``).
"""
