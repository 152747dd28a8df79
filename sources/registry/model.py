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
the network, through a fetcher (see :class:`ListingFetcher`, implemented by ``sources.fetching.fetch.Fetcher``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    pass

LEVELS = ("national", "province", "city", "county", "township")
ATTACHMENT_MODES = ("auto", "always", "never")
DEFAULT_TITLE = "{year}年*年度报告"
DEFAULT_GLOB = "*{year}*"
DEFAULT_EXCLUDE = ("解读", "图解")

_AGENCY_KEYS = {
    "id",
    "name",
    "region",
    "level",
    "oversight",
    "allowed_hosts",
    "attachment",
    "reports",
    "listing",
    "local",
}
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


def is_url(loc: str) -> bool:
    return urlsplit(loc).scheme.lower() in ("http", "https")
