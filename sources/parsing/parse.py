"""The parse entry point: bytes of one document → the JSON object of ``xxgk parse`` (its fields: ``sources/README.md``).

Format detection and reading live in :mod:`sources.parsing.readers`; mapping rows to template cells in
:mod:`sources.parsing.assemble`.  This module adds the ``source`` block (path, sha256, format, size) and
turns an unreadable file into an object with ``error`` set instead of an exception, so that one
bad file never stops the others, and ``checks``: the within-report rules the document breaks
(:func:`sources.rules.check_report`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sources.parsing.assemble import PARSER_VERSION, empty_result, parse_document
from sources.parsing.document import Document, Issue, UnreadableDocument
from sources.parsing.limits import DEFAULT_LIMITS, ReadLimits, timeout_message
from sources.rules import check_report

if TYPE_CHECKING:
    from sources.parsing.readers.body_images import ImageResolver


def _error_result(source: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    issue = Issue(code, "error", message).to_json()
    return {"source": source, **empty_result(issues=[issue], error=message), "checks": []}


def parse_bytes(
    data: bytes,
    path: str,
    content_type: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    images: Mapping[str, bytes] | ImageResolver | None = None,
) -> dict[str, Any]:
    """Parse one document's bytes; ``path`` is only recorded (the format comes from the bytes).
    ``images``: the images an HTML page's body shows (fetched with it), by their ``src`` as written,
    or a function the HTML reader calls for them (:class:`LocalImages`).

    Every read is bounded by ``limits`` (the parse clock starts here); a limit reached gives an
    object with ``error`` set and the limit's code (``too_large``, ``parse_timeout`` …).
    """
    from sources.parsing.readers import read_document, sniff_format

    source: dict[str, Any] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    started = time.perf_counter()
    limits = limits.started()
    try:
        doc = read_document(data, content_type=content_type, limits=limits, images=images)
        if doc.ocr_late and not doc.text.strip() and not doc.rows:  # no page fitted: nothing was read
            raise UnreadableDocument("parse_timeout", timeout_message(limits.parse_seconds, "OCR 未能读取任何页面"))
        if not (doc.ocr_pages or doc.ocr_late):
            # OCR may use the clock to its end (a page is started only when it fits, and what was read is
            # kept); any other read that ended past it is refused
            limits.check_time("读取完成后")
    except UnreadableDocument as exc:
        # only an unreadable file needs the sniffed format for its record; a read one knows its own
        source["format"] = sniff_format(data) if data else "empty"
        return _error_result(source, exc.code, f"{path}: {exc.message}")
    source["format"] = doc.format
    if doc.pages is not None:
        source["pages"] = doc.pages
    if doc.ocr_pages:
        source["ocr_pages"] = doc.ocr_pages
        source["ocr_seconds"] = round(doc.ocr_seconds, 3)
    parsed = parse_document(doc)
    undecided = unread_for_time(doc, parsed["template"])
    if undecided:
        return _error_result(source, "parse_timeout", f"{path}: {timeout_message(limits.parse_seconds, undecided)}")
    result = {"source": source, **parsed}
    result["parser_version"] = PARSER_VERSION
    result["checks"] = [r.to_json() for r in check_report(result)]
    result["parse_seconds"] = round(time.perf_counter() - started, 4)
    return result


def unread_for_time(doc: Document, template: str | None) -> str | None:
    """Why a document in no statutory template cannot be called "not a report" (Chinese, the ``where``
    of a ``parse_timeout`` line): some of its pages without a text layer were left unread for time, and
    the statutory tables may be on them.  None when the template was found or every page was read."""
    if template is not None or not doc.ocr_late:
        return None
    return f"OCR 读了 {doc.ocr_pages} 页，另有 {doc.ocr_late} 页在时限内未能读取，无法判断是否为法定年报"


def stopped_result(data: bytes, path: str, seconds: float) -> dict[str, Any]:
    """The object of a parse of ``data`` that was stopped from outside after ``seconds`` (its process
    killed: a single reader call that cannot be interrupted ran past the limit): ``error`` set, code
    ``parse_timeout``, the same shape as any unreadable file."""
    from sources.parsing.readers import sniff_format

    source: dict[str, Any] = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    source["format"] = sniff_format(data) if data else "empty"
    message = timeout_message(seconds, "单次读取无法中断，解析进程已被终止")
    return _error_result(source, "parse_timeout", f"{path}: {message}")


def stopped_path_result(
    path: str | os.PathLike[str], seconds: float, limit: int = DEFAULT_LIMITS.file_bytes
) -> dict[str, Any]:
    """:func:`stopped_result` for the file ``path`` (``xxgk parse``): its bytes read again for the
    ``source`` block (sha256, format); a file gone meanwhile keeps them null."""
    try:
        data = read_file(os.fspath(path), limit)
    except UnreadableDocument:
        source = {"path": str(path), "sha256": None, "format": None, "bytes": None}
        message = timeout_message(seconds, "单次读取无法中断，解析进程已被终止")
        return _error_result(source, "parse_timeout", f"{path}: {message}")
    return stopped_result(data, str(path), seconds)


def failed_path_result(path: str | os.PathLike[str], reason: str) -> dict[str, Any]:
    """The object of a file whose parse crashed (a reader's bug, or its parse process died: ``reason``
    names how, in English): ``error`` set, code ``parse_failed``."""
    source = {"path": str(path), "sha256": None, "format": None, "bytes": None}
    return _error_result(source, "parse_failed", f"{path}: {reason}")


_FILE_KINDS = {
    stat.S_IFDIR: "目录",
    stat.S_IFIFO: "命名管道（FIFO）",
    stat.S_IFCHR: "字符设备",
    stat.S_IFBLK: "块设备",
    stat.S_IFSOCK: "套接字",
}


def read_file(path: str | Path, limit: int = DEFAULT_LIMITS.file_bytes) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises :class:`UnreadableDocument`: ``cannot_open`` (missing, no permission), ``not_regular_file``
    (a directory, FIFO or device: refused at once, never read, so ``/dev/zero`` or a FIFO cannot
    block or fill memory) or ``too_large``.
    """
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open file.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableDocument("cannot_open", f"无法打开文件（{exc.strerror or exc}）：检查路径和读取权限") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "特殊文件")
            raise UnreadableDocument(
                "not_regular_file", f"这是{kind}，不是普通文件：只读取普通文件，请给出报告文件本身"
            )
        DEFAULT_LIMITS.check_size(info.st_size, limit, "文件大小")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # a file growing while read is cut past the limit, not read to its end
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableDocument("cannot_open", f"读取文件出错（{exc.strerror or exc}）：检查文件和磁盘") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    DEFAULT_LIMITS.check_size(len(data), limit, "文件大小")
    return data


def parse_path(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse a file on disk; a file that cannot be read (see :func:`read_file`) gives an object with
    ``error`` set and its own code."""
    p = Path(path)
    try:
        data = read_file(p, limits.file_bytes)
    except UnreadableDocument as exc:
        source = {"path": str(p), "sha256": None, "format": None, "bytes": None}
        return _error_result(source, exc.code, f"{p}: {exc.message}")
    return parse_file_bytes(data, p, limits)


def parse_file_bytes(data: bytes, path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """:func:`parse_bytes` of a file read from ``path`` on disk: an HTML page whose tables are images
    gets the images its body shows read from its own folder (:class:`LocalImages`, asked by the HTML
    reader during its one read of the page); what was read is listed in ``source.body_images``,
    what was refused is a ``body_image_refused`` warning each."""
    from sources.parsing.readers import sniff_format

    local = LocalImages(Path(path)) if data and sniff_format(data) == "html" else None
    result = parse_bytes(data, str(path), limits=limits, images=local)
    images, refused = (local.images, local.refused) if local is not None else ({}, [])
    if images and not result.get("error"):
        result["source"]["body_images"] = [
            {"src": src, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for src, b in images.items()
        ]
    result["issues"] = [*result.get("issues", []), *(i.to_json() for i in refused)]
    return result


class LocalImages:
    """Reads the images the body of the HTML page ``page`` shows from disk, when the HTML reader asks
    (its own tables lack a statutory table): called with the sources worth reading
    (:func:`~sources.parsing.readers.body_images.worth_reading`, at most ``MAX_BODY_IMAGES``), it
    returns ``src`` as written → bytes, and keeps them in ``images`` and a ``body_image_refused``
    warning for each one not read in ``refused``.

    A source is read only when it is a relative path naming a regular file of at most
    ``MAX_IMAGE_BYTES`` under the page's own folder once resolved: ``..`` or a symlink leading out of
    the folder, an absolute path and a web address are refused (a local page never makes the parser
    read elsewhere or fetch).
    """

    def __init__(self, page: Path):
        self.folder = os.path.realpath(page.parent if str(page.parent) else ".")
        self.images: dict[str, bytes] = {}
        self.refused: list[Issue] = []

    def _refuse(self, src: str, why: str) -> None:
        message = f"Image {src[:120]} of the body was not read: {why}"
        self.refused.append(Issue("body_image_refused", "warning", message))

    def __call__(self, sources: Sequence[str]) -> dict[str, bytes]:
        from urllib.parse import unquote, urlsplit

        from sources.parsing.readers.body_images import MAX_IMAGE_BYTES

        for src in sources:
            parts = urlsplit(src)
            if parts.scheme or parts.netloc:
                self._refuse(src, "a web address, not a file beside the page")
                continue
            relative = unquote(parts.path)
            if not relative or relative.startswith(("/", "\\")) or os.path.isabs(relative):
                self._refuse(src, "an absolute path, not a file beside the page")
                continue
            target = os.path.realpath(os.path.join(self.folder, relative))
            if os.path.commonpath([self.folder, target]) != self.folder:
                self._refuse(src, "it lies outside the folder of the page")
                continue
            try:
                self.images[src] = read_file(target, MAX_IMAGE_BYTES)
            except UnreadableDocument as exc:
                why = {
                    "not_regular_file": "not a regular file",
                    "too_large": f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB",
                }.get(exc.code, "no such file, or it cannot be opened")
                self._refuse(src, why)
        return self.images


def local_images(page: Path, data: bytes) -> tuple[dict[str, bytes], list[Issue]]:
    """The images the body of HTML page ``page`` (its bytes: ``data``) shows, read from disk as
    :class:`LocalImages` reads them (``src`` as written → bytes), and a ``body_image_refused``
    warning for each one not read; only when the page's own tables lack a statutory table
    (:func:`~sources.parsing.readers.body_images.image_sources`, as for a fetched page)."""
    from sources.parsing.readers.body_images import image_sources

    local = LocalImages(page)
    local(image_sources(data))
    return local.images, local.refused
