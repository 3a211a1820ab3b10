"""SORT and UID SORT (RFC 5256) through imaplib and scripted sessions: every sort key, REVERSE,
base subjects with Re:/Fwd:/[blob]/(fwd) and RFC 2047 words, DATE falling back to the
INTERNALDATE, ties in mailbox order, search keys, charsets and bad input."""
import imaplib

import pytest

# (subject, from, to, cc, date, internaldate day in March 2024, body padding)
MESSAGES = [
    ("Re: banana", "carol@x.org", "zed@x.org", "m@x.org", "Mon, 01 Jan 2024 10:00:00 +0000", 5,
     300),
    ("apple", "Bob <Bob@x.org>", "amy@x.org", None, "Mon, 01 Jan 2024 09:00:00 -0300", 1, 5000),
    ("[list] Fwd: Cherry", "alice@x.org", "Bob@x.org", "a@x.org", None, 4, 10),
    ("=?utf-8?q?=C3=A9clair?=", "dave@x.org", "amy@x.org", None,
     "Sun, 31 Dec 2023 23:00:00 +0000", 2, 1000),
    ("APPLE (fwd)", "bob@x.org", "Zed@x.org", "b@x.org", "not a date", 3, 100),
]


def raw(i):
    subject, frm, to, cc, date, _, pad = MESSAGES[i - 1]
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <sort-{i}@test>"]
    if cc:
        lines.append(f"Cc: {cc}")
    if date:
        lines.append(f"Date: {date}")
    return ("\r\n".join(lines) + "\r\n\r\n" + "p" * pad + "\r\n").encode()


@pytest.fixture
def sorted_box(imapd_factory):
    """INBOX with the five messages as sequence numbers 1-5 and UIDs 2-6."""
    d = imapd_factory(users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    m.append("INBOX", None, None, b"Subject: gone\r\n\r\nx\r\n")
    for i in range(1, 6):
        day = MESSAGES[i - 1][5]
        typ, _ = m.append("INBOX", None, f'"0{day}-Mar-2024 10:00:00 +0000"', raw(i))
        assert typ == "OK"
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    yield d, m
    m.logout()


def sort(m, criteria, *search):
    typ, data = m.sort(criteria, "UTF-8", *(search or ("ALL",)))
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def test_sort_keys(sorted_box):
    d, m = sorted_box
    assert "SORT" in m.capability()[1][0].decode().split()
    # base subjects: banana, apple, Cherry, éclair (decoded, after every ASCII letter), APPLE
    assert sort(m, "(SUBJECT)") == [2, 5, 1, 3, 4]
    assert sort(m, "(REVERSE SUBJECT)") == [4, 3, 1, 2, 5]  # the apple tie stays 2, 5
    assert sort(m, "(SUBJECT REVERSE ARRIVAL)") == [5, 2, 1, 3, 4]
    assert sort(m, "(ARRIVAL)") == [2, 4, 5, 3, 1]
    assert sort(m, "(REVERSE ARRIVAL)") == [1, 3, 5, 4, 2]
    # 1 is 10:00Z, 2 is 12:00Z; 3 has no Date and 5 a bad one: their INTERNALDATE (March)
    assert sort(m, "(DATE)") == [4, 1, 2, 5, 3]
    assert sort(m, "(FROM)") == [3, 2, 5, 1, 4]  # alice, Bob = bob, carol, dave
    assert sort(m, "(TO)") == [2, 4, 3, 1, 5]
    assert sort(m, "(CC)") == [2, 4, 3, 5, 1]  # no Cc sorts first
    sizes = {i: len(raw(i)) for i in range(1, 6)}
    assert sort(m, "(SIZE)") == sorted(sizes, key=lambda i: (sizes[i], i))
    assert sort(m, "(REVERSE SIZE)") == sorted(sizes, key=lambda i: (-sizes[i], i))
    assert sort(m, "(TO REVERSE FROM)") == [4, 2, 3, 1, 5]  # amy: dave, Bob; zed: carol, bob


def test_sort_search_keys_and_uid(sorted_box):
    d, m = sorted_box
    assert sort(m, "(SUBJECT)", "2:4") == [2, 3, 4]
    assert sort(m, "(REVERSE SUBJECT)", "2:4") == [4, 3, 2]
    m.store("2", "+FLAGS", "(\\Seen)")
    assert sort(m, "(SUBJECT)", "UNSEEN") == [5, 1, 3, 4]
    assert sort(m, "(SUBJECT)", "SEEN") == [2]
    assert sort(m, "(SUBJECT)", "DELETED") == []
    assert sort(m, "(SUBJECT)", "UID", "3:5") == [2, 3, 4]
    typ, data = m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
    assert typ == "OK" and data == [b"3 6 2 4 5"]
    typ, data = m.uid("SORT", "(DATE)", "US-ASCII", "UNSEEN")
    assert typ == "OK" and data == [b"5 2 6 4"]


def test_sort_errors(sorted_box):
    d, m = sorted_box
    c = d.connect()
    c.line()
    assert c.cmd("a SORT (SUBJECT) UTF-8 ALL")[1] == "a BAD Command not valid in this state"
    c.cmd("b LOGIN alice secret")
    assert c.cmd("c SORT (SUBJECT) UTF-8 ALL")[1] == "c BAD Command not valid in this state"
    c.cmd("d SELECT INBOX")
    for line, want in [
        ("e SORT", "e BAD Usage: SORT (criteria) charset search-keys"),
        ("e SORT (SUBJECT)", "e BAD Usage: SORT (criteria) charset search-keys"),
        ("e SORT (SUBJECT) UTF-8", "e BAD Usage: SORT (criteria) charset search-keys"),
        ("e SORT () UTF-8 ALL", "e BAD Sort criteria must be a parenthesised list of sort keys"),
        ("e SORT SUBJECT UTF-8 ALL",
         "e BAD Sort criteria must be a parenthesised list of sort keys"),
        ("e SORT (REVERSE) UTF-8 ALL", "e BAD REVERSE must be followed by a sort key"),
        ("e SORT (REVERSE REVERSE DATE) UTF-8 ALL",
         "e BAD REVERSE must be followed by a sort key"),
        ("e SORT (SUBJECT FROB) UTF-8 ALL", "e BAD Unknown sort key"),
        ("e SORT (\"SUBJECT\") UTF-8 ALL", "e BAD Sort criteria must be sort keys (atoms)"),
        ("e SORT ((DATE)) UTF-8 ALL", "e BAD Sort criteria must be sort keys (atoms)"),
        ("e SORT (" + " ".join(["DATE"] * 17) + ") UTF-8 ALL", "e BAD Too many sort criteria"),
        ("e SORT (DATE) (UTF-8) ALL", "e BAD Missing charset"),
        ("e SORT (DATE) ISO-8859-1 ALL",
         "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
        ("e SORT (DATE) \"\" ALL", "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
        ("e SORT (DATE) UTF-8 0", "e BAD Invalid sequence number 0"),
        ("e SORT (DATE) UTF-8 FROB", "e BAD Unknown search key: FROB"),
        ("e SORT (DATE) UTF-8 CHARSET UTF-8 ALL", "e BAD Unknown search key: CHARSET"),
        ("e UID SORT (DATE)", "e BAD Usage: UID SORT (criteria) charset search-keys"),
        ("e UID SORT (DATE) KOI8-R ALL",
         "e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"),
    ]:
        untagged, tagged = c.cmd(line)
        assert (untagged, tagged) == ([], want), line
    # a sequence set is a criterion: numbers beyond the mailbox match nothing
    assert c.cmd("e SORT (DATE) UTF-8 9:10") == (["* SORT"], "e OK SORT completed")
    assert c.cmd("f sort (date) utf-8 all") == (["* SORT 4 1 2 5 3"], "f OK SORT completed")
    assert c.cmd('g SORT (DATE) "us-ascii" 1:2') == (["* SORT 1 2"], "g OK SORT completed")
    assert c.cmd("h UID SORT (DATE) UTF-8 ALL") == (["* SORT 5 2 3 6 4"],
                                                   "h OK UID SORT completed")
    assert c.cmd("i NOOP")[1].startswith("i OK")
