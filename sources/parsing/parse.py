"""The parse entry point: bytes of one document → the JSON object of ``xxgk parse`` (parse-output.md).

Format detection and reading live in :mod:`sources.parsing.readers`; mapping rows to template cells in
:mod:`sources.parsing.assemble`.  This module adds the ``source`` block (path, sha256, format, size) and
turns an unreadable file into an object with ``error`` set instead of an exception, so that one
bad file never stops the others.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from sources.parsing.assemble import PARSER_VERSION, empty_result, parse_document
from sources.parsing.document import Issue, UnreadableDocument


def _error_result(source: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    issue = Issue(code, "error", message).to_json()
    return {"source": source, **empty_result(issues=[issue], error=message)}


def parse_bytes(data: bytes, path: str, content_type: str | None = None) -> dict[str, Any]:
    """Parse one document's bytes; ``path`` is only recorded (the format comes from the bytes)."""
    from sources.parsing.readers import read_document, sniff_format

    source: dict[str, Any] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    started = time.perf_counter()
    try:
        doc = read_document(data, content_type=content_type)
    except UnreadableDocument as exc:
        # only an unreadable file needs the sniffed format for its record; a read one knows its own
        source["format"] = sniff_format(data) if data else "empty"
        return _error_result(source, exc.code, f"{path}: {exc.message}")
    source["format"] = doc.format
    if doc.pages is not None:
        source["pages"] = doc.pages
    result = {"source": source, **parse_document(doc)}
    result["parser_version"] = PARSER_VERSION
    result["parse_seconds"] = round(time.perf_counter() - started, 4)
    return result


def parse_path(path: str | Path) -> dict[str, Any]:
    """Parse a file on disk; a file that cannot be opened gives an object with ``error`` set."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        source = {"path": str(p), "sha256": None, "format": None, "bytes": None}
        return _error_result(source, "cannot_open", f"{p}: cannot open the file ({exc.strerror or exc})")
    return parse_bytes(data, str(p))
