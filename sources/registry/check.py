"""Reading and validating a registry file: every problem with its file, line and entry, in one error."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sources.registry.model import (
    _AGENCY_KEYS,
    _AGENCY_REQUIRED,
    _EMAIL,
    _HOST,
    _ID,
    _LISTING_ALIASES,
    _LISTING_KEYS,
    _LOCAL_KEYS,
    _OVERSIGHT_KEYS,
    _REGION,
    _TOP_KEYS,
    ATTACHMENT_MODES,
    DEFAULT_EXCLUDE,
    DEFAULT_GLOB,
    DEFAULT_TITLE,
    LEVELS,
    Agency,
    DirectSource,
    ListingSource,
    LocalSource,
    Oversight,
    Problem,
    Registry,
    RegistryError,
    ReportSource,
    host_listed,
    is_ip_literal,
    is_url,
)
from sources.registry.titles import normalize_title, title_regex

if TYPE_CHECKING:  # pragma: no cover
    pass


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
        raw_id = raw.get("id")
        entry = raw_id if isinstance(raw_id, str) else f"oversight #{index + 1}"
        for key in sorted(set(raw) - _OVERSIGHT_KEYS):
            self.add(self.text.line_of("oversight", index, key), entry, f"unknown key {key!r}")
        ok = self._required_str(raw, ("id", "name"), "oversight", index, entry)
        recipients = raw.get("recipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            self.add(
                self.text.line_of("oversight", index, "recipients"),
                entry,
                "recipients must be a list of e-mail addresses",
            )
            return None
        for r in recipients:
            if not _EMAIL.match(r):
                self.add(
                    self.text.line_of("oversight", index, "recipients"),
                    entry,
                    f"recipient {r!r} is not an e-mail address",
                )
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
            id=raw["id"],
            name=raw["name"],
            region=raw["region"],
            level=raw["level"],
            oversight=raw["oversight"],
            allowed_hosts=tuple(hosts or ()),
            sources=tuple(sources),
            attachment=raw.get("attachment", "auto"),
            file=self.text.file,
            line=line,
        )

    def _agency_values(self, raw: dict, index: int, entry: str) -> None:
        at = self.text.line_of
        if isinstance(raw.get("id"), str) and not _ID.match(raw["id"]):
            self.add(at("agency", index, "id"), entry, "id must be lower-case letters, digits, '.', '_' or '-'")
        if isinstance(raw.get("region"), str) and not _REGION.match(raw["region"]):
            self.add(at("agency", index, "region"), entry, f"region {raw['region']!r} is not a 6-digit code")
        if isinstance(raw.get("level"), str) and raw["level"] not in LEVELS:
            self.add(at("agency", index, "level"), entry, f"level {raw['level']!r} is not one of {', '.join(LEVELS)}")
        if raw.get("attachment", "auto") not in ATTACHMENT_MODES:
            self.add(
                at("agency", index, "attachment"), entry, f"attachment must be one of {', '.join(ATTACHMENT_MODES)}"
            )

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
                self.add(
                    line, entry, f"allowed_hosts entry {h!r} is not a host name or IP address (no scheme, port or path)"
                )
            out.append(h)
        return out

    # ---------------------------------------------------------------- sources
    def _sources(self, raw: dict, index: int, entry: str, hosts: list[str] | None) -> list[ReportSource]:
        sources: list[ReportSource] = []
        for key in raw:
            src: ReportSource | None
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
            self.add(
                self.text.line_of("agency", index),
                entry,
                "no report source: give [agency.reports], [agency.listing] or [agency.local]",
            )
        self._check_urls(sources, index, entry, hosts)
        return sources

    def _check_urls(self, sources: list[ReportSource], index: int, entry: str, hosts: list[str] | None) -> None:
        urls = [(u, "listing") for s in sources if isinstance(s, ListingSource) for u in s.urls]
        urls += [
            (u, "reports")
            for s in sources
            if isinstance(s, DirectSource)
            for _, locs in s.urls
            for u in locs
            if is_url(u)
        ]
        if urls and hosts is None:
            self.add(
                self.text.line_of("agency", index),
                entry,
                "missing required key 'allowed_hosts' (the hosts its reports may be fetched from)",
            )
            return
        for url, table in urls:
            host = urlsplit(url).hostname or ""
            if hosts is not None and not host_listed(host, hosts):
                self.add(
                    self.text.line_of("agency", index, table=table),
                    entry,
                    f"URL {url} is on host {host!r}, which is not in allowed_hosts",
                )

    def _direct(self, raw: Any, index: int, entry: str) -> DirectSource | None:
        line = self.text.line_of("agency", index, table="reports")
        if not isinstance(raw, dict) or not raw:
            self.add(line, entry, '[agency.reports] must map years to URLs, e.g. 2023 = "https://…"')
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
        elif is_url(loc) and not urlsplit(loc).hostname:
            self.add(line, entry, f"{loc!r} has no host")

    def _resolve_location(self, loc: str) -> str:
        if is_url(loc):
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
            self.add(
                self.text.line_of("agency", index, key, table="listing"),
                entry,
                f"unknown key {key!r} in [agency.listing]",
            )
        urls = raw.get("url")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not isinstance(urls, list) or not all(isinstance(u, str) and is_url(u) for u in urls):
            self.add(
                self.text.line_of("agency", index, "url", table="listing"),
                entry,
                'missing URL: [agency.listing] needs url = "http(s)://…" (or a list of them)',
            )
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
            self.add(
                self.text.line_of("agency", index, "selector", table="listing"),
                entry,
                f"selector {selector!r} is not a valid CSS selector",
            )
            return None
        exclude = raw.get("exclude", list(DEFAULT_EXCLUDE))
        if not isinstance(exclude, list) or not all(isinstance(w, str) and w.strip() for w in exclude):
            self.add(
                self.text.line_of("agency", index, "exclude", table="listing"), entry, "exclude must be a list of words"
            )
            return None
        return ListingSource(tuple(urls), title, selector, tuple(normalize_title(w) for w in exclude))

    def _listing_aliases(self, raw: dict[str, Any], index: int, entry: str) -> dict[str, Any]:
        """``raw`` with alias keys (``title_pattern``, ``pattern``, ``css``) renamed; two spellings is a problem."""
        out: dict[str, Any] = {}
        for key, value in raw.items():
            name = _LISTING_ALIASES.get(key, key)
            if name in out:
                self.add(
                    self.text.line_of("agency", index, key, table="listing"),
                    entry,
                    f"{key!r} repeats {name!r} in [agency.listing]",
                )
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
            self.add(
                self.text.line_of("agency", index, key, table="local"), entry, f"unknown key {key!r} in [agency.local]"
            )
        path = raw.get("path")
        pline = self.text.line_of("agency", index, "path", table="local")
        if not isinstance(path, str) or not path.strip():
            self.add(pline, entry, 'missing path: [agency.local] needs path = "folder or file"')
            return None
        resolved = Path(self._resolve_location(path.strip()))
        if not resolved.exists():
            self.add(pline, entry, f"local path {resolved} does not exist")
            return None
        glob = raw.get("glob", DEFAULT_GLOB)
        if not isinstance(glob, str) or not glob.strip():
            self.add(
                self.text.line_of("agency", index, "glob", table="local"), entry, "glob must be a non-empty string"
            )
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
                self.add(
                    self.text.line_of("agency", i, "oversight"), entry, f"oversight {ref!r} is not an [[oversight]] id"
                )
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
                self.add(
                    self.text.line_of(kind, i, "id"),
                    ident,
                    f"duplicate {kind} id {ident!r} (first defined at line {first})",
                )
            else:
                seen[ident] = i

    def _top_line(self, key: str) -> int | None:
        pat = re.compile(rf"^\s*(\[+\s*)?[\"']?{re.escape(key)}[\"']?\s*[\]=.]")
        return next((i + 1 for i, line in enumerate(self.text.lines) if pat.match(line)), None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_registry(text: str, file: str = "<registry>", base_dir: str | Path | None = None) -> Registry:
    """A validated :class:`Registry` from TOML ``text``; relative local paths resolve against ``base_dir``.

    Raises :class:`RegistryError` listing every problem (with ``file`` and line) if any.
    """
    lines = _Text.of(file, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RegistryError([Problem(file, int(m.group(1)) if m else None, None, f"invalid TOML: {exc}")]) from None
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
