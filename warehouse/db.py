"""Opening the warehouse file, with one-line errors a person can act on.

DuckDB allows one writing process per file and fails immediately (no waiting) when another
process holds the lock; :func:`connect` turns that into :class:`WarehouseLocked` naming the PID,
its command line and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb


class WarehouseError(RuntimeError):
    """A warehouse problem with a one-line, actionable message."""


class WarehouseLocked(WarehouseError):
    """Another process holds the DuckDB file."""


class WarehouseMissing(WarehouseError):
    """The warehouse file does not exist yet."""


_PID = re.compile(r"\(PID (\d+)\)")


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return " ".join(text.split())[:120]


def lock_message(path: Path, error: str) -> str:
    """The one-line explanation of a DuckDB lock conflict."""
    m = _PID.search(error)
    if not m:
        return (
            f"warehouse {path} is locked by another process; wait until it finishes "
            "(DuckDB allows one writer and no readers meanwhile), then retry"
        )
    pid = int(m.group(1))
    cmd = _cmdline(pid)
    what = f" ({cmd})" if cmd else ""
    return (
        f"warehouse {path} is locked by process {pid}{what}; wait until it finishes or stop it "
        f"(kill {pid}), then retry — DuckDB allows one writer and no readers meanwhile"
    )


def is_lock_error(error: BaseException | str) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file; :class:`WarehouseLocked` / :class:`WarehouseMissing` on failure."""
    if read_only and not path.exists():
        raise WarehouseMissing(f"no warehouse at {path} yet; run `xxgk ingest PATH...` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if is_lock_error(exc):
            raise WarehouseLocked(lock_message(path, str(exc))) from None
        raise WarehouseError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from None


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` (table or view) exists."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(row and row[0][0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """The column names of ``schema.table`` in table order ([] when it does not exist)."""
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    """Whether ``schema.table`` has ``column`` (a warehouse written by older code may not yet)."""
    return column in table_columns(con, schema, table)


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a query as dicts keyed by column name."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK and re-raise."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
