"""The report as a MIME message, sent by SMTP, or kept in an outbox folder until it can be.

* :func:`build_message` — ``multipart/mixed``: ``multipart/alternative`` (plain text, and
  ``multipart/related`` with the HTML and its inline chart images referenced by ``cid:``) and the
  XLSX attachment.  Headers are built with :mod:`email.headerregistry` (UTF-8 names and subject are
  RFC 2047/2231-encoded); every text that goes into a header is stripped of CR/LF and control
  characters first and every address is checked, so an agency or office name cannot add headers.
* :func:`send` — one SMTP session: ``ssl`` (implicit TLS), ``starttls`` or ``none``, then login
  when a username is set.  The password is only handed to ``smtplib``; it is never logged, and
  removed from any error text kept.
* :func:`deliver` — send, or when no server is configured or the server is down or refuses, write
  the message to ``<outbox>/pending/`` (``.eml`` + ``.json`` with the envelope and the error);
  :func:`resend_pending` retries those (next run, or ``xxgk report --resend``).  Sent messages
  are kept in ``<outbox>/sent/``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flows.report.settings import SmtpSettings

log = logging.getLogger(__name__)

SENDER_NAME = "政务公开数据质量报告（xxgk）"
XLSX_SUBTYPE = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_FILE_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
SEND_ERRORS = (OSError, smtplib.SMTPException, ssl.SSLError)


class AddressError(ValueError):
    """An e-mail address that cannot be used (one line naming it)."""


# ------------------------------------------------------------------------------------------ headers


def clean_header(text: str, limit: int = 200) -> str:
    """``text`` safe for a header: CR, LF and other control characters replaced by a space, trimmed."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text or "")).strip()[:limit]


def safe_filename(text: str, limit: int = 120) -> str:
    """``text`` usable as a file name (attachment and folder output): no path or control characters."""
    return _FILE_UNSAFE.sub("_", clean_header(text, limit)).strip(" ._") or "report"


def mailbox(addr: str, display_name: str = "") -> Address:
    """An :class:`Address` for ``addr`` (checked: exactly one plain ``local@domain``, nothing else)."""
    spec = (addr or "").strip()
    if not _ADDR.match(spec):
        raise AddressError(f"not a usable e-mail address: {clean_header(spec, 80)!r}")
    local, _, domain = spec.rpartition("@")
    return Address(display_name=clean_header(display_name, 80), username=local, domain=domain)


def mailboxes(addrs: Iterable[str], display_name: str = "") -> list[Address]:
    """:func:`mailbox` for each address, duplicates removed (case-insensitive), order kept."""
    seen: set[str] = set()
    out = []
    for addr in addrs:
        box = mailbox(addr, display_name)
        if box.addr_spec.lower() not in seen:
            seen.add(box.addr_spec.lower())
            out.append(box)
    return out


def to_header(recipients: Iterable[str], group_name: str = "") -> list[Address] | Group:
    """The ``To`` value: plain addresses, or a named group (``淮安市政务公开办公室: a@x, b@y;``).

    A group rather than the name on every address: CPython folds a list of addresses with non-ASCII
    display names into encoded words that swallow the separating comma, and readers then see only
    the first recipient.
    """
    boxes = mailboxes(recipients)
    name = clean_header(group_name, 80)
    return Group(name, boxes) if name and boxes else boxes


# ------------------------------------------------------------------------------------------ message


@dataclass(frozen=True)
class Content:
    """What goes into one message: subject, bodies, inline images (cid → PNG) and the workbook."""

    subject: str
    text: str
    html: str
    images: Mapping[str, bytes]  # content id without <> → PNG bytes
    attachment: bytes
    attachment_name: str


def content_id(name: str, domain: str = "xxgk.report") -> str:
    """A fresh content id (without angle brackets) for an inline image called ``name``."""
    return make_msgid(idstring=re.sub(r"[^A-Za-z0-9]", "", name) or "img", domain=domain)[1:-1]


def build_message(content: Content, sender: str, recipients: Sequence[str], recipient_name: str = "") -> EmailMessage:
    """The complete MIME message (see module docstring); raises :class:`AddressError` on a bad address."""
    msg = EmailMessage(policy=policy.SMTP)
    from_box = mailbox(sender, SENDER_NAME)
    msg["Subject"] = clean_header(content.subject, 300)
    msg["From"] = from_box
    msg["To"] = to_header(recipients, recipient_name)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(idstring="xxgk", domain=from_box.domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(content.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(content.html, subtype="html", charset="utf-8", cte="base64")
    html_part = list(msg.iter_parts())[1]  # text/plain, then text/html
    for cid, png in content.images.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid.split('@')[0]}.png",
        )
    msg.add_attachment(
        content.attachment,
        maintype="application",
        subtype=XLSX_SUBTYPE,
        filename=safe_filename(content.attachment_name),
    )
    return msg


# ------------------------------------------------------------------------------------------ sending


def _scrub(text: str, settings: SmtpSettings) -> str:
    """An error text fit to keep: one line, the password (if it ever appears) removed."""
    text = clean_header(str(text), 500)
    if settings.password:
        text = text.replace(settings.password, "***")
    return text


def describe_error(exc: BaseException, settings: SmtpSettings) -> str:
    """A one-line Chinese description of a send failure."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        what = "登录被拒绝"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        what = "收件人被拒绝"
    elif isinstance(exc, smtplib.SMTPResponseException):
        what = "服务器拒绝"
    elif isinstance(exc, ssl.SSLError | ssl.CertificateError):
        what = "TLS 失败"
    elif isinstance(exc, smtplib.SMTPException):  # before OSError: SMTPException is one
        what = "SMTP 会话失败"
    elif isinstance(exc, OSError):
        what = "无法连接"
    else:
        what = "发送失败"
    return _scrub(f"{what}（{settings.host}:{settings.port}）：{type(exc).__name__}: {exc}", settings)


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


def send(raw: bytes, envelope_from: str, envelope_to: Sequence[str], settings: SmtpSettings) -> None:
    """Send ``raw`` in one SMTP session (``ssl`` / ``starttls`` / ``none``, login if a username is set).

    Raises ``OSError`` / ``smtplib.SMTPException`` / ``ssl.SSLError`` when the server is down or refuses.
    """
    if not settings.host:
        raise smtplib.SMTPException("no SMTP host configured")
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context(settings)
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=_tls_context(settings))
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        refused = smtp.sendmail(envelope_from, list(envelope_to), raw)
    if refused:
        log.warning("some recipients were refused: %s", ", ".join(refused))


# ------------------------------------------------------------------------------------------ outbox


@dataclass
class Delivery:
    """What happened to one message: ``sent``, ``queued`` (in the outbox) or ``failed`` (not even queued)."""

    status: str
    subject: str
    recipients: list[str]
    path: str | None = None
    error: str | None = None
    attempts: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the run summary (Chinese)."""
        to = "、".join(self.recipients) or "（无收件人）"
        if self.status == "sent":
            return f"已发送：{self.subject} → {to}"
        if self.status == "queued":
            return f"未发送，已存入发件箱 {self.path}（{self.error}）；下次运行或 `xxgk report --resend` 时重试"
        return f"发送失败：{self.subject}（{self.error}）"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _meta_path(eml: Path) -> Path:
    return eml.with_suffix(".json")


def queue(
    raw: bytes,
    envelope_from: str,
    envelope_to: Sequence[str],
    subject: str,
    outbox: Path,
    error: str,
    tag: str = "report",
) -> Path:
    """Write the message to ``<outbox>/pending/`` (``.eml`` + ``.json`` envelope); returns the ``.eml`` path."""
    pending = outbox / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    eml = pending / f"{_stamp()}-{safe_filename(tag, 60)}.eml"
    eml.write_bytes(raw)
    meta = {
        "envelope_from": envelope_from,
        "envelope_to": list(envelope_to),
        "subject": subject,
        "queued_at": datetime.now(UTC).isoformat(),
        "attempts": 0,
        "last_error": error,
    }
    _meta_path(eml).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return eml


def _archive_sent(raw: bytes, outbox: Path, tag: str, meta: Mapping[str, object]) -> Path:
    sent = outbox / "sent"
    sent.mkdir(parents=True, exist_ok=True)
    eml = sent / f"{_stamp()}-{safe_filename(tag, 60)}.eml"
    eml.write_bytes(raw)
    _meta_path(eml).write_text(json.dumps(dict(meta), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return eml


def deliver(msg: EmailMessage, settings: SmtpSettings, tag: str = "report") -> Delivery:
    """Send ``msg`` to its ``To`` addresses; on no server / failure keep it in the outbox. Never raises
    for a server problem."""
    raw = msg.as_bytes(policy=policy.SMTP)
    to = [a.addr_spec for a in msg["To"].addresses] if msg["To"] else []
    sender = msg["From"].addresses[0].addr_spec
    subject = str(msg["Subject"])
    if not to:
        path = queue(raw, sender, to, subject, settings.outbox_dir, "没有收件人", tag)
        return Delivery("queued", subject, to, str(path), "没有收件人（请在名录的 [[oversight]] recipients 中登记）")
    if not settings.configured:
        path = queue(raw, sender, to, subject, settings.outbox_dir, "未配置 SMTP 服务器", tag)
        return Delivery("queued", subject, to, str(path), "未配置 SMTP 服务器（.dlt/config.toml [smtp] 或 SMTP__HOST）")
    try:
        send(raw, sender, to, settings)
    except SEND_ERRORS as exc:
        error = describe_error(exc, settings)
        log.warning("report mail not sent: %s", error)
        path = queue(raw, sender, to, subject, settings.outbox_dir, error, tag)
        return Delivery("queued", subject, to, str(path), error, attempts=1)
    sent = _archive_sent(raw, settings.outbox_dir, tag, {"envelope_to": to, "sent_at": datetime.now(UTC)})
    log.info("report mail sent to %s", ", ".join(to))
    return Delivery("sent", subject, to, str(sent), attempts=1)


def pending(outbox: Path) -> list[Path]:
    """The messages waiting in ``<outbox>/pending/``, oldest first."""
    folder = outbox / "pending"
    return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def _resend_one(eml: Path, settings: SmtpSettings) -> Delivery:
    meta_file = _meta_path(eml)
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    to = list(meta.get("envelope_to") or [])
    subject = str(meta.get("subject") or eml.name)
    if not to:
        return Delivery("queued", subject, to, str(eml), "没有收件人")
    meta["attempts"] = int(meta.get("attempts") or 0) + 1
    try:
        send(eml.read_bytes(), meta.get("envelope_from") or settings.sender, to, settings)
    except SEND_ERRORS as exc:
        meta["last_error"] = describe_error(exc, settings)
        meta_file.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return Delivery("queued", subject, to, str(eml), meta["last_error"], meta["attempts"])
    sent = settings.outbox_dir / "sent"
    sent.mkdir(parents=True, exist_ok=True)
    meta["sent_at"] = datetime.now(UTC).isoformat()
    meta_file.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    shutil.move(str(meta_file), sent / meta_file.name)
    target = Path(shutil.move(str(eml), sent / eml.name))
    return Delivery("sent", subject, to, str(target), attempts=meta["attempts"])


def resend_pending(settings: SmtpSettings) -> list[Delivery]:
    """Retry every message of the outbox (nothing is tried while no server is configured)."""
    if not settings.configured:
        return []
    return [_resend_one(eml, settings) for eml in pending(settings.outbox_dir)]


def delivery_json(d: Delivery) -> dict[str, object]:
    """``d`` as a JSON-ready dict."""
    return asdict(d)
