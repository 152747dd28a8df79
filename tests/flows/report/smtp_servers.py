"""Real SMTP servers on 127.0.0.1 for the mail tests (aiosmtpd), with or without TLS and login.

:func:`smtp_server` starts one in a thread and yields its :class:`Sink` (every accepted envelope)
and port; ``refuse`` makes it answer DATA with that reply instead of accepting.  :func:`tls_files`
writes a self-signed certificate for 127.0.0.1 / localhost (the client trusts it as its CA file).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword


@dataclass
class Sink:
    """The server's handler: keeps accepted envelopes, or refuses DATA with ``refuse``."""

    refuse: str | None = None
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse
        self.envelopes.append(envelope)
        return "250 2.0.0 accepted"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(sink: Sink, user: str, password: str):
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        if ok:
            sink.logins.append(user)
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(
    *,
    login: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    refuse: str | None = None,
) -> Iterator[tuple[Sink, int]]:
    """An aiosmtpd server on 127.0.0.1 (see module docstring); yields (sink, port)."""
    sink = Sink(refuse=refuse)
    # aiosmtpd does not see implicit TLS as TLS: AUTH over it must not require STARTTLS
    params: dict[str, Any] = {"auth_require_tls": bool(starttls)}
    if login:
        params |= {"authenticator": _authenticator(sink, *login), "auth_required": True}
    if starttls:
        params |= {"tls_context": starttls, "require_starttls": True}
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, ssl_context=implicit_tls, server_hostname="localhost", **params
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def tls_files(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files of a self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side TLS context of the certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx
