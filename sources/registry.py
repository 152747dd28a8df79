"""The agency registry: a TOML file naming every agency, its oversight office and where its reports are.

Format (every key below is checked; an unknown key is an error)::

    [[oversight]]
    id = "meizhou"
    name = "梅州市政务公开办公室"
    recipients = ["gkb@meizhou.gov.cn"]

    [[agency]]
    id = "meizhou-rsj"                     # stable, unique
    name = "梅州市人力资源和社会保障局"
    region = "441400"                      # 行政区划代码, 6 (or 9/12) digits
    level = "city"                         # national | province | city | county | township
    oversight = "meizhou"                  # an [[oversight]] id (checked when the file has any)
    allowed_hosts = ["rsj.meizhou.gov.cn"] # hosts it may fetch from; "*.meizhou.gov.cn" = any subdomain
    attachment = "auto"                    # optional: auto | always | never follow a page's PDF/DOCX link
    [agency.reports]                       # a direct URL (or local path, or list of them) per year
    2023 = "http://rsj.meizhou.gov.cn/gk/2023.html"
    [agency.listing]                       # the 政府信息公开年报 column (url may be a list of pages)
    url = "http://rsj.meizhou.gov.cn/gk/ndbg/"
    title = "{year}年*年度报告"             # optional link-title pattern ({year} required) or "re:<regex>";
                                           # also spelt title_pattern / pattern (and selector as css)
    selector = "ul.list a"                 # optional CSS selector narrowing the links
    exclude = ["解读", "图解"]               # optional: skip links whose text has any of these (default shown)
    [agency.local]                         # a local file or folder (relative to the registry file)
    path = "reports/meizhou-rsj"
    glob = "*{year}*"                      # optional, default shown

An agency may combine several of ``reports`` / ``listing`` / ``local``; they are tried in file order.
Problems (TOML syntax, unknown or missing keys, bad values, duplicate ids, a URL whose host is not
allowed) are all collected and raised together as one :class:`RegistryError`, each naming the file,
the line and the entry, before anything is fetched.

:func:`discover` turns an agency and a year into the candidates to fetch; only a listing source needs
the network, through a fetcher (see :class:`ListingFetcher`, implemented by ``sources.fetch.Fetcher``).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sources.labels import simplify_phrases, to_simplified

if TYPE_CHECKING:  # pragma: no cover
    from sources.fetch import FetchResult

LEVELS = ("national", "province", "city", "county", "township")
ATTACHMENT_MODES = ("auto", "always", "never")
DEFAULT_TITLE = "{year}年*年度报告"
DEFAULT_GLOB = "*{year}*"
DEFAULT_EXCLUDE = ("解读", "图解")

_AGENCY_KEYS = {"id", "name", "region", "level", "oversight", "allowed_hosts", "attachment",
                "reports", "listing", "local"}
_AGENCY_REQUIRED = ("id", "name", "region", "level", "oversight")
_OVERSIGHT_KEYS = {"id", "name", "recipients"}
_LISTING_KEYS = {"url", "title", "selector", "exclude"}
# Accepted spellings of listing keys (one spelling per entry).
_LISTING_ALIASES = {"title_pattern": "title", "pattern": "title", "css": "selector"}
_LOCAL_KEYS = {"path", "glob"}
_TOP_KEYS = {"agency", "oversight"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_REGION = re.compile(r"^\d{6}(\d{3}|\d{6})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


# ============================================================================ errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a registry file: where (file, 1-based line, entry id) and what."""

    file: str
    line: int | None
    entry: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.entry}] {self.message}" if self.entry else f"{where}: {self.message}"


class RegistryError(Exception):
    """Raised by :func:`load_registry` with every :class:`Problem` found in the file."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# ============================================================================ model


@dataclass(frozen=True)
class Oversight:
    """An oversight office (政务公开办) that is told about its agencies' missing or faulty reports."""

    id: str
    name: str
    recipients: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class DirectSource:
    """A URL (or local path) per year, from ``[agency.reports]``; ``urls`` pairs a year with its locations."""

    urls: tuple[tuple[int, tuple[str, ...]], ...]
    kind: str = "direct"

    def for_year(self, year: int) -> tuple[str, ...]:
        """The locations configured for ``year`` (empty if none)."""
        return next((locs for y, locs in self.urls if y == year), ())


@dataclass(frozen=True)
class ListingSource:
    """A listing page (or pages) plus how to pick the report link for a year, from ``[agency.listing]``."""

    urls: tuple[str, ...]
    title: str = DEFAULT_TITLE
    selector: str | None = None
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    kind: str = "listing"


@dataclass(frozen=True)
class LocalSource:
    """A local file or folder plus a glob (``{year}`` substituted), from ``[agency.local]``."""

    path: Path
    glob: str = DEFAULT_GLOB
    kind: str = "local"


ReportSource = DirectSource | ListingSource | LocalSource


@dataclass(frozen=True)
class Agency:
    """One reporting agency and how its reports are found (``sources`` are tried in order)."""

    id: str
    name: str
    region: str
    level: str
    oversight: str
    allowed_hosts: tuple[str, ...]
    sources: tuple[ReportSource, ...]
    attachment: str = "auto"
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Registry:
    """A loaded, validated registry file."""

    path: str
    agencies: tuple[Agency, ...]
    oversight: tuple[Oversight, ...] = ()

    def agency(self, agency_id: str) -> Agency:
        """The agency with ``agency_id``; ``KeyError`` if there is none."""
        for a in self.agencies:
            if a.id == agency_id:
                return a
        raise KeyError(agency_id)

    def office(self, oversight_id: str) -> Oversight | None:
        """The oversight office with ``oversight_id``, or ``None`` if the file does not define it."""
        return next((o for o in self.oversight if o.id == oversight_id), None)

    def agencies_of(self, oversight_id: str) -> tuple[Agency, ...]:
        """The agencies overseen by ``oversight_id``."""
        return tuple(a for a in self.agencies if a.oversight == oversight_id)


# ============================================================================ host rules (no DNS)


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IPv4/IPv6 address literal (brackets allowed)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_listed(host: str, allowed_hosts: Sequence[str]) -> bool:
    """Whether ``host`` matches an ``allowed_hosts`` entry: exactly, or as a subdomain of ``*.domain``.

    IP literals match only an identical literal (no wildcards), compared as addresses.
    """
    host = host.strip("[]").lower().rstrip(".")
    if is_ip_literal(host):
        ip = ipaddress.ip_address(host)
        return any(is_ip_literal(a) and ipaddress.ip_address(a.strip("[]")) == ip for a in allowed_hosts)
    for allowed in allowed_hosts:
        allowed = allowed.lower().rstrip(".")
        if allowed.startswith("*.") and host.endswith(allowed[1:]):
            return True
        if host == allowed:
            return True
    return False


# ============================================================================ loading


@dataclass
class _Text:
    """The registry text, with the line spans of each ``[[agency]]`` / ``[[oversight]]`` block."""

    file: str
    lines: list[str]
    blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, file: str, text: str) -> _Text:
        lines = text.splitlines()
        blocks: dict[str, list[tuple[int, int]]] = {"agency": [], "oversight": []}
        current: tuple[str, int] | None = None
        header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
        for i, line in enumerate(lines):
            m = header.match(line)
            if not m:
                continue
            name = m.group(1).replace(" ", "").strip("\"'")
            array = line.lstrip().startswith("[[")
            if current and name.startswith(current[0] + "."):
                continue  # a sub-table of the current entry
            if current:
                blocks[current[0]].append((current[1], i))
                current = None
            if array and name in blocks:
                current = (name, i)
        if current:
            blocks[current[0]].append((current[1], len(lines)))
        return cls(file, lines, blocks)

    def block(self, kind: str, index: int) -> tuple[int, int] | None:
        spans = self.blocks.get(kind, [])
        return spans[index] if index < len(spans) else None

    def line_of(self, kind: str, index: int, key: str | None = None, table: str | None = None) -> int | None:
        """1-based line of entry ``index`` of ``kind`` (or of ``key`` in it, optionally in sub-table ``table``)."""
        span = self.block(kind, index)
        if span is None:
            return None
        start, end = span
        if table is not None:
            sub = re.compile(rf"^\s*\[\[?\s*{kind}\s*\.\s*[\"']?{re.escape(table)}[\"']?\s*\]")
            hit = next((i for i in range(start, end) if sub.match(self.lines[i])), None)
            if hit is None:
                return self._key_line(start, end, table) or start + 1
            start = hit
        if key is None:
            return start + 1
        return self._key_line(start, end, key) or start + 1

    def _key_line(self, start: int, end: int, key: str) -> int | None:
        pat = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]")
        for i in range(start + 1 if self.lines[start].lstrip().startswith("[") else start, end):
            if i > start and self.lines[i].lstrip().startswith("["):
                break
            if pat.match(self.lines[i]):
                return i + 1
        return None


class _Checker:
    """Collects problems while turning the parsed TOML into model objects."""

    def __init__(self, text: _Text, base_dir: Path):
        self.text = text
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def add(self, line: int | None, entry: str | None, message: str) -> None:
        self.problems.append(Problem(self.text.file, line, entry, message))

    # ---------------------------------------------------------------- oversight
    def oversight(self, raw: Any, index: int) -> Oversight | None:
        line = self.text.line_of("oversight", index)
        if not isinstance(raw, dict):
            self.add(line, None, "[[oversight]] must be a table")
            return None
        entry = raw.get("id") if isinstance(raw.get("id"), str) else f"oversight #{index + 1}"
        for key in sorted(set(raw) - _OVERSIGHT_KEYS):
            self.add(self.text.line_of("oversight", index, key), entry, f"unknown key {key!r}")
        ok = self._required_str(raw, ("id", "name"), "oversight", index, entry)
        recipients = raw.get("recipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            self.add(self.text.line_of("oversight", index, "recipients"), entry,
                     "recipients must be a list of e-mail addresses")
            return None
        for r in recipients:
            if not _EMAIL.match(r):
                self.add(self.text.line_of("oversight", index, "recipients"), entry,
                         f"recipient {r!r} is not an e-mail address")
                ok = False
        if not ok:
            return None
        return Oversight(raw["id"], raw["name"], tuple(recipients), line)

    def _required_str(self, raw: dict, keys: Sequence[str], kind: str, index: int, entry: str) -> bool:
        ok = True
        for key in keys:
            value = raw.get(key)
            if value is None:
                self.add(self.text.line_of(kind, index), entry, f"missing required key {key!r}")
                ok = False
            elif not isinstance(value, str) or not value.strip():
                self.add(self.text.line_of(kind, index, key), entry, f"{key!r} must be a non-empty string")
                ok = False
        return ok

    # ---------------------------------------------------------------- agency
    def agency(self, raw: Any, index: int) -> Agency | None:
        line = self.text.line_of("agency", index)
        if not isinstance(raw, dict):
            self.add(line, None, "[[agency]] must be a table")
            return None
        if isinstance(raw.get("region"), int):
            raw = {**raw, "region": str(raw["region"])}
        entry = raw.get("id") if isinstance(raw.get("id"), str) else f"agency #{index + 1}"
        before = len(self.problems)
        for key in sorted(set(raw) - _AGENCY_KEYS):
            self.add(self.text.line_of("agency", index, key), entry, f"unknown key {key!r}")
        self._required_str(raw, _AGENCY_REQUIRED, "agency", index, entry)
        self._agency_values(raw, index, entry)
        hosts = self._hosts(raw, index, entry)
        sources = self._sources(raw, index, entry, hosts)
        if len(self.problems) > before:
            return None
        return Agency(
            id=raw["id"], name=raw["name"], region=raw["region"], level=raw["level"],
            oversight=raw["oversight"], allowed_hosts=tuple(hosts or ()), sources=tuple(sources),
            attachment=raw.get("attachment", "auto"), file=self.text.file, line=line,
        )

    def _agency_values(self, raw: dict, index: int, entry: str) -> None:
        at = self.text.line_of
        if isinstance(raw.get("id"), str) and not _ID.match(raw["id"]):
            self.add(at("agency", index, "id"), entry,
                     "id must be lower-case letters, digits, '.', '_' or '-'")
        if isinstance(raw.get("region"), str) and not _REGION.match(raw["region"]):
            self.add(at("agency", index, "region"), entry, f"region {raw['region']!r} is not a 6-digit code")
        if isinstance(raw.get("level"), str) and raw["level"] not in LEVELS:
            self.add(at("agency", index, "level"), entry,
                     f"level {raw['level']!r} is not one of {', '.join(LEVELS)}")
        if raw.get("attachment", "auto") not in ATTACHMENT_MODES:
            self.add(at("agency", index, "attachment"), entry,
                     f"attachment must be one of {', '.join(ATTACHMENT_MODES)}")

    def _hosts(self, raw: dict, index: int, entry: str) -> list[str] | None:
        hosts = raw.get("allowed_hosts")
        if hosts is None:
            return None
        line = self.text.line_of("agency", index, "allowed_hosts")
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            self.add(line, entry, "allowed_hosts must be a list of host names")
            return None
        out = []
        for h in hosts:
            h = h.strip().lower()
            if not (is_ip_literal(h) or _HOST.match(h)):
                self.add(line, entry, f"allowed_hosts entry {h!r} is not a host name or IP address "
                                      "(no scheme, port or path)")
            out.append(h)
        return out

    # ---------------------------------------------------------------- sources
    def _sources(self, raw: dict, index: int, entry: str, hosts: list[str] | None) -> list[ReportSource]:
        sources: list[ReportSource] = []
        for key in raw:
            if key == "reports":
                src = self._direct(raw[key], index, entry)
            elif key == "listing":
                src = self._listing(raw[key], index, entry)
            elif key == "local":
                src = self._local(raw[key], index, entry)
            else:
                continue
            if src is not None:
                sources.append(src)
        if not any(k in raw for k in ("reports", "listing", "local")):
            self.add(self.text.line_of("agency", index), entry,
                     "no report source: give [agency.reports], [agency.listing] or [agency.local]")
        self._check_urls(sources, index, entry, hosts)
        return sources

    def _check_urls(self, sources: list[ReportSource], index: int, entry: str, hosts: list[str] | None) -> None:
        urls = [(u, "listing") for s in sources if isinstance(s, ListingSource) for u in s.urls]
        urls += [(u, "reports") for s in sources if isinstance(s, DirectSource)
                 for _, locs in s.urls for u in locs if _is_url(u)]
        if urls and hosts is None:
            self.add(self.text.line_of("agency", index), entry,
                     "missing required key 'allowed_hosts' (the hosts its reports may be fetched from)")
            return
        for url, table in urls:
            host = urlsplit(url).hostname or ""
            if hosts is not None and not host_listed(host, hosts):
                self.add(self.text.line_of("agency", index, table=table), entry,
                         f"URL {url} is on host {host!r}, which is not in allowed_hosts")

    def _direct(self, raw: Any, index: int, entry: str) -> DirectSource | None:
        line = self.text.line_of("agency", index, table="reports")
        if not isinstance(raw, dict) or not raw:
            self.add(line, entry, "[agency.reports] must map years to URLs, e.g. 2023 = \"https://…\"")
            return None
        pairs: list[tuple[int, tuple[str, ...]]] = []
        for key, value in raw.items():
            kline = self.text.line_of("agency", index, key, table="reports")
            if not (key.isdigit() and 1990 <= int(key) <= 2100):
                self.add(kline, entry, f"[agency.reports] key {key!r} is not a year")
                continue
            locs = [value] if isinstance(value, str) else value
            if not isinstance(locs, list) or not locs or not all(isinstance(v, str) and v.strip() for v in locs):
                self.add(kline, entry, f"missing URL for {key}: give a URL, a path or a list of them")
                continue
            for loc in locs:
                self._check_location(loc, kline, entry)
            pairs.append((int(key), tuple(self._resolve_location(v.strip()) for v in locs)))
        return DirectSource(tuple(pairs))

    def _check_location(self, loc: str, line: int | None, entry: str) -> None:
        if "://" in loc and urlsplit(loc).scheme.lower() not in ("http", "https", "file"):
            self.add(line, entry, f"{loc!r}: only http, https and file URLs are supported")
        elif _is_url(loc) and not urlsplit(loc).hostname:
            self.add(line, entry, f"{loc!r} has no host")

    def _resolve_location(self, loc: str) -> str:
        if _is_url(loc):
            return loc
        if loc.startswith("file://"):
            return str(Path(urlsplit(loc).path))
        path = Path(loc).expanduser()
        return str(path if path.is_absolute() else (self.base_dir / path))

    def _listing(self, raw: Any, index: int, entry: str) -> ListingSource | None:
        line = self.text.line_of("agency", index, table="listing")
        if not isinstance(raw, dict):
            self.add(line, entry, "[agency.listing] must be a table with url and title")
            return None
        raw = self._listing_aliases(raw, index, entry)
        for key in sorted(set(raw) - _LISTING_KEYS):
            self.add(self.text.line_of("agency", index, key, table="listing"), entry,
                     f"unknown key {key!r} in [agency.listing]")
        urls = raw.get("url")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not isinstance(urls, list) or not all(isinstance(u, str) and _is_url(u) for u in urls):
            self.add(self.text.line_of("agency", index, "url", table="listing"), entry,
                     "missing URL: [agency.listing] needs url = \"http(s)://…\" (or a list of them)")
            return None
        title = raw.get("title", DEFAULT_TITLE)
        tline = self.text.line_of("agency", index, "title", table="listing")
        if not isinstance(title, str) or "{year}" not in title:
            self.add(tline, entry, "listing title pattern must be a string containing {year}")
            return None
        try:
            title_regex(title, 2000)
        except re.error as exc:
            self.add(tline, entry, f"listing title pattern is not a valid regular expression: {exc}")
            return None
        selector = raw.get("selector")
        if selector is not None and not self._selector_ok(selector):
            self.add(self.text.line_of("agency", index, "selector", table="listing"), entry,
                     f"selector {selector!r} is not a valid CSS selector")
            return None
        exclude = raw.get("exclude", list(DEFAULT_EXCLUDE))
        if not isinstance(exclude, list) or not all(isinstance(w, str) and w.strip() for w in exclude):
            self.add(self.text.line_of("agency", index, "exclude", table="listing"), entry,
                     "exclude must be a list of words")
            return None
        return ListingSource(tuple(urls), title, selector, tuple(normalize_title(w) for w in exclude))

    def _listing_aliases(self, raw: dict[str, Any], index: int, entry: str) -> dict[str, Any]:
        """``raw`` with alias keys (``title_pattern``, ``pattern``, ``css``) renamed; two spellings is a problem."""
        out: dict[str, Any] = {}
        for key, value in raw.items():
            name = _LISTING_ALIASES.get(key, key)
            if name in out:
                self.add(self.text.line_of("agency", index, key, table="listing"), entry,
                         f"{key!r} repeats {name!r} in [agency.listing]")
            out[name] = value
        return out

    @staticmethod
    def _selector_ok(selector: Any) -> bool:
        import soupsieve

        if not isinstance(selector, str) or not selector.strip():
            return False
        try:
            soupsieve.compile(selector)
        except Exception:  # soupsieve raises SelectorSyntaxError and others
            return False
        return True

    def _local(self, raw: Any, index: int, entry: str) -> LocalSource | None:
        line = self.text.line_of("agency", index, table="local")
        if not isinstance(raw, dict):
            self.add(line, entry, "[agency.local] must be a table with path (and glob)")
            return None
        for key in sorted(set(raw) - _LOCAL_KEYS):
            self.add(self.text.line_of("agency", index, key, table="local"), entry,
                     f"unknown key {key!r} in [agency.local]")
        path = raw.get("path")
        pline = self.text.line_of("agency", index, "path", table="local")
        if not isinstance(path, str) or not path.strip():
            self.add(pline, entry, "missing path: [agency.local] needs path = \"folder or file\"")
            return None
        resolved = Path(self._resolve_location(path.strip()))
        if not resolved.exists():
            self.add(pline, entry, f"local path {resolved} does not exist")
            return None
        glob = raw.get("glob", DEFAULT_GLOB)
        if not isinstance(glob, str) or not glob.strip():
            self.add(self.text.line_of("agency", index, "glob", table="local"), entry,
                     "glob must be a non-empty string")
            return None
        return LocalSource(resolved, glob)

    # ---------------------------------------------------------------- whole file
    def registry(self, data: dict[str, Any], path: str) -> Registry:
        for key in sorted(set(data) - _TOP_KEYS):
            self.add(self._top_line(key), None, f"unknown top-level key {key!r} (expected [[agency]], [[oversight]])")
        raw_offices, raw_agencies = _as_list(data.get("oversight")), _as_list(data.get("agency"))
        offices = [o for i, raw in enumerate(raw_offices) if (o := self.oversight(raw, i))]
        agencies = [(i, a) for i, raw in enumerate(raw_agencies) if (a := self.agency(raw, i))]
        self._duplicates("oversight", raw_offices)
        self._duplicates("agency", raw_agencies)
        known = {r.get("id") for r in raw_offices if isinstance(r, dict)}
        for i, raw in enumerate(raw_agencies):
            ref = raw.get("oversight") if isinstance(raw, dict) else None
            if raw_offices and isinstance(ref, str) and ref not in known:
                entry = raw.get("id") if isinstance(raw.get("id"), str) else f"agency #{i + 1}"
                self.add(self.text.line_of("agency", i, "oversight"), entry,
                         f"oversight {ref!r} is not an [[oversight]] id")
        if not raw_agencies:
            self.add(None, None, "no [[agency]] entries")
        return Registry(path, tuple(a for _, a in agencies), tuple(offices))

    def _duplicates(self, kind: str, raws: list[Any]) -> None:
        seen: dict[str, int] = {}
        for i, raw in enumerate(raws):
            ident = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(ident, str):
                continue
            if ident in seen:
                first = self.text.line_of(kind, seen[ident])
                self.add(self.text.line_of(kind, i, "id"), ident,
                         f"duplicate {kind} id {ident!r} (first defined at line {first})")
            else:
                seen[ident] = i

    def _top_line(self, key: str) -> int | None:
        pat = re.compile(rf"^\s*(\[+\s*)?[\"']?{re.escape(key)}[\"']?\s*[\]=.]")
        return next((i + 1 for i, line in enumerate(self.text.lines) if pat.match(line)), None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_url(loc: str) -> bool:
    return urlsplit(loc).scheme.lower() in ("http", "https")


def parse_registry(text: str, file: str = "<registry>", base_dir: str | Path | None = None) -> Registry:
    """A validated :class:`Registry` from TOML ``text``; relative local paths resolve against ``base_dir``.

    Raises :class:`RegistryError` listing every problem (with ``file`` and line) if any.
    """
    lines = _Text.of(file, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RegistryError([Problem(file, int(m.group(1)) if m else None, None,
                                     f"invalid TOML: {exc}")]) from None
    checker = _Checker(lines, Path(base_dir) if base_dir is not None else Path.cwd())
    registry = checker.registry(data, file)
    if checker.problems:
        raise RegistryError(sorted(checker.problems, key=lambda p: (p.line or 0, p.message)))
    return registry


def load_registry(path: str | Path) -> Registry:
    """The validated :class:`Registry` in the TOML file at ``path`` (relative local paths resolve beside it).

    Raises :class:`RegistryError` (every problem with file, line and entry) and ``OSError`` if unreadable.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    return parse_registry(text, str(path), path.resolve().parent)


# ============================================================================ discovery

_CN_DIGITS = "〇一二三四五六七八九"


def year_pattern(year: int) -> str:
    """Regex alternatives for ``year`` as printed: 2023, 二〇二三, 二零二三 (fullwidth digits are NFKC'd)."""
    digits = str(year)
    cn = "".join(_CN_DIGITS[int(d)] for d in digits)
    forms = [digits, cn, cn.replace("〇", "零")]
    return r"(?<![\d〇零一二三四五六七八九])(?:" + "|".join(dict.fromkeys(forms)) + r")(?![\d])"


def normalize_title(text: str) -> str:
    """Link text as compared with title patterns: NFKC, simplified script and phrases, whitespace removed."""
    text = unicodedata.normalize("NFKC", simplify_phrases(to_simplified(text)))
    return re.sub(r"\s+", "", text)


def title_regex(pattern: str, year: int) -> re.Pattern[str]:
    """The compiled search regex of a link-title pattern for ``year``.

    ``"re:<regex>"`` is a regular expression with ``{year}`` substituted; otherwise the pattern is
    literal text where ``{year}`` is the year (Arabic or Chinese numerals) and ``*``, ``…`` or ``...``
    stand for any text.  Script and whitespace are normalised on both sides.
    """
    year_re = year_pattern(year)
    if pattern.startswith("re:"):
        return re.compile(normalize_title(pattern[3:]).replace("{year}", year_re))
    parts = re.split(r"(\{year\}|\*|…|\.\.\.)", normalize_title(pattern))
    out = []
    for part in parts:
        if part == "{year}":
            out.append(year_re)
        elif part in ("*", "…", "..."):
            out.append(".*?")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


@dataclass(frozen=True)
class Candidate:
    """One place a report may be: ``kind`` is ``url`` or ``path``; ``source`` the registry source kind.

    For a listing, ``via`` is the listing page and ``title`` the link text that matched.
    """

    kind: str
    location: str
    source: str
    via: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Discovery:
    """The candidates for one agency and year, plus the listing fetches made and notes on what failed."""

    agency_id: str
    year: int
    candidates: tuple[Candidate, ...]
    listing_fetches: tuple[FetchResult, ...] = ()
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def __len__(self) -> int:
        return len(self.candidates)


class ListingFetcher(Protocol):
    """What :func:`discover` needs to read a listing page (``sources.fetch.Fetcher`` provides it)."""

    def fetch_page(self, url: str, allowed_hosts: Sequence[str]) -> tuple[FetchResult, bytes | None]:
        """Fetch ``url`` as a plain page (no attachment following); the result and its archived bytes."""
        ...


def _location_candidate(loc: str) -> Candidate:
    return Candidate("url" if _is_url(loc) else "path", loc, "direct")


def _local_candidates(src: LocalSource, year: int) -> list[Candidate]:
    pattern = src.glob.replace("{year}", str(year))
    if src.path.is_file():
        paths = [src.path] if src.path.match(pattern) else []
    else:
        paths = sorted(p for p in src.path.glob(pattern) if p.is_file() and not p.name.startswith("."))
    return [Candidate("path", str(p), "local") for p in paths]


def pick_links(
    links: Sequence[tuple[str, str]], title: str, year: int, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> list[tuple[str, str]]:
    """The ``(url, text)`` links whose text matches the title pattern for ``year`` and contains none of
    the ``exclude`` words (解读, 图解 by default), deduplicated, in page order."""
    regex = title_regex(title, year)
    seen: set[str] = set()
    out = []
    for url, text in links:
        norm = normalize_title(text)
        if url in seen or any(w in norm for w in exclude):
            continue
        if regex.search(norm):
            seen.add(url)
            out.append((url, text))
    return out


def _listing_candidates(
    src: ListingSource, agency: Agency, year: int, fetcher: ListingFetcher
) -> tuple[list[Candidate], list[FetchResult], list[str]]:
    from sources.fetch import page_links

    found: list[Candidate] = []
    fetches: list[FetchResult] = []
    notes: list[str] = []
    for url in src.urls:
        result, body = fetcher.fetch_page(url, agency.allowed_hosts)
        fetches.append(result)
        if body is None:
            notes.append(f"listing {url}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
            continue
        links = page_links(body, result.content_type, result.final_url or url, src.selector)
        picked = pick_links(links, src.title, year, src.exclude)
        if not picked:
            notes.append(f"listing {url}: no link matches {src.title!r} for {year} ({len(links)} links)")
        found += [Candidate("url", link, "listing", via=url, title=text) for link, text in picked]
    return found, fetches, notes


def discover(agency: Agency, year: int, fetcher: ListingFetcher | None = None) -> Discovery:
    """The candidate URLs/paths for ``agency``'s report of ``year``, in source order, without duplicates.

    Direct and local sources need no network.  Listing pages are fetched through ``fetcher`` (their
    host rules apply and they are archived); without a fetcher a listing source only adds a note.
    """
    candidates: list[Candidate] = []
    fetches: list[FetchResult] = []
    notes: list[str] = []
    for src in agency.sources:
        if isinstance(src, DirectSource):
            locs = src.for_year(year)
            candidates += [_location_candidate(loc) for loc in locs]
            if not locs:
                notes.append(f"no URL configured for {year} in [agency.reports]")
        elif isinstance(src, LocalSource):
            found_local = _local_candidates(src, year)
            candidates += found_local
            if not found_local:
                notes.append(f"no file matching {src.glob.replace('{year}', str(year))!r} in {src.path}")
        elif fetcher is None:
            notes.append(f"listing {', '.join(src.urls)} not read: no fetcher given")
        else:
            found, listing_fetches, listing_notes = _listing_candidates(src, agency, year, fetcher)
            candidates += found
            fetches += listing_fetches
            notes += listing_notes
    unique: dict[tuple[str, str], Candidate] = {}
    for c in candidates:
        unique.setdefault((c.kind, c.location), c)
    return Discovery(agency.id, year, tuple(unique.values()), tuple(fetches), tuple(notes))
