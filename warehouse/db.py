"""Opening the warehouse file, with one-line errors a person can act on.

DuckDB allows one writing process per file and fails immediately (no waiting) when another
process holds the lock; :func:`connect` turns that into :class:`WarehouseLocked` naming the PID,
its command line and what to do.  :func:`storage_error` turns every other storage failure — a missing,
truncated or damaged file, a full disk, a read-only directory — found anywhere in an exception's chain
(dlt and DuckDB wrap the OS error) into one :class:`StorageError` line saying what to do.
"""

from __future__ import annotations

import errno
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


class StorageError(WarehouseError):
    """The storage under the warehouse failed: damaged file, full disk, no permission, read-only."""


def missing_message(path: Path) -> str:
    """The one line for a warehouse file that does not exist, for a command that only reads one."""
    return (
        f"仓库文件 {path} 不存在：请检查 --warehouse 或 XXGK__WAREHOUSE_PATH 的路径（相对路径相对于当前目录），"
        "或先运行 xxgk ingest / xxgk run 建立仓库"
    )


def require_existing(path: Path) -> None:
    """Raise :class:`WarehouseMissing` when ``path`` does not exist (commands that only read a warehouse)."""
    if not path.exists():
        raise WarehouseMissing(missing_message(path))


_DAMAGED = ("not a valid DuckDB database file", "Could not read enough bytes", "Corrupt", "corrupt", "checksum")
_FULL = ("No space left on device", "Disk quota exceeded")
_DENIED = ("Permission denied", "Operation not permitted")
_READ_ONLY = ("Read-only file system",)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def storage_error(exc: BaseException, path: Path | None = None) -> StorageError | None:
    """The one-line :class:`StorageError` for a storage failure anywhere in ``exc``'s chain, or None when
    ``exc`` is something else.  ``path``: the warehouse file (named in the message when known)."""
    where = f"仓库 {path}" if path else "仓库"
    for error in _chain(exc):
        code = error.errno if isinstance(error, OSError) else None
        text = str(error)
        name = getattr(error, "filename", None) or path or "仓库所在目录"
        if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _FULL):
            return StorageError(
                f"磁盘已满（{name}）：已发布的数据未受影响；请释放磁盘空间（或用 --warehouse 换到空间足够的位置）后"
                "重新运行，未完成的载入会重新进行"
            )
        if code == errno.EROFS or any(s in text for s in _READ_ONLY):
            return StorageError(f"{name} 在只读文件系统上：请用 --warehouse 指定可写的位置后重新运行")
        if code in (errno.EACCES, errno.EPERM) or any(s in text for s in _DENIED):
            return StorageError(f"没有写入 {name} 的权限：请修改目录权限，或用 --warehouse 指定可写的位置后重新运行")
        if isinstance(error, duckdb.Error) and any(s in text for s in _DAMAGED):
            return StorageError(
                f"{where} 已损坏（文件被截断或不是 DuckDB 数据库）：请从备份恢复，或将其移走后重新运行 "
                "xxgk run / xxgk ingest 重建"
            )
    return None


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
            f"数据仓库 {path} 正被另一个进程占用：请等它结束后重试（DuckDB 同一时间只允许一个写入进程，期间不能读取）"
        )
    pid = int(m.group(1))
    cmd = _cmdline(pid)
    what = f" ({cmd})" if cmd else ""
    return (
        f"数据仓库 {path} 正被进程 {pid}{what} 占用：请等它结束或停止它（kill {pid}）后重试"
        "（DuckDB 同一时间只允许一个写入进程，期间不能读取）"
    )


def is_lock_error(error: BaseException | str) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file; :class:`WarehouseLocked`, :class:`WarehouseMissing` or
    :class:`StorageError` on failure (the original error stays chained, for ``--debug``)."""
    if read_only:
        require_existing(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:
        if is_lock_error(exc):
            raise WarehouseLocked(lock_message(path, str(exc))) from exc
        translated = storage_error(exc, path)
        if translated is not None:
            raise translated from exc
        raise WarehouseError(f"无法打开数据仓库 {path}：{str(exc).splitlines()[0]}") from exc


def check_not_locked(cfg: Any) -> None:
    """Fail fast, before fetching or parsing anything, when another process holds the warehouse file of
    ``cfg`` (a :class:`~warehouse.config.WarehouseConfig`).  Here, not in ``warehouse.pipeline``: a run
    checks it before its first fetch, and that module imports pyarrow (~0.3 s)."""
    connect(cfg.db_path).close()


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
