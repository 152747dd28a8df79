"""The ``xxgk`` command line: ``app`` (typer) with its commands in one module per area."""

from flows.cli.app import app, main

__all__ = ["app", "main"]
