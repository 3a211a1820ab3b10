"""imapd's first real sessions: login (LOGIN, AUTHENTICATE PLAIN with SASL-IR), the mailbox
commands and the message commands, through Python's imaplib and scripted sessions."""
import imaplib
import re
import time

import pytest

from conftest import client_tls_context, store_tool


def deliver(d, user, i, mailbox=None):
    msg = (f"From: Sender <s@example.org>\r\nTo: {user}@example.org\r\nSubject: message {i}\r\n"
           f"Message-ID: <imap-{i}@test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n"
           f"Body of message {i}.\r\n")
    args = ["-m", mailbox] if mailbox else []
    r = store_tool(d.conf_path, "deliver", *args, user, stdin=msg.encode())
    assert r.returncode == 0, r.stderr


@pytest.fixture
def imap(imapd_factory):
    d = imapd_factory(users=("alice", "bob"))
    for i in range(1, 4):
        deliver(d, "alice", i)
    return d


def connect(d):
    return imaplib.IMAP4("127.0.0.1", d.ports["imap"])


def test_login_select_fetch_logout(imap):
    m = connect(imap)
    assert "AUTH=PLAIN" in m.capabilities and "SASL-IR" in m.capabilities
    typ, data = m.login("alice", "secret")
    assert typ == "OK" and b"CAPABILITY" in data[0]
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert m.untagged_responses.get("UIDVALIDITY")
    typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert typ == "OK" and len(data) == 3
    assert b"UID 1 " in data[0] and b"FLAGS (\\Recent)" in data[0]
    assert re.search(rb'RFC822\.SIZE \d+', data[0])
    assert re.search(rb'INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', data[0])
    typ, data = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: message 2\r\n\r\n"
    typ, data = m.fetch("2", "(ENVELOPE)")
    assert b'"message 2"' in data[0] and b'"Sender"' in data[0]
    typ, data = m.fetch("3", "(RFC822)")
    assert data[0][1].endswith(b"Body of message 3.\r\n")
    # a non-peek body fetch set \Seen
    typ, data = m.fetch("3", "(FLAGS)")
    assert b"\\Seen" in data[0]
    typ, data = m.fetch("1", "(BODY[]<0.5>)")
    assert data[0][1] == b"Retur" or data[0][1] == b"From:"
    m.logout()


def test_wrong_password_and_unknown_user(imap):
    m = connect(imap)
    t0 = time.time()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("alice", "wrong")
    assert time.time() - t0 >= 0.9
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("nobody", "secret")


def test_authenticate_plain(imap):
    c = imap.connect()
    c.line()
    assert c.cmd("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")[1].startswith(
        "a OK [CAPABILITY")
    c = imap.connect()
    c.line()
    c.send("b AUTHENTICATE PLAIN\r\n")
    assert c.line() == "+ "
    c.send("AGFsaWNlAHNlY3JldA==\r\n")
    assert c.line().startswith("b OK [CAPABILITY")
    assert c.cmd("c SELECT inbox")[1] == "c OK [READ-WRITE] SELECT completed"


def test_plaintextmincipher(imapd_factory):
    d = imapd_factory({"service.imap.plaintextmincipher": "128"}, users=("alice",))
    c = d.connect()
    greeting = c.line()
    assert "LOGINDISABLED" in greeting and "AUTH=PLAIN" not in greeting
    assert c.cmd("a LOGIN alice secret")[1].startswith("a NO [PRIVACYREQUIRED]")
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.starttls(ssl_context=client_tls_context())
    m.login("alice", "secret")
    m.logout()


def test_mailbox_commands(imap):
    m = connect(imap)
    m.login("alice", "secret")
    assert m.create("Work/Projects")[0] == "OK"
    assert m.create("Caf\u00e9".encode("utf-7").replace(b"+", b"&").decode())[0] == "OK"
    typ, data = m.list()
    names = [re.search(rb'"/" (.*)$', line).group(1).strip(b'"') for line in data]
    assert b"INBOX" in names and b"Work" in names and b"Work/Projects" in names
    assert b"Caf&AOk-" in names  # modified UTF-7 out, as it came in
    assert any(b"\\HasChildren" in line and line.endswith(b'"Work"') for line in data)
    assert m.rename("Work/Projects", "Work/Done")[0] == "OK"
    typ, data = m.list('""', "Work/*")
    assert [line.split(b'"/" ')[1].strip(b'"') for line in data] == [b"Work/Done"]
    assert m.subscribe("Work/Done")[0] == "OK"
    typ, data = m.lsub()
    assert data[0].endswith(b'"Work/Done"')
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
    assert b"MESSAGES 3" in data[0] and b"UIDNEXT 4" in data[0]
    typ, data = m.create("Work")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    typ, data = m.delete("Work")
    assert typ == "NO"
    assert m.delete("Work/Done")[0] == "OK"
    typ, data = m.select("Nope")
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    m.logout()


def test_store_search_expunge(imap):
    m = connect(imap)
    m.login("alice", "secret")
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = m.search(None, "DELETED")
    assert data == [b"1 2"]
    typ, data = m.uid("SEARCH", None, "UNDELETED")
    assert data == [b"3"]
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1", b"1"]
    typ, data = m.fetch("1", "(UID)")
    assert b"UID 3" in data[0]
    typ, data = m.uid("STORE", "3", "+FLAGS", "(\\Flagged $Important)")
    assert b"UID 3" in data[0] and b"$Important" in data[0]
    m.close()
    m.logout()


def test_other_sessions_changes_at_noop(imap):
    a, b = connect(imap), connect(imap)
    a.login("alice", "secret")
    b.login("alice", "secret")
    a.select("INBOX")
    b.select("INBOX")
    deliver(imap, "alice", 9)
    typ, data = a.noop()
    assert a.untagged_responses.get("EXISTS")[-1] == b"4"
    b.store("1", "+FLAGS", "(\\Deleted)")
    b.expunge()
    a.noop()
    assert a.untagged_responses.get("EXPUNGE") == [b"1"]
    a.logout()
    b.logout()


def test_commands_in_the_wrong_state(imap):
    c = imap.connect()
    c.line()
    assert c.cmd("a SELECT INBOX")[1] == "a BAD Command not valid in this state"
    assert c.cmd("b LOGIN alice")[1] == "b BAD Usage: LOGIN user password"
    assert c.cmd("c LOGIN alice secret")[1].startswith("c OK")
    assert c.cmd("d FETCH 1 FLAGS")[1] == "d BAD Command not valid in this state"
    assert c.cmd("e LOGIN alice secret")[1] == "e BAD Command not valid in this state"
    c.cmd("f SELECT INBOX")
    assert c.cmd("g FETCH 9 FLAGS")[1].startswith("g BAD No such message")
    # a part the message does not have is an empty string (docs/decisions.md)
    assert c.cmd("h FETCH 1 (BODY.PEEK[1.2])") == (["* 1 FETCH (BODY[1.2] {0}", ")"],
                                                   "h OK FETCH completed")
    assert c.cmd("i STORE 1 FROB (\\Seen)")[1] == "i BAD Unknown STORE item"


def test_enable(imap):
    """RFC 5161: only in the authenticated state, at least one capability atom; nothing is
    enableable yet, so "* ENABLED" lists nothing, whatever is asked (CONDSTORE, QRESYNC and
    UTF8=ACCEPT are not implemented)."""
    c = imap.connect()
    c.line()
    assert c.cmd("a ENABLE CONDSTORE")[1] == "a BAD Command not valid in this state"
    c.cmd("b LOGIN alice secret")
    untagged, tagged = c.cmd("c CAPABILITY")
    assert "ENABLE" in untagged[0].split()
    assert "CONDSTORE" not in untagged[0].split() and "UTF8=ACCEPT" not in untagged[0].split()
    assert c.cmd("d ENABLE")[1] == "d BAD Usage: ENABLE capability ..."
    assert c.cmd("e ENABLE CONDSTORE UTF8=ACCEPT QRESYNC X-NOT-A-THING") == (
        ["* ENABLED"], "e OK ENABLE completed")
    assert c.cmd("f enable utf8=accept") == (["* ENABLED"], "f OK ENABLE completed")
    bad_args = ['"CONDSTORE"', "(CONDSTORE)", "\\Seen", "CONDSTORE ()", "{3+}\r\nabc"]
    for n, bad in enumerate(bad_args):
        assert c.cmd(f"g{n} ENABLE {bad}") == (
            [], f"g{n} BAD ENABLE takes capability names (atoms)"), bad
    c.cmd("h SELECT INBOX")
    assert c.cmd("i ENABLE CONDSTORE")[1] == "i BAD Command not valid in this state"
    assert c.cmd("j NOOP")[1].startswith("j OK")
    m = connect(imap)
    m.login("alice", "secret")
    assert "ENABLE" in m.capabilities
    typ, data = m.enable("CONDSTORE")
    assert typ == "OK" and m.untagged_responses.get("ENABLED") in ([b""], [None])
    m.logout()


def test_copy_and_move(imap):
    m = connect(imap)
    m.login("alice", "secret")
    m.create("Archive")
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and re.search(rb"\[COPYUID \d+ 1,2 1,2\]", data[0])
    typ, data = m.copy("1", "Nowhere")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = m._simple_command("MOVE", "3", "Archive")
    assert typ == "OK"
    assert m.untagged_responses.get("EXPUNGE")[-1] == b"3"
    assert re.search(rb"COPYUID \d+ 3 3", b" ".join(m.untagged_responses.get("OK", [])))
    typ, data = m.status("Archive", "(MESSAGES)")
    assert b"MESSAGES 3" in data[0]
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert b"MESSAGES 2" in data[0]
    typ, data = m.uid("MOVE", "1", "Archive")
    assert typ == "OK"
    m.select("Archive")
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    ids = sorted(d[1].strip() for d in data if isinstance(d, tuple))
    assert ids == [b"Message-ID: <imap-1@test>", b"Message-ID: <imap-1@test>",
                   b"Message-ID: <imap-2@test>", b"Message-ID: <imap-3@test>"]
    m.logout()


def test_append(imap):
    m = connect(imap)
    m.login("alice", "secret")
    msg = b"From: a@example.org\r\nSubject: appended\r\nMessage-ID: <app-1@test>\r\n\r\n" + \
        b"line\r\n" * 20000
    typ, data = m.append("INBOX", "(\\Seen $Label1)", '"01-Jan-2024 10:00:00 +0100"', msg)
    assert typ == "OK" and re.search(rb"\[APPENDUID \d+ 4\]", data[0])
    typ, data = m.append("Nowhere", None, None, b"Subject: x\r\n\r\nx\r\n")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.select("INBOX")
    typ, data = m.fetch("4", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert b"\\Seen" in data[0][0] and b"$Label1" in data[0][0]
    assert b'"01-Jan-2024 10:00:00 +0100"' in data[0][0]
    assert data[0][1] == msg
    # LITERAL+ and a bare-LF message (stored with CRLF)
    c = imap.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    c.send("b APPEND INBOX {19+}\r\nSubject: lf\n\nbody\n\r\n")
    assert c.line().startswith("b OK [APPENDUID")
    assert c.cmd("c SELECT INBOX")[1].endswith("SELECT completed")
    untagged, done = c.cmd("d FETCH 5 (RFC822.SIZE)")
    assert untagged == ["* 5 FETCH (RFC822.SIZE 22)"]
    # into the selected mailbox: EXISTS comes with the reply (RFC 3501 6.3.11)
    c.send("g APPEND INBOX {19+}\r\nSubject: lf\n\nbody\n\r\n")
    assert c.line() == "* 6 EXISTS"
    assert c.line().startswith("g OK [APPENDUID")
    untagged, done = c.cmd("h COPY 5:6 INBOX")
    assert untagged == ["* 8 EXISTS"] and done.startswith("h OK [COPYUID")
    # an APPEND before login is refused before the data is sent
    c = imap.connect()
    c.line()
    c.send("e APPEND INBOX {5}\r\n")
    assert c.line() == "e BAD Command not valid in this state"
    assert c.cmd("f NOOP")[1] == "f OK NOOP completed"


def test_uid_expunge(imap):
    m = connect(imap)
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("1:3", "+FLAGS", "(\\Deleted)")
    typ, data = m.uid("EXPUNGE", "2")
    assert typ == "OK"
    typ, data = m.uid("SEARCH", None, "ALL")
    assert data == [b"1 3"]  # only UID 2 went, though 1 and 3 are \Deleted too
    m.logout()
