"""The two consoles every command prints to: ``out`` (stdout) and ``err`` (stderr, one-line errors),
and the output helpers the commands share: :func:`dump_json`, :func:`error`, :func:`fail` and
:func:`one_line_errors`.  ``xxgk --debug`` (:func:`set_debug`) adds the traceback under a one-line error.

When output is piped or captured, rich falls back to 80 columns, which folds 表三's labels into
unreadable stacks; a fixed wide width keeps the printed tables intact in logs and e-mails.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
_debug = {"on": False}


def set_debug(on: bool) -> None:
    """``xxgk --debug``: print the traceback of an error after its one line."""
    _debug["on"] = on


def debug_traceback(exc: BaseException) -> None:
    """The full traceback of ``exc`` on stderr, with ``--debug`` only."""
    if _debug["on"]:
        sys.stderr.write("".join(traceback.format_exception(exc)))


def dump_json(data: Any) -> None:
    """``--json`` output: ``data`` as indented JSON on stdout (Chinese kept, dates as text)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


ERROR_PREFIX = "错误："  # what every one-line error starts with


def error(message: object) -> None:
    """``错误：message`` as one line on stderr (the message is text, not markup: ``[demo-jyj]`` and
    ``[agency.local]`` in a registry problem are printed as they are)."""
    err.print(f"[red]{ERROR_PREFIX}[/]{escape(str(message))}", highlight=False, soft_wrap=True)


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print :func:`error` and return the ``typer.Exit`` to raise (exit status 2 by default)."""
    error(message)
    return typer.Exit(code=code)


@contextmanager
def one_line_errors(*also: type[Exception]) -> Iterator[None]:
    """Warehouse problems (and the exception types ``also``) raised in the block end in one line on stderr
    and exit status 2; a registry problem in one line per problem found in the file; a storage failure
    (damaged file, full disk, read-only or forbidden directory) anywhere in an exception's chain in the one
    line of :func:`warehouse.db.storage_error`.  ``--debug`` adds the traceback."""
    from sources.registry import RegistryError
    from warehouse.db import WarehouseError, storage_error

    one_line: tuple[type[Exception], ...] = (WarehouseError, *also)
    try:
        yield
    except RegistryError as exc:
        for problem in exc.problems:
            error(problem)
        debug_traceback(exc)
        raise typer.Exit(code=2) from None
    except one_line as exc:
        error(exc)
        debug_traceback(exc)
        raise typer.Exit(code=2) from None
    except Exception as exc:
        translated = storage_error(exc)
        if translated is None:
            raise
        error(translated)
        debug_traceback(exc)
        raise typer.Exit(code=2) from None
