"""The store's notify plugin: lmtpd, imapd and deliver publish iBiff events to enpd after each
commit, with Sun's types — NewMsg for a delivery, UpdateMsg for an APPEND or COPY, ReadMsg when
a message gains \\Seen, TrashMsg when one gains \\Deleted, MsgFlags for other flag changes,
DeleteMsg for a client's expunge, OverQuota for a delivery refused for the quota — under the
event key with %M replaced by the mailbox; noneinbox.enable off keeps other mailboxes
quiet; a missing enpd never fails or stalls a delivery."""
import imaplib
import os
import smtplib
import socket
import subprocess
import time

from conftest import TEST_USER, LineClient, notify_settings, store_tool

MESSAGE = b"From: s@example.org\r\nSubject: hello\r\n\r\nbody\r\n"


def subscriber(enpd, *keys):
    c = LineClient(socket.create_connection(("127.0.0.1", enpd.ports["ens"]), timeout=10))
    assert c.line().startswith("+OK")
    for k in keys:
        c.send(f"SUBSCRIBE {k}\r\n")
        assert c.line() == "+OK Subscribed"
    return c


def fields(event_line):
    key, body = event_line.split(" ", 2)[1:]
    base, query = body.split("?", 1)
    return key, base, dict(kv.split("=", 1) for kv in query.split("&"))


def lmtpd_with_users(lmtpd_factory, settings, *users):
    d = lmtpd_factory(settings)
    os.makedirs(d.store, exist_ok=True)
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(d.store)], check=True)
    for u in users:
        r = store_tool(d.conf_path, "mailuser", "add", u, "--password-stdin", stdin="secret\n")
        assert r.returncode == 0 or "exists" in r.stderr, r.stderr
    return d


def test_delivery_flags_expunge_events(enpd_factory, lmtpd_factory, imapd_factory):
    enpd = enpd_factory()
    settings = notify_settings(enpd)
    lmtpd = lmtpd_with_users(lmtpd_factory, settings, "alice")
    sub = subscriber(enpd, "enp://127.0.0.1/store/alice")
    with smtplib.LMTP(lmtpd.path) as c:
        assert c.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
        assert c.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
    for uid in (1, 2):
        key, base, f = fields(sub.line())
        assert key == "enp://127.0.0.1/store/alice" and base == "enp://127.0.0.1/store"
        assert f["evtType"] == "NewMsg" and f["imapUid"] == str(uid)
        assert f["mailboxName"] == "alice" and f["numMsgs"] == str(uid)
        assert f["process"] == "lmtpd" and f["hostname"] == "mail.test"
        assert int(f["uidValidity"]) > 0 and int(f["timestamp"]) > 1_700_000_000_000
    imapd = imapd_factory(settings)
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("1:2", "+FLAGS", "(\\Seen)")
    key, base, f = fields(sub.line())
    assert f["evtType"] == "ReadMsg" and f["process"] == "imapd"
    assert (f["imapUid"], f["lastUid"], f["numSeen"], f["numDel"]) == ("1", "2", "2", "0")
    m.store("2", "+FLAGS", "(\\Flagged)")
    key, base, f = fields(sub.line())
    assert f["evtType"] == "MsgFlags" and f["imapUid"] == "2"
    m.store("1", "+FLAGS", "(\\Deleted)")
    key, base, f = fields(sub.line())
    assert f["evtType"] == "TrashMsg" and f["imapUid"] == "1" and f["numDel"] == "1"
    m.expunge()
    key, base, f = fields(sub.line())
    assert f["evtType"] == "DeleteMsg" and f["imapUid"] == "1" and f["numMsgs"] == "1"
    m.append("INBOX", None, None, MESSAGE)
    key, base, f = fields(sub.line())
    assert f["evtType"] == "UpdateMsg" and f["imapUid"] == "3" and f["numMsgs"] == "2"
    m.copy("1", "INBOX")
    key, base, f = fields(sub.line())
    assert f["evtType"] == "UpdateMsg" and f["imapUid"] == "4"
    m.logout()


def test_over_quota_event(enpd_factory, lmtpd_factory):
    enpd = enpd_factory()
    lmtpd = lmtpd_with_users(lmtpd_factory, notify_settings(enpd))
    r = store_tool(lmtpd.conf_path, "mailuser", "add", "carol", "--password-stdin",
                   "--quota-bytes", "200", stdin="secret\n")
    assert r.returncode == 0, r.stderr
    sub = subscriber(enpd, "enp://127.0.0.1/store/carol")
    with smtplib.LMTP(lmtpd.path) as c:
        try:
            c.sendmail("s@example.org", ["carol@example.org"], MESSAGE + b"x" * 400)
            raise AssertionError("delivered over the quota")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 552
    key, base, f = fields(sub.line())
    assert f["evtType"] == "OverQuota" and f["mailboxName"] == "carol"


def test_noneinbox_and_key_encoding(enpd_factory, lmtpd_factory, imapd_factory):
    enpd = enpd_factory()
    imapd = imapd_factory(notify_settings(enpd, noneinbox="no"), users=("alice",))
    sub = subscriber(enpd, "enp://127.0.0.1/store/alice", "enp://127.0.0.1/store/alice/My%20Box")
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    m.login("alice", "secret")
    m.create('"My Box"')
    m.append('"My Box"', None, None, MESSAGE)
    m.append("INBOX", None, None, MESSAGE)
    key, base, f = fields(sub.line())
    assert key == "enp://127.0.0.1/store/alice" and f["evtType"] == "UpdateMsg"
    m.logout()
    imapd2 = imapd_factory(notify_settings(enpd), users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", imapd2.ports["imap"])
    m.login("alice", "secret")
    m.append('"My Box"', None, None, MESSAGE)
    key, base, f = fields(sub.line())
    assert key == "enp://127.0.0.1/store/alice/My%20Box" and f["mailboxName"] == "alice/My%20Box"
    assert f["imapUid"] == "2"
    m.logout()


def test_enpd_down_never_stalls_delivery(enpd_factory, lmtpd_factory):
    enpd = enpd_factory()
    port = enpd.ports["ens"]
    enpd.stop()
    lmtpd = lmtpd_with_users(lmtpd_factory, notify_settings(enpd), "alice")
    t = time.monotonic()
    with smtplib.LMTP(lmtpd.path) as c:
        for _ in range(20):
            assert c.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
    assert time.monotonic() - t < 30
    assert "unreachable" in lmtpd.log_text()
    assert port  # the port nobody listens on any more
