"""Mail settings of the data-quality report: ``[smtp]``, read through ``dlt.config`` / ``dlt.secrets``.

Per key, first match wins (:mod:`warehouse.config`): the environment the dlt way (``SMTP__HOST``,
``SMTP__PORT``, ``SMTP__SENDER``, ``SMTP__USERNAME``, ``SMTP__PASSWORD``, ``SMTP__SECURITY``,
``SMTP__TIMEOUT``, ``SMTP__CA_FILE``, ``SMTP__OUTBOX_DIR``), then ``[smtp]`` in ``.dlt/secrets.toml``
(meant for the password), then ``[smtp]`` in ``.dlt/config.toml``, then the defaults below.  Example
(``.dlt/secrets.toml.example`` has all of them)::

    [smtp]
    host = "smtp.example.gov.cn"
    port = 587
    security = "starttls"        # starttls | ssl | none
    sender = "xxgk@example.gov.cn"
    username = "xxgk@example.gov.cn"
    # password: in .dlt/secrets.toml ([smtp] password = "...") or SMTP__PASSWORD

With no host configured (the embedded default) nothing is sent: every message goes to the outbox
folder (default ``outbox`` beside the warehouse file, i.e. ``warehouse/outbox``).  Relative paths
(``ca_file``, ``outbox_dir``) are relative to the current directory when given in the environment,
to the project directory when written in ``.dlt/``.  The password is held in a field excluded from
``repr`` and is never printed or logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from warehouse.config import WarehouseConfig, project_dir, secret, setting

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_KEYS = ("host", "port", "sender", "username", "password", "security", "timeout", "ca_file", "outbox_dir")


class SettingsError(ValueError):
    """A mail setting has a value that cannot be used (one line naming the key)."""


@dataclass(frozen=True)
class SmtpSettings:
    """Resolved SMTP settings; ``host is None`` means "not configured: write to the outbox only"."""

    host: str | None = None
    port: int = 587
    security: str = "starttls"
    sender: str = "xxgk@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None
    outbox_dir: Path = Path("warehouse/outbox")

    @property
    def configured(self) -> bool:
        """Whether a server is configured (otherwise messages are only written to the outbox)."""
        return bool(self.host)

    def describe(self) -> str:
        """A one-line description for logs and run summaries (never includes the password)."""
        if not self.configured:
            return "SMTP 未配置（邮件写入发件箱）"
        login = f"，登录用户 {self.username}" if self.username else ""
        return f"SMTP {self.host}:{self.port}（{self.security}{login}）"

    def with_outbox(self, outbox_dir: Path) -> SmtpSettings:
        """A copy writing to another outbox folder."""
        return replace(self, outbox_dir=outbox_dir)


def _raw_values(root: Path | None) -> dict[str, Any]:
    """Key → raw value of ``[smtp]`` (the password through ``dlt.secrets``, the rest through ``dlt.config``)."""
    values = {key: setting(f"smtp.{key}", root) for key in _KEYS if key != "password"}
    values["password"] = secret("smtp.password", root)
    return values


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _security(value: Any) -> str:
    mode = (_text(value) or "starttls").lower()
    if mode not in SECURITY_MODES:
        raise SettingsError(f"smtp.security must be one of {', '.join(SECURITY_MODES)}, not {mode!r}")
    return mode


def _port(value: Any, security: str) -> int:
    if _text(value) is None:
        return DEFAULT_PORTS[security]
    try:
        port = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"smtp.port must be a number, not {value!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(f"smtp.port out of range: {port}")
    return port


def _path(value: Any, key: str, root: Path | None) -> Path | None:
    text = _text(value)
    if text is None:
        return None
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    return (Path.cwd() if f"SMTP__{key.upper()}" in os.environ else (root or project_dir())) / path


def load_settings(warehouse: WarehouseConfig | None = None, root: Path | None = None) -> SmtpSettings:
    """The :class:`SmtpSettings` in force (see module docstring), with ``.dlt/`` of ``root`` (default: the
    project's); the outbox defaults to ``outbox`` beside the warehouse file of ``warehouse``."""
    raw = _raw_values(root)
    security = _security(raw.get("security"))
    cfg = warehouse or WarehouseConfig.resolve()
    return SmtpSettings(
        host=_text(raw.get("host")),
        port=_port(raw.get("port"), security),
        security=security,
        sender=_text(raw.get("sender")) or _text(raw.get("username")) or "xxgk@localhost",
        username=_text(raw.get("username")),
        password=None if raw.get("password") in (None, "") else str(raw["password"]),
        timeout=float(raw.get("timeout") or 30.0),
        ca_file=_path(raw.get("ca_file"), "ca_file", root),
        outbox_dir=_path(raw.get("outbox_dir"), "outbox_dir", root) or cfg.db_path.parent / "outbox",
    )
