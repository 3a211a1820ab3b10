"""The store's notify plugin: lmtpd, imapd and deliver publish iBiff events to enpd after each
commit, with Sun's types — NewMsg for a delivery, UpdateMsg for an APPEND or COPY, ReadMsg when
a message gains \\Seen, TrashMsg when one gains \\Deleted, MsgFlags for other flag changes,
DeleteMsg for a client's expunge, OverQuota for a delivery refused for the quota, Login and
Logout from imapd and popd — under the event key with %M replaced by the mailbox; each type's
switch turns it off; noneinbox.enable off keeps other mailboxes quiet; a missing enpd never
fails or stalls a delivery."""
import imaplib
import poplib
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


def message_event(sub):
    """The next event that is not a Login or Logout."""
    while True:
        key, base, f = fields(sub.line())
        if f["evtType"] not in ("Login", "Logout"):
            return key, base, f


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
        key, base, f = message_event(sub)
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
    key, base, f = message_event(sub)
    assert f["evtType"] == "ReadMsg" and f["process"] == "imapd"
    assert (f["imapUid"], f["lastUid"], f["numSeen"], f["numDel"]) == ("1", "2", "2", "0")
    m.store("2", "+FLAGS", "(\\Flagged)")
    key, base, f = message_event(sub)
    assert f["evtType"] == "MsgFlags" and f["imapUid"] == "2"
    m.store("1", "+FLAGS", "(\\Deleted)")
    key, base, f = message_event(sub)
    assert f["evtType"] == "TrashMsg" and f["imapUid"] == "1" and f["numDel"] == "1"
    m.expunge()
    key, base, f = message_event(sub)
    assert f["evtType"] == "DeleteMsg" and f["imapUid"] == "1" and f["numMsgs"] == "1"
    m.append("INBOX", None, None, MESSAGE)
    key, base, f = message_event(sub)
    assert f["evtType"] == "UpdateMsg" and f["imapUid"] == "3" and f["numMsgs"] == "2"
    m.copy("1", "INBOX")
    key, base, f = message_event(sub)
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
    key, base, f = message_event(sub)
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
    key, base, f = message_event(sub)
    assert key == "enp://127.0.0.1/store/alice" and f["evtType"] == "UpdateMsg"
    m.logout()
    imapd2 = imapd_factory(notify_settings(enpd), users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", imapd2.ports["imap"])
    m.login("alice", "secret")
    m.append('"My Box"', None, None, MESSAGE)
    key, base, f = message_event(sub)
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


def test_login_and_logout_events(enpd_factory, imapd_factory, popd_factory):
    """Sun's Login and Logout, from IMAP and POP, under the user's INBOX key, on by default
    as every type is; an IMAP IDLE session ignores them (notify_event_is_message)."""
    enpd = enpd_factory()
    settings = notify_settings(enpd)
    imapd = imapd_factory(settings, users=("alice",))
    popd = popd_factory(settings, users=("alice",))
    sub = subscriber(enpd, "enp://127.0.0.1/store/alice")
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    m.login("alice", "secret")
    key, base, f = fields(sub.line())
    assert (f["evtType"], f["process"], f["service"]) == ("Login", "imapd", "imap")
    assert f["mailboxName"] == "alice" and f["client"].startswith("127.0.0.1")
    m.logout()
    key, base, f = fields(sub.line())
    assert (f["evtType"], f["service"]) == ("Logout", "imap")
    p = poplib.POP3("127.0.0.1", popd.ports["pop"])
    p.user("alice")
    p.pass_("secret")
    key, base, f = fields(sub.line())
    assert (f["evtType"], f["process"], f["service"]) == ("Login", "popd", "pop")
    p.quit()
    key, base, f = fields(sub.line())
    assert f["evtType"] == "Logout"
    # a failed login publishes nothing: the next event is the one after it
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    try:
        m.login("alice", "wrong")
    except imaplib.IMAP4.error:
        pass
    m.login("alice", "secret")
    key, base, f = fields(sub.line())
    assert f["evtType"] == "Login"
    m.logout()


def test_login_and_logout_switches(enpd_factory, imapd_factory, popd_factory):
    """local.store.notifyplugin.Login.enable / Logout.enable off: sessions publish nothing,
    the next event is the APPEND's."""
    enpd = enpd_factory()
    settings = {**notify_settings(enpd), "local.store.notifyplugin.Login.enable": "no",
                "local.store.notifyplugin.Logout.enable": "no"}
    imapd = imapd_factory(settings, users=("alice",))
    popd = popd_factory(settings, users=("alice",))
    sub = subscriber(enpd, "enp://127.0.0.1/store/alice")
    p = poplib.POP3("127.0.0.1", popd.ports["pop"])
    p.user("alice")
    p.pass_("secret")
    p.quit()
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    m.login("alice", "secret")
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", imapd.ports["imap"])
    m.login("alice", "secret")
    m.append("INBOX", None, None, MESSAGE)
    key, base, f = fields(sub.line())
    assert f["evtType"] == "UpdateMsg"
    m.logout()
