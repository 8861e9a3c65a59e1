"""``python -m core_api``: the region API on its own (what ``covenant up`` starts per region).

The service must not need its supervisor to run, so it has an entry point of its own with the
same commands as ``covenant api`` and ``covenant db``.
"""

from __future__ import annotations

import typer

from core_api import cli


def main() -> None:
    app = typer.Typer(name="core_api", no_args_is_help=True, add_completion=False,
                      help="One region of the Covenant core API.")
    cli.register_service(app)
    app()


if __name__ == "__main__":
    main()
