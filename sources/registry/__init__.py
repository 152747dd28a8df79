"""The agency registry: which agencies report, where their reports are published, who oversees them.

:mod:`sources.registry.model` holds the frozen model, :mod:`sources.registry.check` reads and validates a
TOML file (every problem with its line), :mod:`sources.registry.titles` the report-title patterns.
"""

from sources.registry.check import load_registry, parse_registry
from sources.registry.model import (
    Agency,
    DirectSource,
    ListingSource,
    LocalSource,
    Oversight,
    Problem,
    Registry,
    RegistryError,
    host_listed,
    is_ip_literal,
)
from sources.registry.titles import normalize_title, title_regex, year_pattern

__all__ = [
    "Agency",
    "DirectSource",
    "ListingSource",
    "LocalSource",
    "Oversight",
    "Problem",
    "Registry",
    "RegistryError",
    "host_listed",
    "is_ip_literal",
    "load_registry",
    "normalize_title",
    "parse_registry",
    "title_regex",
    "year_pattern",
]
