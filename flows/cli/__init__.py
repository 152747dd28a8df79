"""The ``xxgk`` command line: ``app`` (typer) with its commands in one module per area."""

from flows.cli import clock  # noqa: F401 - first: the program's clock starts here (start-up line)
from flows.cli.app import app, main

__all__ = ["app", "main"]
