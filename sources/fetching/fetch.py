"""Fetching reports politely and safely into the archive.

:class:`Fetcher` wraps one ``httpx.Client`` and adds what government sites need:

* a host allow-list checked on the first URL, on every redirect hop and on attachment links: a host
  not listed, an IP literal not listed, or a listed *name* that resolves to a non-public address
  (private, loopback, link-local…) whose address is not itself listed is **refused**, not fetched;
* retries with exponential back-off on 5xx/429, timeouts and connection resets;
* politeness per host, shared by every thread using the fetcher: a minimum interval between the
  starts of two requests to the same host (``min_interval``) and at most ``host_limit`` requests to
  one host at a time;
* a maximum document size (``Content-Length`` checked first, then the stream is cut off) and a
  maximum wall time per document, all attempts and redirects together (a server dripping a byte
  every few seconds is cut when the budget is spent, not after every retry's own timeout);
* conditional requests (``If-None-Match`` / ``If-Modified-Since`` from the archive's last download of
  that URL), so an unchanged report is not downloaded again (``not_modified``): its 304 is read to its
  end (the connection serves the next request) and nothing is written but the fetch log;
* soft errors: an HTML page served with 200 that is really an error page or a login wall, and has no
  report content, is ``soft_error`` (archived as evidence, never handed on as a report);
* wrapper pages: an HTML page without report content that links the report as PDF/DOCX/DOC (or
  through a link reading 年度报告 with the right year) is followed to that attachment.

Every downloaded document is stored unchanged in :class:`~sources.fetching.archive.Archive`; every outcome is
returned as a :class:`FetchResult` and appended to the archive's ``fetches.jsonl``.  :func:`acquire`
ties a registry agency and a year to a decision: the report found, ``missing`` after the statutory
deadline (with everything tried), ``not_due`` yet, or ``failed`` (try again later).

(Over 500 lines: this is the one module allowed to import httpx (an import-linter contract), and the
host allow-list, retries, per-host politeness, the time budget, conditional requests and the
following of wrapper pages all act on the same request loop of :class:`Fetcher` and its per-host
state; page analysis and discovery already live apart in ``pages.py`` and ``discover.py``.)
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from sources.fetching.archive import Archive, ArchiveEntry, sha256_hex, utc_now
from sources.fetching.discover import Candidate
from sources.fetching.pages import PageInfo, analyse_page, sniff_kind
from sources.registry import Agency, host_listed, is_ip_literal

STATUSES = ("fetched", "not_modified", "missing", "refused", "soft_error", "oversized", "failed")
OK_STATUSES = ("fetched", "not_modified")
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRYABLE = {429, 500, 502, 503, 504}
_MISSING = {404, 410}


@dataclass(frozen=True)
class FetchConfig:
    """Fetch limits.  ``retries`` are extra attempts after the first; back-off is ``backoff * 2**n`` s.

    ``timeout`` bounds each network wait (connect, one read); ``max_seconds`` the whole fetch of one
    URL — every attempt, back-off and redirect together; ``max_bytes`` one body.
    """

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    backoff_max: float = 30.0
    min_interval: float = 1.0
    host_limit: int = 4
    max_bytes: int = 64 * 1024 * 1024
    max_redirects: int = 5
    max_seconds: float = 300.0
    user_agent: str = "xxgk/0.1 (government information disclosure report archive)"
    trust_env: bool = True  # honour HTTP(S)_PROXY / NO_PROXY from the environment


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one report location.

    ``status`` is one of :data:`STATUSES`.  ``chain`` lists every URL requested in order (redirect
    hops, then the attachment's hops); for ``refused`` its last element is the URL refused.
    ``sha256``/``archive_path`` name the archived document (also for ``not_modified`` and
    ``soft_error``).  ``attempts`` counts the tries of the last URL requested (1 + retries used);
    ``downloaded`` the body bytes received over the network by this call (0 when not modified).
    ``kind`` is the sniffed format (pdf, docx, doc_cfb, wps, html, text, unknown: the parser's names, from
    :func:`sources.parsing.readers.sniff_format`); ``report_like`` says whether
    an HTML page carries report content.  ``page`` is the wrapper page when the report was its
    attachment.  ``changed`` is false when the archived bytes for the URL were already identical.
    """

    url: str
    status: str
    reason: str | None = None
    final_url: str | None = None
    chain: tuple[str, ...] = ()
    http_status: int | None = None
    sha256: str | None = None
    archive_path: str | None = None
    size: int | None = None
    content_type: str | None = None
    kind: str | None = None
    report_like: bool | None = None
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    attempts: int = 0
    downloaded: int = 0
    changed: bool | None = None
    fetched_at: str = ""
    page: FetchResult | None = None

    @property
    def ok(self) -> bool:
        """Whether a document usable as a report is in the archive (fetched or not modified)."""
        return self.status in OK_STATUSES

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (nested ``page`` included)."""
        out = asdict(self)
        out["chain"] = list(self.chain)
        return out


# ============================================================================ the fetcher


@dataclass
class _Hop:
    """The outcome of requesting one URL, redirects followed (internal)."""

    status: str  # ok | not_modified | missing | refused | oversized | failed
    url: str
    chain: list[str]
    attempts: int = 0
    downloaded: int = 0
    reason: str | None = None
    final_url: str | None = None
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    entry: ArchiveEntry | None = None
    changed: bool | None = None


@dataclass
class _Try:
    """The outcome of one request with its retries (internal)."""

    status: str  # ok | not_modified | missing | redirect | oversized | failed
    attempts: int
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    location: str | None = None
    reason: str | None = None
    downloaded: int = 0


class _TooSlow(Exception):
    pass


def _headers(response: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


class Fetcher:
    """Fetches report locations into an :class:`Archive` (see the module docstring for the rules).

    ``transport`` is passed to ``httpx.Client`` (tests, proxies); ``resolver`` maps a host name to its
    addresses (default: the system resolver); ``sleep`` is used for back-off and politeness waits.
    Safe to share between threads.  Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        archive: Archive,
        config: FetchConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Callable[[str], list[str]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.archive = archive
        self.config = config or FetchConfig()
        self._resolver = resolver or _resolve
        self._sleep = sleep
        self._resolved: dict[str, list[str]] = {}
        self._last: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.config.timeout),
            follow_redirects=False,
            headers={"User-Agent": self.config.user_agent},
            transport=transport,
            trust_env=self.config.trust_env,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- host rules
    def check_url(self, url: str, allowed_hosts: Sequence[str]) -> str | None:
        """Why ``url`` may not be fetched under ``allowed_hosts`` (``None`` when it may)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return f"scheme {parts.scheme or '(none)'!r} is not http(s): {url}"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return f"no host in URL {url}"
        if is_ip_literal(host):
            if host_listed(host, allowed_hosts):
                return None
            scope = "public" if ipaddress.ip_address(host).is_global else "private/loopback"
            return f"IP literal {host} ({scope}) is not in allowed_hosts"
        if not host_listed(host, allowed_hosts):
            return f"host {host} is not in allowed_hosts [{', '.join(allowed_hosts)}]"
        for addr in self._addresses(host):
            if not ipaddress.ip_address(addr).is_global and not host_listed(addr, allowed_hosts):
                return f"host {host} resolves to non-public address {addr}, which is not in allowed_hosts"
        return None

    def _addresses(self, host: str) -> list[str]:
        with self._lock:
            cached = self._resolved.get(host)
        if cached is None:
            cached = self._resolver(host)
            with self._lock:
                self._resolved[host] = cached
        return cached

    # ---------------------------------------------------------------- politeness
    def _wait_turn(self, url: str) -> None:
        """Sleep until ``min_interval`` has passed since the last request to this URL's host."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._last.get(host, float("-inf")) + self.config.min_interval)
            self._last[host] = slot
        if slot > now:
            self._sleep(slot - now)

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        """The semaphore capping concurrent requests to this URL's host at ``host_limit``."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            return self._slots.setdefault(host, threading.BoundedSemaphore(max(1, self.config.host_limit)))

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        delay = self.config.backoff * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
        return min(delay, self.config.backoff_max)

    # ---------------------------------------------------------------- one request, with retries
    def _read(self, response: httpx.Response, deadline: float) -> tuple[bytes | None, int]:
        """The body, or ``(None, bytes received)`` when it exceeds ``max_bytes``; :class:`_TooSlow`
        when the fetch's ``deadline`` passes while it arrives."""
        limit = self.config.max_bytes
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit and "content-encoding" not in response.headers:
            return None, 0
        buf = bytearray()
        for chunk in response.iter_bytes():
            buf += chunk
            if len(buf) > limit:
                return None, len(buf)
            if time.monotonic() > deadline:
                raise _TooSlow(self._too_slow())
        return bytes(buf), len(buf)

    def _too_slow(self) -> str:
        return f"下载总时长超过 {self.config.max_seconds:g} 秒的上限（max_seconds，含重试）"

    def _send(
        self, url: str, headers: dict[str, str], has_prior: bool, deadline: float
    ) -> _Try | tuple[str, str | None]:
        """One request: a final :class:`_Try`, or ``(retry reason, Retry-After)`` to try again."""
        wait = max(0.001, min(self.config.timeout, deadline - time.monotonic()))  # no network wait past the deadline
        with self.client.stream("GET", url, headers=headers, timeout=httpx.Timeout(wait)) as r:
            code, hdrs = r.status_code, _headers(r)
            if code in _REDIRECTS and r.headers.get("location"):
                return _Try("redirect", 0, code, hdrs, location=urljoin(url, r.headers["location"].strip()))
            if code == 304 and has_prior:
                r.read()  # no body: ends the response, so that the connection is kept for the next request
                return _Try("not_modified", 0, code, hdrs)
            if code in _MISSING:
                return _Try("missing", 0, code, hdrs, reason=f"HTTP {code}")
            if code in _RETRYABLE:
                return f"HTTP {code}", r.headers.get("retry-after")
            if not 200 <= code < 300:
                return _Try("failed", 0, code, hdrs, reason=f"HTTP {code}")
            body, received = self._read(r, deadline)
            if body is None:
                return _Try(
                    "oversized",
                    0,
                    code,
                    hdrs,
                    downloaded=received,
                    reason=f"larger than max_bytes={self.config.max_bytes}"
                    + (f" (Content-Length {r.headers['content-length']})" if not received else ""),
                )
            return _Try("ok", 0, code, hdrs, body=body, downloaded=received)

    def _request(self, url: str, prior: ArchiveEntry | None, deadline: float) -> _Try:
        """GET ``url`` (conditionally when ``prior`` is known), retrying transient failures until ``deadline``."""
        headers = {}
        if prior is not None and prior.etag:
            headers["If-None-Match"] = prior.etag
        if prior is not None and prior.last_modified:
            headers["If-Modified-Since"] = prior.last_modified
        reason, total = "no attempt", self.config.retries + 1
        for attempt in range(1, total + 1):
            if time.monotonic() >= deadline:
                return _Try("failed", attempt - 1, reason=f"{self._too_slow()}; {reason}")
            try:
                with self._host_slot(url):
                    self._wait_turn(url)
                    outcome = self._send(url, headers, prior is not None and bool(headers), deadline)
            except (httpx.TimeoutException, _TooSlow) as exc:
                outcome = (f"timeout ({type(exc).__name__}: {exc})", None)
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                outcome = (f"connection error ({type(exc).__name__}: {exc})", None)
            except httpx.HTTPError as exc:
                return _Try("failed", attempt, reason=f"{type(exc).__name__}: {exc}")
            if isinstance(outcome, _Try):
                outcome.attempts = attempt
                return outcome
            reason, retry_after = outcome
            if time.monotonic() >= deadline:
                return _Try("failed", attempt, reason=f"{self._too_slow()}; {reason}")
            if attempt < total:
                self._sleep(min(self._backoff(attempt, retry_after), max(0.0, deadline - time.monotonic())))
        return _Try("failed", total, reason=f"{reason} after {total} attempts")

    # ---------------------------------------------------------------- one URL, redirects followed
    def _prior(self, url: str) -> ArchiveEntry | None:
        entry = self.archive.latest(url)
        return entry if entry is not None and self.archive.has(entry.sha256) else None

    def _get(self, url: str, allowed_hosts: Sequence[str]) -> _Hop:
        """Request ``url``, following allowed redirects; store a 200 body; load a 304's from the archive."""
        chain: list[str] = []
        current, downloaded = url, 0
        deadline = time.monotonic() + self.config.max_seconds  # one budget for every attempt and redirect
        for _ in range(self.config.max_redirects + 1):
            refusal = self.check_url(current, allowed_hosts)
            if refusal:
                what = "redirect to " if chain else ""
                return _Hop("refused", url, [*chain, current], reason=what + refusal, downloaded=downloaded)
            chain.append(current)
            prior = self._prior(current)
            t = self._request(current, prior, deadline)
            downloaded += t.downloaded
            if t.status == "redirect" and t.location:
                current = t.location
                continue
            hop = _Hop(t.status, url, chain, t.attempts, downloaded, t.reason, current, t.http_status, t.headers)
            return self._store(hop, t, prior)
        return _Hop(
            "failed", url, chain, reason=f"more than {self.config.max_redirects} redirects", downloaded=downloaded
        )

    def _store(self, hop: _Hop, t: _Try, prior: ArchiveEntry | None) -> _Hop:
        assert hop.final_url is not None
        if t.status == "ok" and t.body is not None:
            hop.entry = self.archive.put(
                t.body, url=hop.final_url, headers=t.headers, http_status=t.http_status, requested_url=hop.url
            )
            hop.body, hop.changed = t.body, prior is None or prior.sha256 != hop.entry.sha256
        elif t.status == "not_modified" and prior is not None:
            # the URL's record is not rewritten: the fetch log holds this check, and replacing a file costs
            # ~6 ms here (ext4 flushes a file renamed over another), most of an unchanged report's time
            hop.entry = replace(prior, checked_at=utc_now())
            hop.body, hop.changed, hop.headers = self.archive.get(prior.sha256), False, dict(prior.headers)
        return hop

    # ---------------------------------------------------------------- results
    def _result(self, hop: _Hop, **over: Any) -> FetchResult:
        status = {"ok": "fetched"}.get(hop.status, hop.status)
        entry = hop.entry
        fields: dict[str, Any] = dict(
            url=hop.url,
            status=status,
            reason=hop.reason,
            final_url=hop.final_url,
            chain=tuple(hop.chain),
            http_status=hop.http_status,
            attempts=hop.attempts,
            downloaded=hop.downloaded,
            changed=hop.changed,
            headers=dict(hop.headers),
            fetched_at=utc_now(),
        )
        if entry is not None:
            fields.update(
                sha256=entry.sha256,
                archive_path=str(self.archive.object_path(entry.sha256)),
                size=entry.size,
                content_type=entry.content_type,
                fetched_at=entry.checked_at,
            )
        fields.update(over)
        return FetchResult(**fields)

    def _record(self, result: FetchResult) -> FetchResult:
        self.archive.log(result.to_json())
        return result

    # ---------------------------------------------------------------- public API
    def fetch(
        self, url: str, allowed_hosts: Sequence[str], *, year: int | None = None, attachment: str = "auto"
    ) -> FetchResult:
        """Fetch the report at ``url`` into the archive, following a wrapper page to its attachment.

        ``attachment``: ``auto`` follows the attachment link of a page without report content,
        ``always`` follows it whenever there is one, ``never`` does not.  ``year`` steers the
        choice of attachment link.  The result is also appended to the archive's fetch log.
        """
        return self._record(self._fetch(url, allowed_hosts, year, attachment))

    def _fetch(self, url: str, allowed: Sequence[str], year: int | None, attachment: str) -> FetchResult:
        hop = self._get(url, allowed)
        if hop.body is None:
            return self._result(hop)
        ctype = hop.headers.get("content-type")
        kind = sniff_kind(hop.body)
        if kind != "html":
            return self._result(hop, kind=kind)
        info = self._analyse(hop.body, ctype, hop.final_url or url, year, attachment)
        follow = attachment == "always" or (attachment == "auto" and not info.report_like)
        if follow and info.attachment:
            page = self._result(hop, kind=kind, report_like=info.report_like)
            return self._follow(page, info.attachment, allowed, year)
        if info.error and not info.report_like:
            return self._result(hop, status="soft_error", reason=info.error, kind=kind, report_like=False)
        reason = None if info.report_like else "HTML page without recognisable report content"
        if info.report_like:
            self._body_images(hop, ctype, allowed)
        return self._result(hop, kind=kind, report_like=info.report_like, reason=reason)

    def _body_images(self, hop: _Hop, content_type: str | None, allowed: Sequence[str]) -> None:
        """Fetch the images of a report page whose own tables lack a statutory table (tables pasted as
        pictures) into the archive, like attachments: only from ``allowed`` hosts, at most
        MAX_BODY_IMAGES, each at most MAX_IMAGE_BYTES; the page's list of ``(src as written, sha256)``
        is kept in the archive (memo ``body_images`` of the page's sha256) for the parser."""
        from sources.parsing.readers.body_images import MAX_IMAGE_BYTES

        if hop.body is None or hop.entry is None:
            return
        found: list[list[str]] = []
        for src in self._image_sources(hop.body, hop.entry.sha256, content_type):
            url = urljoin(hop.final_url or hop.url, src)
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            image = self._get(url, allowed)  # refused off the allow-list, polite, bounded, archived
            self._record(self._result(image, kind="image" if image.body is not None else None))
            if image.body is not None and image.entry is not None and len(image.body) <= MAX_IMAGE_BYTES:
                found.append([src, image.entry.sha256])
        if not found and self.archive.memo_get("body_images", hop.entry.sha256) is None:
            return  # nothing to list, nothing listed before: the parser reads no memo as no image (saves an fsync)
        self.archive.memo_put("body_images", hop.entry.sha256, {"images": found})

    def _image_sources(self, data: bytes, sha: str, content_type: str | None) -> list[str]:
        """:func:`~sources.parsing.readers.body_images.image_sources` of the page ``data`` (its sha256:
        ``sha``), remembered in the archive for a page that shows an image: the check reads the whole
        page with the HTML reader (5–10 ms for a real 120 KB page), and an unchanged page (304) is
        checked again on every run for its images to be fetched again."""
        from sources.parsing.assemble import PARSER_VERSION
        from sources.parsing.readers.body_images import image_sources, shows_image

        if not shows_image(data):  # no image at all: nothing read, nothing to remember
            return []
        parts = [sha.encode(), (content_type or "").encode(), PARSER_VERSION.encode()]
        key = hashlib.sha256(b"\0".join(parts)).hexdigest()
        memo = self.archive.memo_get("image_sources", key)
        if memo is not None and isinstance(memo.get("sources"), list):
            return [str(src) for src in memo["sources"]]
        sources = image_sources(data, content_type)
        self.archive.memo_put("image_sources", key, {"sources": sources}, durable=False)  # recomputed when lost
        return sources

    def _follow(self, page: FetchResult, link: str, allowed: Sequence[str], year: int | None) -> FetchResult:
        """Fetch the attachment ``link`` of wrapper ``page``; the result describes the attachment."""
        hop = self._get(link, allowed)
        chain = page.chain + tuple(hop.chain)
        downloaded = page.downloaded + hop.downloaded
        if hop.body is None:
            reason = f"attachment {link}: {hop.reason or hop.status}"
            return self._result(hop, url=page.url, chain=chain, page=page, reason=reason, downloaded=downloaded)
        ctype = hop.headers.get("content-type")
        kind = sniff_kind(hop.body)
        over: dict[str, Any] = dict(url=page.url, chain=chain, page=page, kind=kind, downloaded=downloaded)
        if kind == "html":
            info = self._analyse(hop.body, ctype, hop.final_url or link, year, "never")
            over["report_like"] = info.report_like
            if not info.report_like:
                reason = info.error or "no report content"
                return self._result(
                    hop, status="soft_error", reason=f"attachment link gave an HTML page: {reason}", **over
                )
        if page.status == "fetched" and hop.status == "not_modified":
            over["status"] = "not_modified"
        return self._result(hop, **over)

    def fetch_page(self, url: str, allowed_hosts: Sequence[str]) -> tuple[FetchResult, bytes | None]:
        """Fetch ``url`` as a plain page (a listing): the result and its archived bytes (``None`` if none)."""
        hop = self._get(url, allowed_hosts)
        kind = sniff_kind(hop.body) if hop.body is not None else None
        return self._record(self._result(hop, kind=kind)), hop.body

    def _analyse(
        self, data: bytes, content_type: str | None, base_url: str, year: int | None, links: str = "always"
    ) -> PageInfo:
        """:func:`analyse_page` (``links``: when its attachment link is looked for), remembered in the
        archive per (document, URL, year, links): an unchanged page (304) is not parsed again on the next run."""
        parts = [hashlib.sha256(data).digest(), (content_type or "").encode(), base_url.encode(), str(year).encode()]
        if links != "always":  # the key of an analysis with its link stays what it was before this option
            parts.append(links.encode())
        key = hashlib.sha256(b"\0".join(parts)).hexdigest()
        memo = self.archive.memo_get("page", key)
        if memo is not None:
            return PageInfo(memo["report_like"], memo["error"], memo["attachment"], tuple(memo["markers"]))
        info = analyse_page(data, content_type, base_url, year, links)
        self.archive.memo_put(
            "page",
            key,
            {
                "report_like": info.report_like,
                "error": info.error,
                "attachment": info.attachment,
                "markers": list(info.markers),
            },
            durable=False,  # recomputed when lost: not worth an fsync per page
        )
        return info

    def fetch_path(self, path: str | Path) -> FetchResult:
        """Archive a local file as a report: ``fetched`` (new bytes), ``not_modified``, ``missing`` or ``oversized``."""
        p = Path(path)
        url = p.resolve().as_uri()
        if not p.is_file():
            return self._record(FetchResult(url, "missing", reason=f"no such file {p}", fetched_at=utc_now()))
        if p.stat().st_size > self.config.max_bytes:
            return self._record(
                FetchResult(
                    url, "oversized", reason=f"larger than max_bytes={self.config.max_bytes}", fetched_at=utc_now()
                )
            )
        from sources.parsing.document import UnreadableDocument
        from sources.parsing.parse import read_file

        try:
            data = read_file(p, self.config.max_bytes)  # a regular file, cut at the limit even if it grows
        except UnreadableDocument as exc:
            status = "oversized" if exc.code == "too_large" else "missing"
            return self._record(FetchResult(url, status, reason=f"{p}: {exc.message}", fetched_at=utc_now()))
        prior = self._prior(url)
        if prior is not None and prior.sha256 == sha256_hex(data):
            entry, status = self.archive.mark_checked(url) or prior, "not_modified"
        else:
            mtime = datetime.fromtimestamp(p.stat().st_mtime, UTC)
            headers = {"content-length": str(len(data)), "last-modified": format_datetime(mtime, usegmt=True)}
            entry, status = self.archive.put(data, url=url, headers=headers, http_status=None), "fetched"
        kind = sniff_kind(data)
        report_like = analyse_page(data, None, url, links="never").report_like if kind == "html" else None
        hop = _Hop(
            "ok",
            url,
            [url],
            entry=entry,
            final_url=url,
            changed=status == "fetched",
            downloaded=0,
            headers=dict(entry.headers),
        )
        return self._record(self._result(hop, status=status, kind=kind, report_like=report_like, attempts=1))

    def fetch_candidate(self, candidate: Candidate, agency: Agency, year: int | None = None) -> FetchResult:
        """Fetch one :class:`~sources.fetching.discover.Candidate` of ``agency`` (URL or local path)."""
        if candidate.kind == "path":
            return self.fetch_path(candidate.location)
        return self.fetch(candidate.location, agency.allowed_hosts, year=year, attachment=agency.attachment)
