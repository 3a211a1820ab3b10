"""IMAP IDLE through enpd (RFC 2177, the seed's design): an LMTP delivery reaches an idling
client as EXISTS, another session's flag change and expunge as FETCH and EXPUNGE; IDLE is
announced only under the seed's rule (and the journal names the missing setting); keep-alives;
enpd going away makes idlers look at the store themselves, and its return puts them back on
events."""
import imaplib
import os
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import TEST_USER, LineClient, notify_settings, store_tool

MESSAGE = b"From: s@example.org\r\nSubject: idle\r\n\r\nbody\r\n"


class Setup:
    def __init__(self, enpd_factory, lmtpd_factory, imapd_factory, extra=None):
        self.enpd = enpd_factory()
        self.settings = {**notify_settings(self.enpd), "service.imap.idlepoll": "1",
                         **(extra or {})}
        self.imapd = imapd_factory(self.settings, users=("alice",))
        self.lmtpd = lmtpd_factory(self.settings)

    def deliver(self, n=1):
        with smtplib.LMTP(self.lmtpd.path) as c:
            for _ in range(n):
                assert c.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}

    def client(self):
        c = LineClient(socket.create_connection(("127.0.0.1", self.imapd.ports["imap"]),
                                                timeout=10))
        greeting = c.line()
        assert " IDLE" in greeting
        c.cmd("a LOGIN alice secret")
        return c


@pytest.fixture
def setup(enpd_factory, lmtpd_factory, imapd_factory):
    return Setup(enpd_factory, lmtpd_factory, imapd_factory)


def idle(c, tag="i"):
    c.send(f"{tag} IDLE\r\n")
    assert c.line() == "+ idling"


def done(c, tag="i"):
    c.send("DONE\r\n")
    lines = []
    while True:
        ln = c.line()
        if ln.startswith(tag + " "):
            assert ln == f"{tag} OK IDLE terminated"
            return lines
        lines.append(ln)


def test_delivery_reaches_idling_client(setup):
    setup.deliver()
    c = setup.client()
    untagged, tagged = c.cmd("s SELECT INBOX")
    assert "* 1 EXISTS" in untagged
    idle(c)
    setup.deliver()
    assert c.line() == "* 2 EXISTS"
    setup.deliver(2)
    lines = [c.line()]
    while lines[-1] != "* 4 EXISTS":
        lines.append(c.line())
    assert done(c) == []


def test_deliver_tool_reaches_idling_client(setup):
    """deliver(1) publishes and exits at once; its journalled message reaches the idler."""
    setup.deliver()
    c = setup.client()
    assert "* 1 EXISTS" in c.cmd("s SELECT INBOX")[0]
    idle(c)
    for n in (2, 3):
        r = store_tool(setup.imapd.conf_path, "deliver", "alice", stdin=MESSAGE)
        assert r.returncode == 0, r.stderr
        assert c.line() == f"* {n} EXISTS"
    assert done(c) == []


@pytest.mark.parametrize("login_events", ["yes", "no"])
def test_delivery_while_enpd_starts(enpd_factory, lmtpd_factory, imapd_factory, login_events):
    """enpd socket-activated by the idler's own imapd: the Login event, the IDLE subscription
    and the delivery's event all wait in the backlog until enpd runs, which reads them in no
    set order (at the time of writing: Login, the delivery, then the subscription). The idler
    still hears of the delivery: a subscription counts from enpd's answer, and the look at the
    store runs then. With Login events this lost the delivery (the systemd IDLE test saw it)."""
    enpd = enpd_factory(start=False)
    settings = {**notify_settings(enpd), "local.store.notifyplugin.Login.enable": login_events}
    imapd = imapd_factory(settings, users=("alice",))
    lmtpd = lmtpd_factory(settings)
    c = LineClient(socket.create_connection(("127.0.0.1", imapd.ports["imap"]), timeout=10))
    c.line()
    c.cmd("a LOGIN alice secret")
    assert "* 0 EXISTS" in c.cmd("s SELECT INBOX")[0]
    idle(c)
    with smtplib.LMTP(lmtpd.path) as m:
        assert m.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
    enpd.start()
    assert c.line() == "* 1 EXISTS"
    assert done(c) == []
    # and on, as usual
    idle(c)
    with smtplib.LMTP(lmtpd.path) as m:
        assert m.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
    assert c.line() == "* 2 EXISTS"
    assert done(c) == []


def test_flags_and_expunge_from_another_session(setup):
    setup.deliver(3)
    c = setup.client()
    c.cmd("s SELECT INBOX")
    idle(c)
    m = imaplib.IMAP4("127.0.0.1", setup.imapd.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Flagged)")
    assert c.line() == "* 2 FETCH (FLAGS (\\Flagged \\Recent))"
    m.store("1", "+FLAGS", "(\\Deleted)")
    assert c.line() == "* 1 FETCH (FLAGS (\\Deleted \\Recent))"
    m.expunge()
    assert c.line() == "* 1 EXPUNGE"
    m.logout()
    assert done(c) == []
    _, tagged = c.cmd("f FETCH 1:* (UID FLAGS)")
    assert tagged == "f OK FETCH completed"


def test_idlers_of_one_mailbox_at_different_points(setup):
    """Sessions idling on one mailbox share the process's look at the store after an event;
    each still hears exactly what it has not seen, wherever it stood."""
    setup.deliver()
    behind = setup.client()
    assert "* 1 EXISTS" in behind.cmd("s SELECT INBOX")[0]
    setup.deliver()
    ahead = [setup.client() for _ in range(3)]
    for c in ahead:
        assert "* 2 EXISTS" in c.cmd("s SELECT INBOX")[0]
        idle(c)
    idle(behind)
    assert behind.line() == "* 2 EXISTS"
    setup.deliver()
    for c in ahead + [behind]:
        assert c.line() == "* 3 EXISTS"
    m = imaplib.IMAP4("127.0.0.1", setup.imapd.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Seen)")
    assert behind.line() == "* 1 FETCH (FLAGS (\\Seen \\Recent))"  # it saw message 1 first
    for c in ahead:
        assert c.line() == "* 1 FETCH (FLAGS (\\Seen))"
    m.logout()
    for c in ahead + [behind]:
        assert done(c) == []


def test_done_and_errors(setup):
    c = setup.client()
    idle(c, "a1")  # authenticated state: nothing to report, but allowed
    assert done(c, "a1") == []
    c.cmd("s SELECT INBOX")
    c.send("b IDLE now\r\n")
    assert c.line() == "b BAD IDLE takes no arguments"
    idle(c, "b2")
    c.send("NOTDONE\r\n")
    assert c.line() == "b2 BAD Expected DONE to end IDLE"
    _, tagged = c.cmd("n NOOP")
    assert tagged.startswith("n OK")
    idle(c, "b3")
    c.send("done\r\n")
    assert c.line() == "b3 OK IDLE terminated"
    # a long line ends IDLE and nothing pipelined after it is lost
    idle(c, "b4")
    c.send("x" * 300 + "\r\nn1 NOOP\r\n")
    assert c.line() == "b4 BAD Expected DONE to end IDLE"
    assert c.line().startswith("n1 OK")
    # ... also when it arrives in pieces: the parser skips the rest of it
    idle(c, "b5")
    c.send("y" * 100)
    assert c.line() == "b5 BAD Expected DONE to end IDLE"
    c.send("y" * 100 + "\r\nn2 NOOP\r\n")
    assert " BAD " in c.line()
    assert c.line().startswith("n2 OK")


def test_keepalive(enpd_factory, lmtpd_factory, imapd_factory):
    s = Setup(enpd_factory, lmtpd_factory, imapd_factory, {"service.imap.idlekeepalive": "1"})
    c = s.client()
    c.cmd("s SELECT INBOX")
    idle(c)
    assert c.line() == "* OK Still here"
    assert c.line() == "* OK Still here"
    assert done(c) == []


@pytest.mark.parametrize("change,missing", [
    ({"local.store.notifyplugin": ""}, "local.store.notifyplugin is not set"),
    ({"local.store.notifyplugin.enseventkey": "enp://127.0.0.1/store"}, "default value"),
    ({"local.store.notifyplugin.enseventkey": "enp://127.0.0.1/store/mbox"}, "end in %M"),
    ({"local.store.notifyplugin.noneinbox.enable": "no"}, "noneinbox.enable is off"),
])
def test_no_idle_under_the_wrong_configuration(enpd_factory, imapd_factory, change, missing):
    enpd = enpd_factory()
    d = imapd_factory({**notify_settings(enpd), **change}, users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    assert "IDLE" not in m.capabilities
    m.login("alice", "secret")
    typ, data = m._simple_command("CAPABILITY")
    assert b"IDLE" not in m.untagged_responses["CAPABILITY"][-1]
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(f"{tag} IDLE\r\n".encode())
    assert m.readline().decode().startswith(f"{tag} BAD")
    m.logout()
    assert "IDLE not announced" in d.log_text() and missing in d.log_text()


def test_enpd_away_and_back(setup):
    c = setup.client()
    c.cmd("s SELECT INBOX")
    idle(c)
    setup.deliver()
    assert c.line() == "* 1 EXISTS"
    setup.enpd.stop()
    setup.deliver()  # no enpd: the idler finds it by looking at the store (idlepoll 1 s)
    assert c.line() == "* 2 EXISTS"
    assert "unreachable" in setup.imapd.log_text()
    setup.enpd.start()  # same port
    deadline = time.time() + 40
    while "reached again" not in setup.imapd.log_text() and time.time() < deadline:
        time.sleep(0.2)
    assert "reached again" in setup.imapd.log_text()
    setup.deliver()
    assert c.line() == "* 3 EXISTS"
    assert done(c) == []
