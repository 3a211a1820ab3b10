"""SEARCH and UID SEARCH (RFC 3501 6.4.4) through imaplib and scripted sessions: every key,
NOT / OR / lists nested, INTERNALDATE and Date: dates around midnight in other zones, HEADER
with "", BODY in base64 and quoted-printable parts (charset converted), an RFC 2047 subject
searched in UTF-8 through literals, a large message searched without imapd holding it, errors,
and SORT with the same keys."""
import base64
import imaplib
import re

import pytest

from conftest import store_tool

PLAIN = ("From: \"Alice Example\" <alice@example.org>\r\n"
         "To: bob@example.org\r\n"
         "Cc: carol@x.org\r\n"
         "Bcc: dave@x.org\r\n"
         "Subject: Lunch plans\r\n"
         "X-Tag: blue\r\n"
         "Date: Tue, 05 Mar 2024 23:30:00 -0500\r\n"
         "Message-ID: <s1@test>\r\n"
         "\r\n"
         "Let's meet at noon.\r\n")

ENCODED = ("From: bob@example.org\r\n"
           "To: alice@example.org\r\n"
           "Subject: =?utf-8?q?Caf=C3=A9_cr=C3=A8me?=\r\n"
           "Date: Wed, 06 Mar 2024 00:30:00 +0100\r\n"
           "Message-ID: <s2@test>\r\n"
           "\r\n"
           "nothing to see\r\n")

MULTIPART = ("From: carol@x.org\r\n"
             "To: alice@example.org\r\n"
             "Subject: parts\r\n"
             "Message-ID: <s3@test>\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
             "\r\n"
             "preamble\r\n"
             "--b1\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n"
             + base64.encodebytes("Der B\u00e4r ist m\u00fcde.\r\n".encode()).decode()
             .replace("\n", "\r\n") +
             "--b1\r\n"
             "Content-Type: text/html; charset=iso-8859-1\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n"
             "\r\n"
             "<p>caf=E9 au lait, split=\r\nword</p>\r\n"
             "--b1\r\n"
             "Content-Type: application/octet-stream\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n"
             + base64.b64encode(b"secretword").decode() + "\r\n"
             "--b1--\r\n")

LATER = ("From: dave@x.org\r\n"
         "To: alice@example.org\r\n"
         "Subject: Re: lunch PLANS\r\n"
         "Date: not a date at all\r\n"
         "Message-ID: <s4@test>\r\n"
         "\r\n" + "padding line\r\n" * 100)

# (message, INTERNALDATE): as sequence numbers 1-4, UIDs 2-5
MESSAGES = [
    (PLAIN, "05-Mar-2024 23:30:00 -0500"),      # 06-Mar in UTC
    (ENCODED, "06-Mar-2024 00:30:00 +0100"),    # 05-Mar in UTC
    (MULTIPART, "07-Mar-2024 00:00:00 +0000"),
    (LATER, "04-Mar-2024 12:00:00 +0000"),
]


@pytest.fixture
def box(imapd_factory):
    d = imapd_factory(users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    m.append("INBOX", None, None, b"Subject: gone\r\n\r\nx\r\n")
    for text, date in MESSAGES:
        typ, _ = m.append("INBOX", None, f'"{date}"', text.encode())
        assert typ == "OK"
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.store("1", "+FLAGS", "(\\Seen \\Answered)")
    m.store("2", "+FLAGS", "(\\Flagged)")
    m.store("3", "+FLAGS", "(\\Draft \\Deleted)")
    m.store("4", "+FLAGS", "($Work)")
    yield d, m
    m.logout()


def search(m, *keys, charset=None):
    typ, data = m.search(charset, *keys)
    assert typ == "OK", (keys, data)
    return [int(x) for x in data[0].split()]


def test_flags_sizes_sets(box):
    d, m = box
    for keys, want in [
        (("ALL",), [1, 2, 3, 4]),
        (("SEEN",), [1]), (("UNSEEN",), [2, 3, 4]),
        (("ANSWERED",), [1]), (("UNANSWERED",), [2, 3, 4]),
        (("FLAGGED",), [2]), (("UNFLAGGED",), [1, 3, 4]),
        (("DRAFT",), [3]), (("UNDRAFT",), [1, 2, 4]),
        (("DELETED",), [3]), (("UNDELETED",), [1, 2, 4]),
        (("KEYWORD", "$Work"), [4]), (("KEYWORD", "$work"), [4]),
        (("UNKEYWORD", "$Work"), [1, 2, 3]), (("KEYWORD", "$Other"), []),
        (("KEYWORD", "\\Seen"), [1]),
        (("2:3",), [2, 3]), (("*",), [4]), (("1,3:*",), [1, 3, 4]),
        (("UID", "2:3"), [1, 2]), (("UID", "*"), [4]), (("UID", "99"), []),
        (("UID", "5:4"), [3, 4]),
    ]:
        assert search(m, *keys) == want, keys
    sizes = [len(text.encode()) for text, _ in MESSAGES]
    for i, size in enumerate(sizes, 1):
        assert i in search(m, "LARGER", str(size - 1))
        assert i not in search(m, "LARGER", str(size))
        assert i in search(m, "SMALLER", str(size + 1))
        assert i not in search(m, "SMALLER", str(size))
    typ, data = m.uid("SEARCH", None, "UNSEEN")
    assert typ == "OK" and data == [b"3 4 5"]


def test_sets_beyond_the_mailbox_match_nothing(box, imapd_factory):
    """A sequence set is a criterion here, not an address (unlike FETCH): numbers beyond the
    mailbox match nothing, and "1:*" works on an empty mailbox (clients send it)."""
    d, m = box
    assert search(m, "9") == []
    assert search(m, "3:9") == [3, 4]
    m.create("Empty")
    m.select("Empty")
    assert search(m, "1:*") == []
    typ, data = m.uid("SEARCH", "1:*", "NOT", "DELETED")
    assert typ == "OK" and data == [b""]


def test_recent_new_old(box):
    d, m = box
    # this session selected first: all four are \Recent for it
    assert search(m, "RECENT") == [1, 2, 3, 4]
    assert search(m, "NEW") == [2, 3, 4]
    assert search(m, "OLD") == []
    other = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    other.login("alice", "secret")
    other.select("INBOX", readonly=True)
    assert search(other, "RECENT") == []
    assert search(other, "NEW") == []
    assert search(other, "OLD") == [1, 2, 3, 4]
    other.logout()


def test_headers(box):
    d, m = box
    for keys, want in [
        (("FROM", "alice"), [1]),
        (("FROM", "EXAMPLE.ORG"), [1, 2]),
        (("FROM", '"Alice Example"'), [1]),
        (("TO", "bob"), [1]),
        (("CC", "carol"), [1]),
        (("BCC", "dave@x.org"), [1]),
        (("SUBJECT", "lunch"), [1, 4]),
        (("SUBJECT", '"LUNCH PLANS"'), [1, 4]),
        (("SUBJECT", "creme"), []),  # é is no e
        (("HEADER", "X-Tag", '""'), [1]),
        (("HEADER", "x-tag", "BLUE"), [1]),
        (("HEADER", "X-Tag", "green"), []),
        (("HEADER", "X-Missing", '""'), []),
        (("HEADER", "Message-ID", '""'), [1, 2, 3, 4]),
        (("HEADER", "Content-Type", "multipart"), [3]),
    ]:
        assert search(m, *keys) == want, keys


def test_encoded_subject_through_literals(box):
    d, m = box
    # imaplib sends the string as a synchronising literal
    m.literal = "CAF\u00c9".encode()
    assert search(m, "SUBJECT", charset="UTF-8") == [2]
    m.literal = "caf\u00e9 cr\u00e8me".encode()
    assert search(m, "SUBJECT", charset="UTF-8") == [2]
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    c.cmd("b EXAMINE INBOX")
    c.send("c SEARCH CHARSET UTF-8 SUBJECT {6}\r\n")
    assert c.line().startswith("+ ")
    c.send("CR\u00c8ME\r\n".encode())
    assert c.line() == "* SEARCH 2"
    assert c.line() == "c OK SEARCH completed"
    # LITERAL+ (RFC 7888): no continuation
    c.send("d UID SEARCH charset utf-8 TEXT {6+}\r\ncr\u00e8me NOT SEEN\r\n".encode())
    assert c.line() == "* SEARCH 3"
    assert c.line() == "d OK UID SEARCH completed"
    assert c.cmd("e SEARCH CHARSET US-ASCII SUBJECT cafe") == (["* SEARCH"],
                                                                "e OK SEARCH completed")
    c.close()


def test_body_and_text(box):
    d, m = box
    for keys, want in [
        (("BODY", "noon"), [1]),
        (("BODY", "NOON"), [1]),
        (("BODY", "lunch"), []),        # only in the header
        (("TEXT", "lunch"), [1, 4]),
        (("TEXT", "noon"), [1]),
        (("TEXT", "alice@example.org"), [1, 2, 3, 4]),
        (("TEXT", '"x-tag: blue"'), [1]),
        (("BODY", '"padding line"'), [4]),
        (("BODY", '""'), [1, 2, 3, 4]),
        (("BODY", "secretword"), []),    # an attachment is no text
        (("BODY", "preamble"), []),
        (("BODY", "split=word"), []),    # quoted-printable is decoded
        (("BODY", "splitword"), [3]),
        (("BODY", "=E9"), []),
    ]:
        assert search(m, *keys) == want, keys
    m.literal = "b\u00c4r IST".encode()  # base64, UTF-8
    assert search(m, "BODY", charset="UTF-8") == [3]
    m.literal = "Caf\u00e9 au lait".encode()  # quoted-printable, ISO-8859-1
    assert search(m, "BODY", charset="UTF-8") == [3]
    m.literal = "M\u00dcDE".encode()
    assert search(m, "TEXT", charset="UTF-8") == [3]


def test_dates(box):
    d, m = box
    # INTERNALDATE's own date, its time and zone ignored: 1 is 05-Mar at -0500 (06-Mar UTC),
    # 2 is 06-Mar at +0100 (05-Mar UTC)
    for keys, want in [
        (("ON", "5-Mar-2024"), [1]),
        (("ON", "06-Mar-2024"), [2]),
        (("ON", '"7-mar-2024"'), [3]),
        (("BEFORE", "6-Mar-2024"), [1, 4]),
        (("BEFORE", "5-Mar-2024"), [4]),
        (("SINCE", "6-Mar-2024"), [2, 3]),
        (("SINCE", "7-Mar-2024"), [3]),
        (("SINCE", "8-Mar-2024"), []),
        (("SINCE", "1-Jan-2024", "BEFORE", "1-Jan-2025"), [1, 2, 3, 4]),
        # Date: in its own zone; 3 has none and 4 a bad one: their INTERNALDATE
        (("SENTON", "5-Mar-2024"), [1]),
        (("SENTON", "6-Mar-2024"), [2]),
        (("SENTON", "7-Mar-2024"), [3]),
        (("SENTON", "4-Mar-2024"), [4]),
        (("SENTBEFORE", "6-Mar-2024"), [1, 4]),
        (("SENTSINCE", "6-Mar-2024"), [2, 3]),
        (("SENTSINCE", "5-Mar-2024", "SENTBEFORE", "7-Mar-2024"), [1, 2]),
    ]:
        assert search(m, *keys) == want, keys


def test_not_or_nesting(box):
    d, m = box
    for keys, want in [
        (("NOT", "SEEN"), [2, 3, 4]),
        (("NOT", "NOT", "SEEN"), [1]),
        (("OR", "SEEN", "FLAGGED"), [1, 2]),
        (("NOT", "OR", "SEEN", "FLAGGED"), [3, 4]),
        (("OR", "(SEEN FLAGGED)", "DRAFT"), [3]),
        (("NOT", "(OR SEEN (NOT FLAGGED))"), [2]),
        (("OR", "OR", "SEEN", "FLAGGED", "KEYWORD", "$Work"), [1, 2, 4]),
        (("OR", "BODY", "noon", "SUBJECT", "plans"), [1, 4]),
        (("OR", "BODY", "noon", "FROM", "bob"), [1, 2]),
        (("NOT", "BODY", "noon", "UNDELETED"), [2, 4]),
        (("(((UNSEEN)))", "(NOT (DRAFT))"), [2, 4]),
        (("OR", "SENTON", "4-Mar-2024", "(TEXT", "splitword)"), [3, 4]),
        (("2:4", "NOT", "UID", "4", "OR", "LARGER", "1000", "HEADER", "X-Tag", '""'), [4]),
    ]:
        assert search(m, *keys) == want, keys


def test_errors(box):
    d, m = box
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    assert c.cmd("b SEARCH ALL")[1] == "b BAD Command not valid in this state"
    c.cmd("c SELECT INBOX")
    for line, want in [
        ("e SEARCH", "e BAD Missing search keys"),
        ("e SEARCH FROB", "e BAD Unknown search key: FROB"),
        ("e SEARCH SEEN frob", "e BAD Unknown search key: frob"),
        ("e SEARCH \"SEEN\"", "e BAD Expected a search key, not a string"),
        ("e SEARCH FROM", "e BAD Missing or invalid argument to search key: FROM"),
        ("e SEARCH HEADER Subject", "e BAD Missing or invalid argument to search key: HEADER"),
        ("e SEARCH BEFORE", "e BAD Missing or invalid argument to search key: BEFORE"),
        ("e SEARCH BEFORE 32-Jan-2024",
         "e BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"),
        ("e SEARCH SENTON 2024-03-05",
         "e BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"),
        ("e SEARCH LARGER big", "e BAD Invalid number for search key: LARGER"),
        ("e SEARCH KEYWORD \\Frob", "e BAD KEYWORD takes a keyword or a system flag"),
        ("e SEARCH NOT", "e BAD Missing operand of search key: NOT"),
        ("e SEARCH OR SEEN", "e BAD Missing operand of search key: OR"),
        ("e SEARCH ()", "e BAD Empty list of search keys"),
        ("e SEARCH UID", "e BAD Missing or invalid argument to search key: UID"),
        ("e SEARCH 0", "e BAD Invalid sequence number 0"),
        ("e SEARCH " + "NOT " * 33 + "SEEN", "e BAD Search keys nested too deeply (limit 32)"),
        ("e SEARCH " + "OR SEEN " * 40 + "SEEN",
         "e BAD Search keys nested too deeply (limit 32)"),
        ("e SEARCH " + "NOT (" * 17 + "SEEN" + ")" * 17,
         "e BAD Search keys nested too deeply (limit 32)"),
        ("e SEARCH " + "(" * 33 + "SEEN" + ")" * 33, "e BAD Lists nested too deeply (limit 32)"),
        ("e SEARCH CHARSET", "e BAD Missing charset"),
        ("e SEARCH CHARSET UTF-8", "e BAD Missing search keys"),
        ("e SEARCH CHARSET ISO-8859-1 ALL",
         "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
        ("e SEARCH CHARSET \"\" SEEN", "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
        ("e UID SEARCH CHARSET KOI8-R ALL",
         "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
        ("e SEARCH ALL CHARSET UTF-8", "e BAD Unknown search key: CHARSET"),
    ]:
        assert c.cmd(line) == ([], want), line
    # the deepest program allowed still runs
    assert c.cmd("f SEARCH " + "NOT " * 32 + "SEEN") == (["* SEARCH 1"], "f OK SEARCH completed")
    assert c.cmd("g SEARCH " + "(" * 32 + "SEEN" + ")" * 32) == (["* SEARCH 1"],
                                                                 "g OK SEARCH completed")
    assert c.cmd("h search charset utf-8 unseen") == (["* SEARCH 2 3 4"],
                                                      "h OK SEARCH completed")
    assert c.cmd("i NOOP")[1].startswith("i OK")
    c.close()


def test_sort_with_search_keys(box):
    d, m = box
    typ, data = m.sort("(SUBJECT)", "UTF-8", "OR", "BODY", "noon", "FROM", "bob")
    assert typ == "OK" and data == [b"2 1"]  # base subjects "Café crème", "Lunch plans"
    # 1 was sent at 04:30Z on 6 March, 2 at 23:30Z on 5 March
    typ, data = m.sort("(REVERSE DATE)", "UTF-8", "SENTSINCE", "5-Mar-2024", "NOT", "DRAFT")
    assert typ == "OK" and data == [b"1 2"]
    typ, data = m.uid("SORT", "(SIZE)", "US-ASCII", "TEXT", "lunch")
    assert typ == "OK" and data == [b"2 5"]
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    c.cmd("b SELECT INBOX")
    assert c.cmd("c SORT (ARRIVAL) UTF-8 BEFORE 99-Mar-2024") == (
        [], "c BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)")
    assert c.cmd("d SORT (ARRIVAL) UTF-8 OR KEYWORD $Work (SEEN ANSWERED)") == (
        ["* SORT 4 1"], "d OK SORT completed")
    c.close()


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1))


def proc_rchar(pid):
    with open(f"/proc/{pid}/io") as f:
        return int(re.search(r"rchar:\s+(\d+)", f.read()).group(1))


def test_large_body_streams(imapd_factory):
    d = imapd_factory(users=("alice",))
    text = ("All work and no play makes a dull message. " * 24 + "\r\n") * 10000
    text += "the needle-at-the-end is here\r\n"
    raw = ("From: big@example.org\r\nTo: alice@example.org\r\nSubject: big\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
           "\r\n" + base64.encodebytes(text.encode()).decode().replace("\n", "\r\n"))
    assert len(raw) > 12 * 1024 * 1024
    r = store_tool(d.conf_path, "deliver", "alice", stdin=raw.encode())
    assert r.returncode == 0, r.stderr
    r = store_tool(d.conf_path, "deliver", "alice",
                   stdin=b"Subject: small\r\n\r\nthe needle-at-the-end\r\n")
    assert r.returncode == 0, r.stderr
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Seen)")
    pid = d.proc.pid
    with open(f"/proc/{pid}/maps") as f:
        sanitized = "libasan" in f.read()
    # a cheap key that fails keeps the body file closed: nothing near its size is read
    before = proc_rchar(pid)
    assert search(m, "SEEN", "BODY", "needle-at-the-end") == [2]
    assert proc_rchar(pid) - before < 1024 * 1024
    hwm, rss = proc_status(pid, "VmHWM"), proc_status(pid, "VmRSS")
    before = proc_rchar(pid)
    assert search(m, "BODY", "needle-at-the-end") == [1, 2]
    assert proc_rchar(pid) - before >= len(raw) - 1024
    assert search(m, "BODY", '"NEEDLE-AT-THE-END IS"', "LARGER", "1000") == [1]
    assert search(m, "BODY", "needle-at-the-start") == []
    # ASan's quarantine keeps freed buffers, so memory says nothing there; the plain build
    # checks that the body was streamed rather than held (VmHWM and VmRSS are in kB)
    if not sanitized:
        assert proc_status(pid, "VmHWM") - hwm < 4 * 1024, "imapd grew by the message size"
        assert proc_status(pid, "VmRSS") - rss < 4 * 1024
    m.logout()


def test_body_of_embedded_message(imapd_factory):
    d = imapd_factory(users=("alice",))
    inner = ("From: inner@example.org\r\nSubject: =?iso-8859-1?q?R=E9sum=E9?=\r\n"
             "Content-Type: text/plain; charset=iso-8859-1\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve inner text\r\n")
    outer = ("From: outer@example.org\r\nSubject: forwarded\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n"
             "Content-Type: text/plain\r\n\r\nsee attached\r\n--x\r\n"
             "Content-Type: message/rfc822\r\n\r\n" + inner + "--x--\r\n")
    r = store_tool(d.conf_path, "deliver", "alice", stdin=outer.encode())
    assert r.returncode == 0, r.stderr
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    assert search(m, "BODY", "attached") == [1]
    assert search(m, "BODY", "inner@example.org") == [1]  # the inner header is body
    assert search(m, "FROM", "inner") == []
    m.literal = "r\u00c9SUM\u00c9".encode()
    assert search(m, "BODY", charset="UTF-8") == [1]
    m.literal = "na\u00efve INNER".encode()
    assert search(m, "TEXT", charset="UTF-8") == [1]
    m.logout()
