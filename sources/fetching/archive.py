"""Content-addressed archive of every fetched document, kept unchanged.

Layout under the archive root (default ``warehouse/archive/``)::

    objects/<sha[:2]>/<sha>            the bytes as received (after HTTP content-decoding), named by sha256
    refs/<h[:2]>/<h>.json              latest record for one URL (h = sha256 of the URL): sha, validators, headers
    index.jsonl                        append-only history: one record per stored download
    fetches.jsonl                      append-only log of every fetch outcome (refused, missing, soft errors…)

Objects and refs are written atomically (temporary file in the same folder, fsync, ``os.replace``), so
a crash never leaves a half object or a half ref.  The two JSONL files are appended one line per
``write`` call; a reader skips a torn last line, and the refs stay authoritative for ``latest``.
Nothing here does network I/O; parsing reads documents back with :meth:`Archive.get`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("warehouse") / "archive"


class ArchiveCorrupt(Exception):
    """Raised by :meth:`Archive.get` when a stored object no longer hashes to its name."""


def utc_now() -> str:
    """The current time as an ISO-8601 UTC timestamp with milliseconds (``2024-02-01T08:00:00.000+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def sha256_hex(data: bytes) -> str:
    """The lowercase hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ArchiveEntry:
    """What the archive knows about the latest (or one historical) download of ``url``.

    ``fetched_at`` is when these bytes were downloaded, ``checked_at`` when the URL's record was last
    confirmed unchanged by identical bytes (:meth:`Archive.mark_checked`); the fetcher leaves the record
    as it is on a 304, whose time is in its result and in the fetch log.  ``headers`` are the response
    headers, lower-cased.
    ``requested_url`` is set when ``url`` was reached through redirects from another URL.
    """

    url: str
    sha256: str
    size: int
    fetched_at: str
    checked_at: str
    http_status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    requested_url: str | None = None

    @property
    def etag(self) -> str | None:
        """The ``ETag`` validator of this download, if the server sent one."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The ``Last-Modified`` validator of this download, if the server sent one."""
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header of this download, if any."""
        return self.headers.get("content-type")

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of this entry."""
        out = asdict(self)
        out["headers"] = dict(self.headers)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArchiveEntry:
        """The entry stored as ``data`` by :meth:`to_json` (unknown keys ignored)."""
        names = cls.__dataclass_fields__.keys()
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["headers"] = dict(kwargs.get("headers") or {})
        return cls(**kwargs)


def _atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one;
    ``durable``: on disk before it is renamed (survives a power loss), at the cost of an fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _append_line(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line to ``path`` with a single ``write`` (O_APPEND).

    If an earlier append was torn (the file does not end in a newline), the new line starts on its own
    line, so only the torn record is lost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(fd, line)
    finally:
        os.close(fd)


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, skipping blank or torn lines."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


class Archive:
    """A content-addressed document store with a per-URL index (see the module docstring)."""

    def __init__(self, root: str | Path = DEFAULT_ROOT):
        self.root = Path(root)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ objects
    def _memo_path(self, kind: str, key: str) -> Path:
        return self.root / "memo" / kind / key[:2] / f"{key}.json"

    def memo_get(self, kind: str, key: str) -> dict[str, Any] | None:
        """A small JSON result computed once from archived bytes (e.g. a page analysis), or None."""
        try:
            return json.loads(self._memo_path(kind, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def memo_put(self, kind: str, key: str, value: Mapping[str, Any], durable: bool = True) -> None:
        """Store a result derived from archived bytes, atomically (recomputed if ever lost).  ``durable=False``
        skips the fsync, for a memo its reader computes again when it is absent (a memo lost or truncated
        by a power loss reads as absent, :meth:`memo_get`)."""
        _atomic_write(
            self._memo_path(kind, key), json.dumps(value, ensure_ascii=False).encode("utf-8"), durable=durable
        )

    def object_path(self, sha: str) -> Path:
        """Where the object named ``sha`` is (or would be) stored."""
        sha = sha.lower()
        return self.root / "objects" / sha[:2] / sha

    def has(self, sha: str) -> bool:
        """Whether an object named ``sha`` is stored."""
        return self.object_path(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (once) and return its sha256; an existing object is not rewritten."""
        sha = sha256_hex(data)
        path = self.object_path(sha)
        if not (path.is_file() and path.stat().st_size == len(data)):
            _atomic_write(path, data)
        return sha

    def get(self, sha: str) -> bytes:
        """The bytes of object ``sha``; ``KeyError`` if absent, :class:`ArchiveCorrupt` if damaged."""
        path = self.object_path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyError(sha) from None
        if sha256_hex(data) != sha.lower():
            raise ArchiveCorrupt(f"{path} does not hash to its name")
        return data

    # ------------------------------------------------------------------ URL records
    def _ref_path(self, url: str) -> Path:
        h = sha256_hex(url.encode("utf-8"))
        return self.root / "refs" / h[:2] / f"{h}.json"

    def put(
        self,
        data: bytes,
        *,
        url: str,
        headers: Mapping[str, str] | None = None,
        http_status: int | None = 200,
        fetched_at: str | None = None,
        requested_url: str | None = None,
    ) -> ArchiveEntry:
        """Store one download of ``url``: the object, the URL's latest record and a history line."""
        sha = self.put_bytes(data)
        when = fetched_at or utc_now()
        entry = ArchiveEntry(
            url=url,
            sha256=sha,
            size=len(data),
            fetched_at=when,
            checked_at=when,
            http_status=http_status,
            headers={k.lower(): v for k, v in (headers or {}).items()},
            requested_url=requested_url if requested_url != url else None,
        )
        self._write_ref(entry)
        with self._lock:
            _append_line(self.root / "index.jsonl", entry.to_json())
        return entry

    def _write_ref(self, entry: ArchiveEntry) -> None:
        payload = json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True, indent=1)
        _atomic_write(self._ref_path(entry.url), payload.encode("utf-8"))

    def latest(self, url: str) -> ArchiveEntry | None:
        """The latest stored download of ``url``, or ``None`` if it was never stored."""
        try:
            raw = self._ref_path(url).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return ArchiveEntry.from_json(json.loads(raw))

    def mark_checked(self, url: str, when: str | None = None) -> ArchiveEntry | None:
        """Record that ``url`` was confirmed unchanged at ``when``; the updated entry (``None`` if unknown)."""
        entry = self.latest(url)
        if entry is None:
            return None
        entry = replace(entry, checked_at=when or utc_now())
        self._write_ref(entry)
        return entry

    def history(self, url: str) -> list[ArchiveEntry]:
        """Every stored download of ``url``, oldest first."""
        return [e for e in self.entries() if e.url == url]

    def entries(self) -> Iterator[ArchiveEntry]:
        """Every stored download (all URLs), in the order they were stored."""
        for obj in _read_lines(self.root / "index.jsonl"):
            yield ArchiveEntry.from_json(obj)

    # ------------------------------------------------------------------ fetch log
    def log(self, event: Mapping[str, Any]) -> None:
        """Append one fetch outcome (any JSON-serialisable mapping) to ``fetches.jsonl``."""
        with self._lock:
            _append_line(self.root / "fetches.jsonl", event)

    def events(self) -> list[dict[str, Any]]:
        """Every logged fetch outcome, oldest first."""
        return list(_read_lines(self.root / "fetches.jsonl"))
