"""SEARCH FROM / TO / CC / BCC / SUBJECT and HEADER on the fields delivery copies into the MIME
record (store/store-hfield.h): the answers must be the header block's, where the ENVELOPE would
differ (encoded words split over folds, a second Subject or Message-ID, quoted names, no Subject,
an empty one, "Subject :"), and where the copy leaves a field out (raw 8-bit octets, a field
past 2 KiB) the body file still answers. The same searches run again after the records are
rewritten in their first format (store-mime-v1), as a store written before the copy holds
them, and must not change; and with the copy, those keys leave the body files unread."""
import os
import subprocess

import pytest

from conftest import BUILD

LONG_TO = "To: " + ", ".join(f"member{i:04d}@lists.example" for i in range(120)) + "\r\n"

MESSAGES = [
    # 1: encoded words over a fold, then a second Subject the ENVELOPE would not hold
    b"From: \"Alice Example\" <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n =?utf-8?q?_cr=C3=A8me?= menu\r\n"
    b"Subject: second subject line\r\n"
    b"Message-ID: <one@test>\r\n"
    b"\r\n"
    b"Subject: a body line, not a field\r\n",
    # 2: no Subject at all; two Message-IDs; Cc folded; Bcc
    b"From: carol@x.org\r\n"
    b"Cc: first@x.org,\r\n\tsecond@x.org\r\n"
    b"Bcc: hidden@x.org\r\n"
    b"Message-ID: <two-a@test>\r\n"
    b"Message-ID: <two-b@test>\r\n"
    b"In-Reply-To: <one@test>\r\n"
    b"\r\n"
    b"body\r\n",
    # 3: an empty Subject, a name spaced from its colon, raw Latin-1 (not UTF-8) in From
    b"From: Ren\xe9 <rene@x.org>\r\n"
    b"Subject:\r\n"
    b"To : spaced@x.org\r\n"
    b"Message-ID: <three@test>\r\n"
    b"\r\n"
    b"body\r\n",
    # 4: a To past what the record keeps; Subject with an encoded word of an unknown charset
    b"From: dave@x.org\r\n" + LONG_TO.encode() +
    b"Subject: =?bogus?q?not_really?= plain words\r\n"
    b"Message-ID: <four@test>\r\n"
    b"\r\n"
    b"body\r\n",
]

# (keys, charset, expected UIDs; 5 is the message with the large header block below)
SEARCHES = [
    (["SUBJECT", "caf\u00e9 CR\u00c8ME"], "UTF-8", [1]),
    (["SUBJECT", "second"], None, [1]),           # the second Subject field
    (["SUBJECT", "body line"], None, []),         # past the header block
    (["SUBJECT", ""], None, [1, 3, 4, 5]),        # has a Subject, even an empty one
    (["NOT", "SUBJECT", ""], None, [2]),
    (["HEADER", "Subject", ""], None, [1, 3, 4, 5]),
    (["SUBJECT", "not really"], None, [4]),
    (["SUBJECT", "plain"], None, [4]),
    (["FROM", '"Alice Example"'], None, [1]),     # the quotes are in the field, not the ENVELOPE
    (["FROM", "alice@example"], None, [1]),
    (["FROM", "rene@x.org"], None, [3]),          # left out of the record: the file answers
    (["TO", "spaced@x.org"], None, [3]),
    (["TO", "member0119@lists"], None, [4]),      # left out of the record (too long)
    (["TO", "bob"], None, [1]),
    (["CC", "second@x.org"], None, [2]),
    (["CC", ""], None, [2]),
    (["BCC", "hidden"], None, [2]),
    (["HEADER", "Message-ID", "<two-b@test>"], None, [2]),
    (["HEADER", "MESSAGE-ID", "two-a"], None, [2]),
    (["HEADER", "Message-ID", "<three@test>"], None, [3]),
    (["HEADER", "In-Reply-To", "one@test"], None, [2]),
    (["HEADER", "In-Reply-To", ""], None, [2]),
    (["OR", "SUBJECT", "second", "HEADER", "Message-ID", "four@"], None, [1, 4]),
    (["SEEN", "SUBJECT", "second"], None, []),
    (["NOT", "FROM", "x.org"], None, [1]),
]


def quoted(s):
    if s != "" and not any(ch in s for ch in ' "\\()'):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_search(c, tag, keys, charset):
    """One UID SEARCH over the raw session (non-ASCII strings as literals); its UIDs."""
    line = f"{tag} UID SEARCH" + (f" CHARSET {charset}" if charset else "")
    for k in keys:
        if k.isascii():
            line += " " + quoted(k)
        else:
            data = k.encode()
            c.send(f"{line} {{{len(data)}+}}\r\n".encode() + data)
            line = ""
    c.send((line + "\r\n").encode())
    lines = []
    while True:
        ln = c.line()
        lines.append(ln)
        if ln.startswith(tag + " "):
            break
    assert lines[-1].startswith(f"{tag} OK"), (keys, lines)
    found = [ln for ln in lines if ln.startswith("* SEARCH")]
    assert len(found) == 1, (keys, lines)
    return [int(x) for x in found[0].split()[2:]]


def run_all(d):
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    c.cmd("b SELECT INBOX")
    got = [uid_search(c, f"s{i}", keys, cs) for i, (keys, cs, _) in enumerate(SEARCHES)]
    c.close()
    return got


def proc_rchar(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar")


def rchar_of_searches(d, keys):
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    c.cmd("b SELECT INBOX")
    before = proc_rchar(d.proc.pid)
    for i in range(5):
        uid_search(c, f"r{i}", keys, None)
    n = proc_rchar(d.proc.pid) - before
    c.close()
    return n


def test_fields_from_the_record_and_from_the_file(imapd_factory):
    d = imapd_factory(users=("alice",))
    c = d.connect()
    c.line()
    c.cmd("a LOGIN alice secret")
    for i, msg in enumerate(MESSAGES):
        c.send(f"p{i} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        assert c.line().startswith(f"p{i} OK"), i
    # a large header block: reading it shows in rchar
    pad = b"".join(b"X-Pad-%05d: %s\r\n" % (i, b"p" * 60) for i in range(2000))
    big = b"From: big@x.org\r\nSubject: padded\r\n" + pad + b"Message-ID: <big@test>\r\n\r\nx\r\n"
    c.send(f"q APPEND INBOX {{{len(big)}+}}\r\n".encode() + big + b"\r\n")
    assert c.line().startswith("q OK")
    c.close()

    want = [w for _, _, w in SEARCHES]
    assert run_all(d) == want
    with_copy = rchar_of_searches(d, ["SUBJECT", "padded", "HEADER", "Message-ID", "big@"])

    r = subprocess.run([os.path.join(BUILD, "tests/tools/store-mime-v1"), str(d.store), "alice"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "5", (r.stdout, r.stderr)
    assert run_all(d) == want
    without = rchar_of_searches(d, ["SUBJECT", "padded", "HEADER", "Message-ID", "big@"])
    assert with_copy < len(pad), (with_copy, without)
    assert without >= 5 * len(pad), (with_copy, without)


def until_tagged(c, tag):
    lines = [c.line()]
    while not lines[-1].startswith(tag + " "):
        lines.append(c.line())
    return lines


def test_view_changes_under_a_search(imapd_factory):
    """SEARCH on the copied fields walks the session's view rather than the listed messages:
    a message another session expunged is not found (its records are gone), one appended
    after the view was taken is found only once the session has been told of it."""
    d = imapd_factory(users=("alice",))
    a, b = d.connect(), d.connect()
    for c in (a, b):
        c.line()
        c.cmd("a LOGIN alice secret")
    for i in range(4):
        msg = f"Subject: same topic {i}\r\nMessage-ID: <v{i}@test>\r\n\r\nx\r\n".encode()
        a.send(f"p{i} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        assert a.line().startswith(f"p{i} OK")
    a.cmd("s SELECT INBOX")
    b.cmd("s SELECT INBOX")
    assert uid_search(a, "t1", ["SUBJECT", "same topic"], None) == [1, 2, 3, 4]
    assert b.cmd("x UID STORE 2 +FLAGS.SILENT (\\Deleted)")[1].startswith("x OK")
    assert b.cmd("y EXPUNGE")[1].startswith("y OK")
    msg = b"Subject: same topic late\r\n\r\nx\r\n"
    b.send(f"z APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    assert until_tagged(b, "z")[-1].startswith("z OK")
    # 2 is still in a's view (no EXPUNGE told yet) but gone from the store; 5 is not in it
    assert uid_search(a, "t2", ["SUBJECT", "same topic"], None) == [1, 3, 4]
    assert uid_search(a, "t3", ["HEADER", "Message-ID", "v1@"], None) == []
    assert uid_search(a, "t3b", ["OR", "UID", "2", "SUBJECT", "nothing such"], None) == []
    assert uid_search(a, "t3c", ["OR", "UID", "2:3", "SUBJECT", "nothing such"], None) == [3]
    a.send("t4 SEARCH SUBJECT late\r\n")
    lines = until_tagged(a, "t4")
    assert lines[-1].startswith("t4 OK") and "* SEARCH" in lines, lines  # found nothing
    a.cmd("n NOOP")  # now a has been told of both changes
    assert uid_search(a, "t5", ["SUBJECT", "same topic"], None) == [1, 3, 4, 5]
    assert uid_search(a, "t6", ["NOT", "SUBJECT", "late", "SUBJECT", "topic"], None) == [1, 3, 4]
    a.send("t7 SEARCH SUBJECT late\r\n")
    assert "* SEARCH 4" in until_tagged(a, "t7")  # sequence numbers after the expunge
    a.close()
    b.close()
