"""lmtpd with Python's smtplib.LMTP and scripted sessions: one reply per recipient, 250 only
for what is in the store, every refusal with its code, and nothing half-delivered."""
import os
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import BUILD, TEST_USER

MESSAGE = (b"From: sender@example.org\r\nTo: alice@example.org\r\nSubject: hello\r\n"
           b"Message-ID: <m1@example.org>\r\n\r\nHello, Alice.\r\n.leading dot line\r\n")


def tool(d, name, *args, stdin=None):
    """Runs a store tool as the daemons' user, as an administrator would through runuser."""
    cmd = ["setpriv", "--reuid", TEST_USER, "--regid", "nogroup", "--clear-groups",
           os.path.join(BUILD, "src", name, name), "-f", d.conf_path, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)


def add_user(d, name, *options):
    r = tool(d, "mailuser", "add", name, "--password-stdin", *options, stdin="secret\n")
    assert r.returncode == 0, r.stderr


def mailboxes(d, user):
    """{mailbox: message count} from mboxutil -l."""
    r = tool(d, "mboxutil", "-l", "-u", user)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines()[1:]:
        parts = line.split()
        out[parts[-1]] = int(parts[0])
    return out


@pytest.fixture
def lmtpd(lmtpd_factory):
    d = lmtpd_factory()
    os.makedirs(d.store, exist_ok=True)
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(d.store)], check=True)
    add_user(d, "alice")
    add_user(d, "bob")
    return d


def lmtp(d):
    return smtplib.LMTP(d.path)


def test_single_recipient(lmtpd):
    with lmtp(lmtpd) as c:
        refused = c.sendmail("sender@example.org", ["alice@example.org"], MESSAGE)
        assert refused == {}
    assert mailboxes(lmtpd, "alice")["INBOX"] == 1


def test_multi_recipient_replies_in_order(lmtpd):
    c = lmtpd.connect()
    assert c.line().startswith("220 ")
    c.send("LHLO mx.test\r\n")
    lines = []
    while not (lines and lines[-1].startswith("250 ")):
        lines.append(c.line())
    assert "250-PIPELINING" in lines and "250-ENHANCEDSTATUSCODES" in lines
    c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.org>\r\n"
           "RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
    assert c.line().startswith("250 2.1.0")
    assert c.line().startswith("250 2.1.5 <alice@example.org>")
    assert c.line().startswith("550 5.1.1 <nobody@example.org>")
    assert c.line().startswith("250 2.1.5 <bob@example.org>")
    assert c.line().startswith("354 ")
    c.send(MESSAGE + b".\r\n")
    assert c.line().startswith("250 2.0.0 <alice@example.org> delivered")
    assert c.line().startswith("250 2.0.0 <bob@example.org> delivered")
    c.send("QUIT\r\n")
    assert c.line().startswith("221 ")
    assert mailboxes(lmtpd, "alice")["INBOX"] == 1
    assert mailboxes(lmtpd, "bob")["INBOX"] == 1


def test_unknown_user_only(lmtpd):
    with lmtp(lmtpd) as c:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            c.sendmail("s@example.org", ["ghost@example.org"], MESSAGE)
        assert e.value.recipients["ghost@example.org"][0] == 550


def test_detail_address_goes_to_folder_or_inbox(lmtpd):
    r = tool(lmtpd, "mboxutil", "-u", "alice", "-c", "lists")
    assert r.returncode == 0, r.stderr
    with lmtp(lmtpd) as c:
        assert c.sendmail("s@example.org", ["alice+lists@example.org"], MESSAGE) == {}
        assert c.sendmail("s@example.org", ["alice+nosuch@example.org"], MESSAGE) == {}
    boxes = mailboxes(lmtpd, "alice")
    assert boxes["lists"] == 1 and boxes["INBOX"] == 1


def test_quota(lmtpd):
    add_user(lmtpd, "carol", "--quota-bytes", "200")
    with lmtp(lmtpd) as c:
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("s@example.org", ["carol@example.org"], MESSAGE * 3)
        assert e.value.smtp_code == 552 and b"5.2.2" in e.value.smtp_error
    assert mailboxes(lmtpd, "carol").get("INBOX", 0) == 0


def test_oversize(lmtpd_factory):
    d = lmtpd_factory({"service.lmtp.maxmessagesize": "2048"})
    os.makedirs(d.store, exist_ok=True)
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(d.store)], check=True)
    add_user(d, "alice")
    big = MESSAGE + b"x" * 4000 + b"\r\n"
    with lmtp(d) as c:
        # smtplib announces SIZE= (the server offers it): refused at MAIL
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            c.sendmail("s@example.org", ["alice@example.org"], big)
        assert e.value.smtp_code == 552 and b"5.3.4" in e.value.smtp_error
    # a client that does not announce the size is refused after DATA, for each recipient
    c = d.connect()
    c.line()
    c.send("LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    while not c.line().startswith("354 "):
        pass
    c.send(big + b".\r\n")
    assert c.line().startswith("552 5.3.4 Message too big for <alice@example.org>")
    # and the session goes on
    c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    while not c.line().startswith("354 "):
        pass
    c.send(MESSAGE + b".\r\n")
    assert c.line().startswith("250 2.0.0 <alice@example.org>")
    assert mailboxes(d, "alice")["INBOX"] == 1


def test_malformed_commands(lmtpd):
    c = lmtpd.connect()
    c.line()
    script = [
        ("MAIL FROM:<a@b>", "503 5.5.1"),
        ("HELO x", "500 5.5.1"),
        ("LHLO", "501 "),
        ("FROB", "500 5.5.1"),
        ("RCPT TO:<a@b>", "503 5.5.1"),
        ("DATA", "503 5.5.1"),
        ("MAIL FROM:<broken", "501 5.1.7"),
        ("X" * 5000, "500 5.5.2"),
        ("NOOP", "250 "),
    ]
    for line, want in script:
        if line == "LHLO":
            c.send("LHLO\r\n")
            assert c.line().startswith(want)
            c.send("LHLO ok\r\n")
            while not c.line().startswith("250 "):
                pass
            continue
        c.send(line + "\r\n")
        got = c.line()
        assert got.startswith(want), (line, got)
    c.send("MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n")
    assert c.line().startswith("250 ")
    assert c.line().startswith("503 5.5.1 Nested")
    c.send("RSET\r\nRCPT TO:<alice@example.org>\r\n")
    assert c.line().startswith("250 ")
    assert c.line().startswith("503 ")


def test_disconnect_mid_data_delivers_nothing(lmtpd):
    c = lmtpd.connect()
    c.line()
    c.send("LHLO x\r\n")
    while not c.line().startswith("250 "):
        pass
    c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    for _ in range(3):
        c.line()
    c.send(MESSAGE + b"more and more\r\n")
    time.sleep(0.2)
    c.close()
    time.sleep(0.5)
    assert "client went away during DATA" in lmtpd.log_text()
    assert mailboxes(lmtpd, "alice").get("INBOX", 0) == 0
    assert os.listdir(lmtpd.store / "tmp") == []
    # the daemon lives on
    with lmtp(lmtpd) as c2:
        assert c2.sendmail("s@example.org", ["alice@example.org"], MESSAGE) == {}
