"""The report e-mail through real SMTP servers on 127.0.0.1: MIME content, TLS, login, outbox, resend."""

from __future__ import annotations

import dataclasses
import email
import io
import json
import logging
import os
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import report_world
from openpyxl import load_workbook
from report_world import HONGZE, YEAR
from smtp_servers import free_port, server_context, smtp_server, tls_files
from typer.testing import CliRunner

from flows.report.data import Office
from flows.report.mail import SENDER_NAME, AddressError, mailbox, pending
from flows.report.service import attachment_name, email_report, load_snapshot, send_after_run, subject_of
from flows.report.settings import SettingsError, SmtpSettings, load_settings

world = report_world.world  # the shared warehouse (a session fixture)
report = report_world.report

RECIPIENTS = ["gkb@huaian.example.org", "audit@huaian.example.org"]
SENDER = "xxgk@report.example.org"
PASSWORD = "hunter2-Secret!"
# login without TLS is what the plain-SMTP tests exercise on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def settings_for(port: int, outbox: Path, **kw: object) -> SmtpSettings:
    base = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "timeout": 10.0,
        "outbox_dir": outbox,
    }
    return SmtpSettings(**(base | kw))


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def test_received_message_has_subject_recipients_html_images_and_workbook(report, tmp_path):
    with smtp_server() as (sink, port):
        delivery = email_report(report, settings_for(port, tmp_path))
    assert delivery.status == "sent" and delivery.recipients == RECIPIENTS
    (envelope,) = sink.envelopes
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == RECIPIENTS
    msg = parse(envelope.content)

    assert msg["Subject"] == subject_of(report)
    assert msg["Subject"].startswith("【政务公开数据质量】淮安市政务公开办公室 2023年度年报：")
    assert "未通过校验2，缺失1，逾期1" in msg["Subject"]
    assert [a.addr_spec for a in msg["To"].addresses] == RECIPIENTS
    assert [g.display_name for g in msg["To"].groups] == ["淮安市政务公开办公室"]
    assert msg["From"].addresses[0].display_name == SENDER_NAME
    assert msg.get_content_type() == "multipart/mixed"

    html = msg.get_body(("html",)).get_content()
    assert HONGZE in html and "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)" in html
    text = msg.get_body(("plain",)).get_content()
    assert "T4_BLOCK_TOTAL" in text and "应报送机关 5" in text

    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == 3
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content().startswith(b"\x89PNG")
        assert image.get_content_disposition() == "inline"

    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == attachment_name(report)
    assert attachment_name(report) == "2023年度政府信息公开年报数据质量-淮安市政务公开办公室.xlsx"
    wb = load_workbook(io.BytesIO(attachment.get_content()))
    rows = list(wb["未通过的校验"].iter_rows(values_only=True))
    hz = next(r for r in rows if r[0] == HONGZE and r[6] == "T4_BLOCK_TOTAL")
    assert (hz[3], hz[8], hz[9], hz[10], hz[12], hz[14]) == ("错误", "表四", "行政复议", "总计", 0, 11)

    assert len(list((tmp_path / "sent").glob("*.eml"))) == 1
    assert load_snapshot(tmp_path, "huaian", YEAR)["agencies"][HONGZE]["state"] == "quarantined"


def test_login_over_starttls(report, tmp_path):
    cert, key = tls_files(tmp_path)
    settings = settings_for(
        0, tmp_path / "outbox", security="starttls", username="etl", password=PASSWORD, ca_file=cert
    )
    with smtp_server(login=("etl", PASSWORD), starttls=server_context(cert, key)) as (sink, port):
        delivery = email_report(report, dataclasses.replace(settings, port=port))
    assert delivery.status == "sent", delivery.error
    assert sink.logins == ["etl"] and len(sink.envelopes) == 1


def test_login_over_implicit_ssl(report, tmp_path):
    cert, key = tls_files(tmp_path)
    settings = settings_for(0, tmp_path / "outbox", security="ssl", username="etl", password=PASSWORD, ca_file=cert)
    with smtp_server(login=("etl", PASSWORD), implicit_tls=server_context(cert, key)) as (sink, port):
        delivery = email_report(report, dataclasses.replace(settings, port=port))
    assert delivery.status == "sent", delivery.error
    assert sink.logins == ["etl"] and parse(sink.envelopes[0].content)["Subject"] == subject_of(report)


def test_untrusted_certificate_is_refused_and_queued(report, tmp_path):
    cert, key = tls_files(tmp_path)
    settings = settings_for(0, tmp_path / "outbox", security="starttls")  # no ca_file: not trusted
    with smtp_server(starttls=server_context(cert, key)) as (sink, port):
        delivery = email_report(report, dataclasses.replace(settings, port=port))
    assert delivery.status == "queued" and "TLS" in delivery.error and sink.envelopes == []


def test_wrong_password_is_queued_and_never_shown(report, tmp_path, caplog):
    settings = settings_for(0, tmp_path, username="etl", password=PASSWORD)
    caplog.set_level(logging.DEBUG)
    with smtp_server(login=("etl", "the-right-one")) as (sink, port):
        delivery = email_report(report, dataclasses.replace(settings, port=port))
    assert delivery.status == "queued" and delivery.error.startswith("登录被拒绝（127.0.0.1:")
    assert sink.envelopes == []
    (eml,) = pending(tmp_path)
    meta = eml.with_suffix(".json").read_text(encoding="utf-8")
    for text in (meta, delivery.line(), caplog.text, repr(settings), settings.describe()):
        assert PASSWORD not in text
    assert json.loads(meta)["envelope_to"] == RECIPIENTS


def test_refusing_server_keeps_the_message_and_resend_delivers_it(report, tmp_path):
    settings = settings_for(0, tmp_path)
    with smtp_server(refuse="554 5.7.1 not today") as (sink, port):
        delivery = email_report(report, dataclasses.replace(settings, port=port))
    assert delivery.status == "queued" and "554" in delivery.error and "not today" in delivery.error
    (eml,) = pending(tmp_path)
    queued = eml.read_bytes()
    from flows.report.mail import resend_pending

    with smtp_server() as (sink, port):
        (again,) = resend_pending(dataclasses.replace(settings, port=port))
    assert again.status == "sent" and again.attempts == 1
    assert sink.envelopes[0].content == queued and sink.envelopes[0].rcpt_tos == RECIPIENTS
    assert pending(tmp_path) == [] and (tmp_path / "sent" / eml.name).is_file()


def test_send_after_run_never_fails_and_retries_on_the_next_run(world, tmp_path):
    down = settings_for(free_port(), tmp_path)  # nothing listens there
    first = send_after_run(YEAR, world.registry, world.cfg, settings=down)
    assert first.errors == [] and first.queued == 2 and first.sent == 0
    assert [d.status for d in first.deliveries] == ["queued", "queued"]
    assert any("已存入发件箱" in line and str(tmp_path / "pending") in line for line in first.lines())
    assert len(pending(tmp_path)) == 2

    with smtp_server() as (sink, port):
        second = send_after_run(YEAR, world.registry_path, world.cfg, settings=dataclasses.replace(down, port=port))
    assert [d.status for d in second.resent] == ["sent", "sent"]
    assert [d.status for d in second.deliveries] == ["sent", "sent"]
    assert pending(tmp_path) == [] and len(sink.envelopes) == 4
    subjects = {parse(e.content)["Subject"] for e in sink.envelopes}
    assert any("宿迁市政务公开办公室" in s for s in subjects) and any("淮安市政务公开办公室" in s for s in subjects)
    assert second.to_json()["sent"] == 4


def test_send_after_run_reports_a_broken_registry_instead_of_raising(world, tmp_path):
    summary = send_after_run(YEAR, tmp_path / "no-such-registry.toml", world.cfg, settings=settings_for(1, tmp_path))
    assert summary.deliveries == [] and summary.errors and summary.errors[0].startswith("报告未生成：")


def test_names_cannot_inject_headers(report, tmp_path):
    office = Office("huaian", "淮安市\r\nBcc: evil@example.org\r\nX-Evil: 1", tuple(RECIPIENTS))
    evil = dataclasses.replace(report, office=office)
    with smtp_server() as (sink, port):
        delivery = email_report(evil, settings_for(port, tmp_path))
    assert delivery.status == "sent"
    (envelope,) = sink.envelopes
    assert envelope.rcpt_tos == RECIPIENTS
    msg = parse(envelope.content)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "evil@example.org" not in [a.addr_spec for a in msg["To"].addresses]
    assert "\n" not in msg["Subject"] and "淮安市 Bcc: evil@example.org X-Evil: 1" in msg["Subject"]
    with pytest.raises(AddressError):
        mailbox("gkb@huaian.example.org\r\nBcc: evil@example.org")
    with pytest.raises(AddressError):
        mailbox("Evil <evil@example.org>")


def _cli(args: list[str], env: dict[str, str]) -> object:
    from flows.cli import app

    return CliRunner().invoke(app, args, env=env)


def test_cli_without_smtp_writes_the_outbox_and_resend_sends_it(world, tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))  # no .dlt/config.toml there: no [smtp]
    for key in ("HOST", "PORT", "SECURITY", "USERNAME", "PASSWORD", "SENDER"):
        monkeypatch.delenv(f"SMTP__{key}", raising=False)
    env = {"SMTP__OUTBOX_DIR": str(tmp_path / "outbox")}
    base = ["--warehouse", str(world.cfg.db_path), "--registry", str(world.registry_path)]
    result = _cli(
        ["report", "--year", "2023", "--email", "--oversight", "suqian", "--to", "me@test.example.org", *base], env
    )
    assert result.exit_code == 0, result.output
    assert "SMTP 未配置" in result.output and "已存入发件箱" in result.output
    (eml,) = pending(tmp_path / "outbox")
    assert str(eml) in result.output.replace("\n", "")
    queued = parse(eml.read_bytes())
    assert [a.addr_spec for a in queued["To"].addresses] == ["me@test.example.org"]

    with smtp_server() as (sink, port):
        resent = _cli(
            ["report", "--resend", *base],
            env | {"SMTP__HOST": "127.0.0.1", "SMTP__PORT": str(port), "SMTP__SECURITY": "none"},
        )
    assert resent.exit_code == 0, resent.output
    assert "已发送" in resent.output and sink.envelopes[0].rcpt_tos == ["me@test.example.org"]
    assert pending(tmp_path / "outbox") == []


def test_cli_refuses_a_bad_address(world, tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    result = _cli(
        ["report", "--year", "2023", "--email", "--to", "not-an-address", "--warehouse", str(world.cfg.db_path)],
        {"SMTP__OUTBOX_DIR": str(tmp_path / "outbox")},
    )
    assert result.exit_code == 2 and "not a usable e-mail address" in result.output


def test_settings_from_config_secrets_and_environment(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("SMTP__")]:
        monkeypatch.delenv(key)
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        '[smtp]\nhost = "smtp.example.gov.cn"\nsecurity = "ssl"\nsender = "xxgk@example.gov.cn"\n'
        'username = "xxgk"\noutbox_dir = "mail/outbox"\n',
        encoding="utf-8",
    )
    (tmp_path / ".dlt" / "secrets.toml").write_text('[smtp]\npassword = "from-secrets"\n', encoding="utf-8")
    s = load_settings(root=tmp_path)
    assert (s.host, s.port, s.security, s.sender, s.username) == (
        "smtp.example.gov.cn",
        465,
        "ssl",
        "xxgk@example.gov.cn",
        "xxgk",
    )
    assert s.password == "from-secrets" and "from-secrets" not in repr(s)
    assert s.outbox_dir == tmp_path / "mail" / "outbox"
    env = {"SMTP__HOST": "127.0.0.1", "SMTP__PORT": "2525", "SMTP__SECURITY": "starttls", "SMTP__PASSWORD": "from-env"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = load_settings(root=tmp_path)
    assert (s.host, s.port, s.security, s.password) == ("127.0.0.1", 2525, "starttls", "from-env")
    monkeypatch.setenv("SMTP__SECURITY", "tls13")
    with pytest.raises(SettingsError):
        load_settings(root=tmp_path)
    for key in env:
        monkeypatch.delenv(key)
    bare = load_settings(root=tmp_path / "nowhere")
    assert not bare.configured and bare.describe() == "SMTP 未配置（邮件写入发件箱）"
