"""FETCH in full: body sections of a nested MIME message (part paths, HEADER, HEADER.FIELDS[.NOT],
MIME, TEXT, message/rfc822 parts), BINARY and BINARY.SIZE (RFC 3516), partial ranges at their
edges, bodies streamed from the body file (a 50 MB message read slowly while imapd's VmRSS is
watched), a client leaving in the middle of a literal, and pipelined FETCH commands."""
import base64
import hashlib
import imaplib
import os
import re
import socket
import time

import pytest

from conftest import store_tool

CRLF = b"\r\n"


def deliver(d, user, msg):
    r = store_tool(d.conf_path, "deliver", user, stdin=msg)
    assert r.returncode == 0, r.stderr


class Raw:
    """A raw IMAP client that reads responses with their literals (and literal8s)."""

    def __init__(self, d):
        self.sock = socket.create_connection(("127.0.0.1", d.ports["imap"]), timeout=30)
        self.buf = b""
        self.line()  # greeting

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def line(self):
        while CRLF not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(CRLF, 1)
        return ln

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self, tag):
        """Reads up to the tagged line: (list of untagged responses, each a list of text and
        literal pieces; the tagged line). A literal piece is (marker, bytes)."""
        untagged, cur = [], None
        while True:
            ln = self.line()
            if cur is None:
                if ln.startswith(tag + b" "):
                    return untagged, ln.decode()
                cur = []
                untagged.append(cur)
            m = re.search(rb"(~?)\{(\d+)\}$", ln)
            if m:
                cur.append(ln[:m.start()])
                cur.append((m.group(1) + b"{}", self.take(int(m.group(2)))))
            else:
                cur.append(ln)
                cur = None

    def cmd(self, tag, text):
        self.sock.sendall(tag.encode() + b" " + text.encode() + CRLF)
        return self.response(tag.encode())

    def login(self):
        assert self.cmd("l", "LOGIN alice secret")[1].startswith("l OK")
        assert self.cmd("s", "SELECT INBOX")[1].startswith("s OK")

    def fetch1(self, seq, item):
        """The one literal (or the text) of a one-item FETCH."""
        untagged, tagged = self.cmd("f", f"FETCH {seq} ({item})")
        assert tagged.startswith("f OK"), tagged
        assert len(untagged) == 1, untagged
        lits = [p for p in untagged[0] if isinstance(p, tuple)]
        return lits[0][1] if lits else untagged[0][0]

    def close(self):
        self.sock.close()


# ---- a nested message -----------------------------------------------------------------------

NUL_DATA = bytes(range(256)) * 3
BIG_DATA = hashlib.sha256(b"seed").digest() * 8000  # 256000 octets: the part streams
QP_TEXT = b"caf=C3=A9 soft=\r\nbreak=20\r\nsecond line"
QP_DECODED = "caf\u00e9 softbreak \r\nsecond line".encode()


def b64(data):
    enc = base64.b64encode(data)
    return CRLF.join(enc[i:i + 76] for i in range(0, len(enc), 76))


P1_MIME = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
P1 = b"Part one text.\r\nLine two."
P21_MIME = (b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
P22 = b"<p>html</p>"
P2_BODY = (b"--inner\r\n" + P21_MIME + QP_TEXT + b"\r\n--inner\r\nContent-Type: text/html\r\n\r\n"
           + P22 + b"\r\n--inner--\r\n")
P2_MIME = b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
INNER_HDR = (b"From: Bea <b@example.org>\r\nSubject: inner message\r\nX-Extra: yes\r\n"
             b'Content-Type: multipart/mixed; boundary="deep"\r\n\r\n')
P31 = b"deep one"
P32_MIME = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
INNER_TEXT = (b"--deep\r\nContent-Type: text/plain\r\n\r\n" + P31 + b"\r\n--deep\r\n" + P32_MIME
              + b64(NUL_DATA) + b"\r\n--deep--\r\n")
P3 = INNER_HDR + INNER_TEXT
P3_MIME = b"Content-Type: message/rfc822\r\n\r\n"
P4_MIME = (b"Content-Type: application/octet-stream; name=big.bin\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n")
P4 = b64(BIG_DATA)
P5_MIME = b"Content-Type: application/x-thing\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n"
TOP_HDR = (b"From: Sender <s@example.org>\r\nTo: alice@example.org\r\nSubject: nested\r\n"
           b"Message-ID: <nested@test>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n')
TOP_TEXT = (b"preamble\r\n--outer\r\n" + P1_MIME + P1 + b"\r\n--outer\r\n" + P2_MIME + P2_BODY
            + b"\r\n--outer\r\n" + P3_MIME + P3 + b"\r\n--outer\r\n" + P4_MIME + P4
            + b"\r\n--outer\r\n" + P5_MIME + b"zzz\r\n--outer--\r\nepilogue\r\n")
NESTED = TOP_HDR + TOP_TEXT

PLAIN = (b"From: s@example.org\r\nSubject: plain\r\nContent-Transfer-Encoding: quoted-printable"
         b"\r\n\r\nplain =3D body\r\n")


@pytest.fixture
def mail(imapd_factory):
    d = imapd_factory(users=("alice",))
    deliver(d, "alice", NESTED)
    deliver(d, "alice", PLAIN)
    return d


SECTIONS = [
    ("BODY.PEEK[]", NESTED),
    ("BODY.PEEK[HEADER]", TOP_HDR),
    ("BODY.PEEK[TEXT]", TOP_TEXT),
    ("BODY.PEEK[HEADER.FIELDS (SUBJECT from)]",
     b"From: Sender <s@example.org>\r\nSubject: nested\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Message-ID MIME-Version)]",
     b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'),
    ("BODY.PEEK[1]", P1),
    ("BODY.PEEK[1.MIME]", P1_MIME),
    ("BODY.PEEK[2]", P2_BODY),
    ("BODY.PEEK[2.MIME]", P2_MIME),
    ("BODY.PEEK[2.1]", QP_TEXT),
    ("BODY.PEEK[2.1.MIME]", P21_MIME),
    ("BODY.PEEK[2.2]", P22),
    ("BODY.PEEK[3]", P3),
    ("BODY.PEEK[3.MIME]", P3_MIME),
    ("BODY.PEEK[3.HEADER]", INNER_HDR),
    ("BODY.PEEK[3.TEXT]", INNER_TEXT),
    ("BODY.PEEK[3.HEADER.FIELDS (Subject)]", b"Subject: inner message\r\n\r\n"),
    ("BODY.PEEK[3.HEADER.FIELDS.NOT (Subject content-type)]",
     b"From: Bea <b@example.org>\r\nX-Extra: yes\r\n\r\n"),
    ("BODY.PEEK[3.1]", P31),
    ("BODY.PEEK[3.1.MIME]", b"Content-Type: text/plain\r\n\r\n"),
    ("BODY.PEEK[3.2]", b64(NUL_DATA)),
    ("BODY.PEEK[3.2.MIME]", P32_MIME),
    ("BODY.PEEK[4]", P4),  # larger than what is copied: streamed from the file
    ("BODY.PEEK[4.MIME]", P4_MIME),
    ("BODY.PEEK[4]<1000.70000>", P4[1000:71000]),
    ("BODY.PEEK[5]", b"zzz"),
    # parts that do not exist are empty strings (docs/decisions.md)
    ("BODY.PEEK[6]", b""),
    ("BODY.PEEK[1.1]", b""),
    ("BODY.PEEK[3.3]", b""),
    ("BODY.PEEK[1.HEADER]", b""),
    ("BODY.PEEK[2.TEXT]", b""),
    ("BODY.PEEK[3.1.HEADER]", b""),
]


@pytest.mark.parametrize("item,want", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_body_sections(mail, item, want):
    c = Raw(mail)
    c.login()
    assert c.fetch1(1, item) == want
    c.close()


def test_sections_of_a_single_part_message(mail):
    c = Raw(mail)
    c.login()
    hdr, body = PLAIN.split(b"\r\n\r\n", 1)
    assert c.fetch1(2, "BODY.PEEK[1]") == body
    assert c.fetch1(2, "BODY.PEEK[1.MIME]") == hdr + b"\r\n\r\n"
    assert c.fetch1(2, "BODY.PEEK[2]") == b""
    assert c.fetch1(2, "BINARY.PEEK[1]") == b"plain = body\r\n"
    assert c.fetch1(2, "BINARY.SIZE[1]") == b"* 2 FETCH (BINARY.SIZE[1] 14)"
    # BINARY[] keeps the header as stored and decodes the body
    assert c.fetch1(2, "BINARY.PEEK[]") == hdr + b"\r\n\r\nplain = body\r\n"
    c.close()


def test_body_section_sizes_match_bodystructure(mail):
    c = Raw(mail)
    c.login()
    bs = b"".join(p if isinstance(p, bytes) else p[1] for p in
                  c.cmd("b", "FETCH 1 (BODYSTRUCTURE)")[0][0])
    # the octet counts BODYSTRUCTURE gives are the lengths BODY[n] has
    for size in (len(P1), len(QP_TEXT), len(P22), len(P3), len(P4)):
        assert b" %d " % size in bs, (size, bs)
    c.close()


def test_binary(mail):
    c = Raw(mail)
    c.login()
    assert c.fetch1(1, "BINARY.PEEK[2.1]") == QP_DECODED
    assert c.fetch1(1, "BINARY.PEEK[1]") == P1
    assert c.fetch1(1, "BINARY.PEEK[4]") == BIG_DATA  # decoded while streamed
    assert c.fetch1(1, "BINARY.PEEK[4]<100000.5000>") == BIG_DATA[100000:105000]
    assert c.fetch1(1, "BINARY.PEEK[4]<255990.100>") == BIG_DATA[255990:]
    assert c.fetch1(1, "BINARY.PEEK[4]<256000.100>") == b""
    assert c.fetch1(1, "BINARY.SIZE[4]") == b"* 1 FETCH (BINARY.SIZE[4] %d)" % len(BIG_DATA)
    assert c.fetch1(1, "BINARY.SIZE[2.1]") == b"* 1 FETCH (BINARY.SIZE[2.1] %d)" % len(QP_DECODED)
    assert c.fetch1(1, "BINARY.SIZE[3.2]") == b"* 1 FETCH (BINARY.SIZE[3.2] %d)" % len(NUL_DATA)
    # decoded data with NUL comes as a literal8
    untagged, tagged = c.cmd("g", "FETCH 1 (BINARY.PEEK[3.2] BINARY.PEEK[2.1])")
    assert tagged.startswith("g OK")
    assert untagged[0][0] == b"* 1 FETCH (BINARY[3.2] "
    assert untagged[0][1] == (b"~{}", NUL_DATA)
    assert untagged[0][3] == (b"{}", QP_DECODED)
    # RFC 3516 4.3: a transfer encoding the server does not know
    untagged, tagged = c.cmd("u", "FETCH 1 (BINARY.PEEK[5])")
    assert tagged.startswith("u NO [UNKNOWN-CTE]") and untagged == []
    # BINARY.SIZE takes no partial; BINARY takes no section text
    assert c.cmd("v", "FETCH 1 (BINARY.SIZE[1]<0.5>)")[1].startswith("v BAD")
    assert c.cmd("w", "FETCH 1 (BINARY[1.TEXT])")[1].startswith("w BAD")
    # BINARY without .PEEK sets \Seen
    untagged, tagged = c.cmd("x", "FETCH 2 (BINARY[1])")
    assert b"\\Seen" in untagged[0][0]
    c.close()


def test_binary_with_imaplib(mail):
    m = imaplib.IMAP4("127.0.0.1", mail.ports["imap"])
    m.login("alice", "secret")
    assert "BINARY" in m.capabilities or "BINARY" in m.capability()[1][0].decode().split()
    m.select("INBOX")
    typ, data = m.fetch("1", "(BINARY.PEEK[3.2] BINARY.SIZE[4])")
    assert typ == "OK"
    assert data[0][1] == NUL_DATA
    assert b"BINARY.SIZE[4] 256000" in data[1]
    typ, data = m.fetch("1", "(BODY.PEEK[3.HEADER.FIELDS (SUBJECT)] BODY.PEEK[4])")
    assert data[0][1] == b"Subject: inner message\r\n\r\n" and data[1][1] == P4
    m.logout()


def test_partial_edges(mail):
    c = Raw(mail)
    c.login()
    n = len(NESTED)
    assert c.fetch1(1, "BODY.PEEK[]<0.10>") == NESTED[:10]
    assert c.fetch1(1, f"BODY.PEEK[]<{n - 3}.10>") == NESTED[-3:]
    assert c.fetch1(1, f"BODY.PEEK[]<{n}.10>") == b""  # at the end
    assert c.fetch1(1, f"BODY.PEEK[]<{n + 1000}.10>") == b""  # past the end
    assert c.fetch1(1, "BODY.PEEK[1]<5.3>") == P1[5:8]
    assert c.fetch1(1, "BODY.PEEK[HEADER.FIELDS (SUBJECT)]<2.100>") == b"bject: nested\r\n\r\n"
    untagged, tagged = c.cmd("p", "FETCH 1 (BODY.PEEK[]<7.4>)")
    assert untagged[0][0] == b"* 1 FETCH (BODY[]<7> "  # the origin octet is echoed
    # RFC 3501 9: the length of a partial is a nz-number
    assert c.cmd("z", "FETCH 1 (BODY.PEEK[]<0.0>)")[1].startswith("z BAD")
    c.close()


def test_append_literal8(mail):
    c = Raw(mail)
    c.login()
    msg = b"Subject: bin\r\n\r\nA\x00B\r\n"
    c.sock.sendall(b"a APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + CRLF)
    untagged, tagged = c.response(b"a")
    assert tagged.startswith("a OK"), tagged
    assert untagged == [[b"* 3 EXISTS"]]  # the selected mailbox: announced with the reply
    assert c.fetch1(3, "BODY.PEEK[TEXT]") == b"A\x00B\r\n"
    c.close()


# ---- streaming ------------------------------------------------------------------------------

def big_message(size):
    line = base64.b64encode(hashlib.sha512(b"x").digest())[:76]
    n = size // (len(line) + 2)
    return (b"From: s@example.org\r\nSubject: big\r\n\r\n"
            + b"".join(line[:70] + b"%06d" % (i % 1000000) + CRLF for i in range(n)))


def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise AssertionError("no VmRSS")


def imapd_pid(d):
    pid = d.proc.pid  # the launcher execs imapd (numprocesses 1: no workers)
    assert os.readlink(f"/proc/{pid}/exe").endswith("imapd")
    return pid


def slow_read(c, n, pid, samples, chunk=65536, pause=0.001):
    """Reads n octets, stalling at first (a server that buffers would now hold them all), then
    in small steps, sampling the server's VmRSS all along."""
    for _ in range(10):
        time.sleep(0.05)
        samples.append(vmrss_kb(pid))
    got = hashlib.sha256()
    left = n
    i = 0
    while left > 0:
        if len(c.buf) == 0:
            c.fill()
        take = min(left, len(c.buf), chunk)
        got.update(c.buf[:take])
        c.buf = c.buf[take:]
        left -= take
        i += 1
        if i % 4 == 0:
            samples.append(vmrss_kb(pid))
            time.sleep(pause)
    return got.hexdigest()


@pytest.fixture
def big(imapd_factory, monkeypatch):
    # AddressSanitizer's quarantine would keep every freed output buffer resident
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64")
    d = imapd_factory(users=("alice",))
    msg = big_message(50 * 1000 * 1000)
    deliver(d, "alice", msg)
    deliver(d, "alice", PLAIN)
    return d, msg


def test_50mb_body_streams(big):
    d, msg = big
    pid = imapd_pid(d)
    c = Raw(d)
    c.login()
    c.fetch1(1, "RFC822.SIZE")
    base = vmrss_kb(pid)
    samples = []
    for item, want in (("BODY.PEEK[]", msg), ("BODY.PEEK[]<1000003.20000000>",
                                               msg[1000003:21000003])):
        c.sock.sendall(b"f FETCH 1 (" + item.encode() + b")\r\n")
        head = c.line()
        m = re.fullmatch(rb"\* 1 FETCH \(BODY\[\](<\d+>)? \{(\d+)\}", head)
        assert m, head
        assert int(m.group(2)) == len(want)
        assert slow_read(c, len(want), pid, samples) == hashlib.sha256(want).hexdigest()
        assert c.line() == b")"
        assert c.line().startswith(b"f OK")
    growth = max(samples) - base
    assert growth < 8 * 1024, f"imapd grew by {growth} kB while sending a 50 MB body"
    c.close()


def test_client_leaves_mid_literal(big):
    d, msg = big
    for _ in range(2):
        c = Raw(d)
        c.login()
        c.sock.sendall(b"f FETCH 1:2 (BODY.PEEK[])\r\n")
        while len(c.buf) < 3 * 1000 * 1000:
            c.fill()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()  # a reset in the middle of the first literal
    time.sleep(0.5)
    c = Raw(d)
    c.login()
    assert c.fetch1(2, "BODY.PEEK[]") == PLAIN
    assert c.cmd("n", "NOOP")[1].startswith("n OK")
    c.close()
    assert d.proc.poll() is None


def test_pipelined_fetches_keep_their_order(big):
    d, msg = big
    c = Raw(d)
    c.login()
    c.sock.sendall(b"a FETCH 1:2 (UID BODY.PEEK[]<0.300000>)\r\n"
                   b"b FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])\r\n"
                   b"c FETCH 1:2 (RFC822.SIZE BODY.PEEK[TEXT]<10.200000>)\r\n"
                   b"d NOOP\r\n")
    untagged, tagged = c.response(b"a")
    assert tagged.startswith("a OK")
    assert [u[0][:11] for u in untagged] == [b"* 1 FETCH (", b"* 2 FETCH ("]
    assert untagged[0][1][1] == msg[:300000] and untagged[1][1][1] == PLAIN
    untagged, tagged = c.response(b"b")
    assert tagged.startswith("b OK") and untagged[0][1][1] == b"Subject: plain\r\n\r\n"
    untagged, tagged = c.response(b"c")
    assert tagged.startswith("c OK")
    hs = msg.index(b"\r\n\r\n") + 4
    assert untagged[0][1][1] == msg[hs + 10:hs + 200010]
    assert untagged[1][1][1] == PLAIN[PLAIN.index(b"\r\n\r\n") + 4 + 10:]
    assert c.response(b"d")[1].startswith("d OK")
    c.close()


def test_many_messages_in_rounds(imapd_factory):
    """More messages than one round holds: every reply in sequence, the tagged OK last."""
    d = imapd_factory(users=("alice",))
    body = b"y" * 100000 + CRLF  # each streams
    for i in range(40):
        deliver(d, "alice", b"Subject: m%d\r\n\r\n" % i + body)
    c = Raw(d)
    c.login()
    untagged, tagged = c.cmd("f", "FETCH 1:* (UID BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    assert tagged.startswith("f OK")
    assert len(untagged) == 40
    for i, u in enumerate(untagged):
        assert u[0] == b"* %d FETCH (UID %d BODY[HEADER] " % (i + 1, i + 1)
        assert u[1][1] == b"Subject: m%d\r\n\r\n" % i and u[3][1] == body
    c.close()


def test_header_fields_without_a_blank_line(imapd_factory):
    d = imapd_factory(users=("alice",))
    deliver(d, "alice", b"Subject: only a header\r\nX-Last: line")
    c = Raw(d)
    c.login()
    assert c.fetch1(1, "BODY.PEEK[HEADER.FIELDS (X-LAST SUBJECT)]") == (
        b"Subject: only a header\r\nX-Last: line\r\n\r\n")
    assert c.fetch1(1, "BODY.PEEK[TEXT]") == b""
    assert c.fetch1(1, "BODY.PEEK[1]") == b""
    c.close()


def flag_lines(c, tag, cmd):
    """{uid: flags text} from the FETCH replies of one command, and its tagged line."""
    untagged, tagged = c.cmd(tag, cmd)
    got = {}
    for u in untagged:
        m = re.match(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)$", u[0])
        if m:
            got[int(m.group(2))] = (int(m.group(1)), m.group(3).decode())
    return got, tagged


def test_flags_follow_other_sessions(imapd_factory):
    """FETCH (UID FLAGS) answers from the session's copy of the flags, brought up to date from
    what changed since: other sessions' flags and keywords, an expunge not yet reported (the
    message stays in the view but has no flags to show), a delivery not yet announced, and the
    session's own STORE."""
    d = imapd_factory(users=("alice",))
    for i in range(6):
        deliver(d, "alice", b"Subject: f%d\r\n\r\nbody\r\n" % i)
    a, b = Raw(d), Raw(d)
    a.login()
    b.login()
    got, tagged = flag_lines(a, "f1", "UID FETCH 1:* (UID FLAGS)")
    assert tagged.startswith("f1 OK")
    assert got == {u: (u, "\\Recent") for u in range(1, 7)}
    assert b.cmd("b1", "STORE 2 +FLAGS.SILENT (\\Flagged $Work)")[1].startswith("b1 OK")
    assert b.cmd("b2", "STORE 3 +FLAGS.SILENT (\\Deleted)")[1].startswith("b2 OK")
    assert b.cmd("b3", "EXPUNGE")[1].startswith("b3 OK")
    deliver(d, "alice", b"Subject: new\r\n\r\nbody\r\n")
    got, tagged = flag_lines(a, "f2", "UID FETCH 1:* (UID FLAGS)")
    assert tagged.startswith("f2 OK")
    assert got == {1: (1, "\\Recent"), 2: (2, "\\Flagged \\Recent $Work"), 4: (4, "\\Recent"),
                   5: (5, "\\Recent"), 6: (6, "\\Recent")}
    assert a.cmd("a1", "STORE 1 +FLAGS.SILENT (\\Seen)")[1].startswith("a1 OK")
    got, tagged = flag_lines(a, "f3", "FETCH 1:2 (UID FLAGS)")
    assert got == {1: (1, "\\Seen \\Recent"), 2: (2, "\\Flagged \\Recent $Work")}
    untagged, tagged = a.cmd("n", "NOOP")
    assert [b"* 3 EXPUNGE"] in untagged and [b"* 6 EXISTS"] in untagged
    assert b.cmd("b4", "STORE 2 -FLAGS.SILENT (\\Flagged $Work)")[1].startswith("b4 OK")
    got, tagged = flag_lines(a, "f4", "UID FETCH 1:* (UID FLAGS)")
    assert tagged.startswith("f4 OK")
    assert got == {1: (1, "\\Seen \\Recent"), 2: (2, "\\Recent"), 4: (3, "\\Recent"),
                   5: (4, "\\Recent"), 6: (5, "\\Recent"), 7: (6, "\\Recent")}
    # keywords longer than the flag list's buffer, in STORE's reply and in FETCH
    kws = " ".join("$kw%03d-%s" % (i, "x" * 20) for i in range(12))
    untagged, tagged = b.cmd("b7", "UID STORE 4 +FLAGS (%s)" % kws)
    assert tagged.startswith("b7 OK")
    assert untagged[0][0].endswith(b"FLAGS (%s))" % kws.encode())
    got, _ = flag_lines(a, "f7", "UID FETCH 4 (UID FLAGS)")
    assert got == {4: (3, "\\Recent " + kws)}
    # more changes than are worth reading one by one: the copy is read again whole
    msg = b"Subject: more\r\n\r\nbody\r\n"
    for i in range(300):
        b.sock.sendall(b"m%d APPEND INBOX {%d+}\r\n" % (i, len(msg)) + msg + CRLF)
    for i in range(300):
        assert b.response(b"m%d" % i)[1].startswith("m%d OK" % i)
    assert b.cmd("b6", "NOOP")[1].startswith("b6 OK")
    assert b.cmd("b5", "STORE 1:* +FLAGS.SILENT (\\Answered)")[1].startswith("b5 OK")
    got, tagged = flag_lines(a, "f5", "UID FETCH 1:* (UID FLAGS)")
    assert sorted(got) == [1, 2, 4, 5, 6, 7]
    assert all("\\Answered" in f for _, f in got.values())
    untagged, tagged = a.cmd("n2", "NOOP")
    assert [b"* 306 EXISTS"] in untagged
    got, tagged = flag_lines(a, "f6", "UID FETCH 300:* (UID FLAGS)")
    assert sorted(got) == list(range(300, 308))
    assert got[307] == (306, "\\Answered \\Recent")
    a.close()
    b.close()


def test_large_mailbox_copy_kept_between_sessions(imapd_factory):
    """A session leaving a large mailbox leaves its copy of the flags to the next one that
    selects it, which brings it up to date: EXISTS, UNSEEN and the flags it then shows are
    those of the mailbox, whatever other sessions changed in between (or the session itself
    with STORE)."""
    d = imapd_factory(users=("alice",))
    n = 1100
    c = Raw(d)
    assert c.cmd("l", "LOGIN alice secret")[1].startswith("l OK")
    msg = b"Subject: m\r\n\r\nbody\r\n"
    for i in range(n):
        c.sock.sendall(b"m%d APPEND INBOX (\\Seen) {%d+}\r\n" % (i, len(msg)) + msg + CRLF)
    for i in range(n):
        assert c.response(b"m%d" % i)[1].startswith("m%d OK" % i)
    assert c.cmd("s", "SELECT INBOX")[1].startswith("s OK")
    assert c.cmd("a", "STORE 5 -FLAGS.SILENT (\\Seen)")[1].startswith("a OK")
    assert c.cmd("o", "LOGOUT")[1].startswith("o OK")

    def select(tag):
        r = Raw(d)
        assert r.cmd("l", "LOGIN alice secret")[1].startswith("l OK")
        untagged, tagged = r.cmd(tag, "EXAMINE INBOX")
        assert tagged.startswith(tag + " OK")
        return r, [u[0] for u in untagged]

    r, lines = select("e1")
    assert b"* %d EXISTS" % n in lines and b"* OK [UNSEEN 5] First unseen" in lines
    got, _ = flag_lines(r, "f1", "UID FETCH 1:10 (UID FLAGS)")
    assert got[5] == (5, "") and got[6] == (6, "\\Seen")
    assert r.cmd("o", "LOGOUT")[1].startswith("o OK")

    # changes while nobody has it selected: flags, an expunge, a delivery
    w = Raw(d)
    w.login()
    assert w.cmd("w1", "STORE 2 -FLAGS.SILENT (\\Seen)")[1].startswith("w1 OK")
    assert w.cmd("w2", "STORE 5 +FLAGS.SILENT (\\Seen $Done)")[1].startswith("w2 OK")
    assert w.cmd("w3", "STORE 1 +FLAGS.SILENT (\\Deleted)")[1].startswith("w3 OK")
    assert w.cmd("w4", "EXPUNGE")[1].startswith("w4 OK")
    assert w.cmd("o", "LOGOUT")[1].startswith("o OK")
    deliver(d, "alice", b"Subject: late\r\n\r\nbody\r\n")

    r, lines = select("e2")
    assert b"* %d EXISTS" % n in lines  # one gone, one new
    assert b"* OK [UNSEEN 1] First unseen" in lines  # UID 2 is the first message now
    got, _ = flag_lines(r, "f2", "UID FETCH 1:10 (UID FLAGS)")
    assert sorted(got) == list(range(2, 11))
    assert got[2] == (1, "") and got[5] == (4, "\\Seen $Done") and got[6] == (5, "\\Seen")
    got, _ = flag_lines(r, "f3", "FETCH %d (UID FLAGS)" % n)
    assert got == {n + 1: (n, "")}
    r.close()


def test_large_mailbox_copy_follows_store(imapd_factory):
    """The session's own STORE keeps its copy current, and the next session sees it."""
    d = imapd_factory(users=("alice",))
    n = 1030
    c = Raw(d)
    assert c.cmd("l", "LOGIN alice secret")[1].startswith("l OK")
    msg = b"Subject: m\r\n\r\nbody\r\n"
    for i in range(n):
        c.sock.sendall(b"m%d APPEND INBOX {%d+}\r\n" % (i, len(msg)) + msg + CRLF)
    for i in range(n):
        assert c.response(b"m%d" % i)[1].startswith("m%d OK" % i)
    assert c.cmd("s", "SELECT INBOX")[1].startswith("s OK")
    assert c.cmd("a", "STORE 1:* +FLAGS.SILENT (\\Seen)")[1].startswith("a OK")
    got, _ = flag_lines(c, "f1", "FETCH 1:* (UID FLAGS)")
    assert len(got) == n and all(f.startswith("\\Seen") for _, f in got.values())
    assert c.cmd("b", "STORE 7 -FLAGS.SILENT (\\Seen)")[1].startswith("b OK")
    assert c.cmd("o", "LOGOUT")[1].startswith("o OK")
    r = Raw(d)
    assert r.cmd("l", "LOGIN alice secret")[1].startswith("l OK")
    untagged, tagged = r.cmd("e", "EXAMINE INBOX")
    assert [b"* OK [UNSEEN 7] First unseen"] in untagged
    got, _ = flag_lines(r, "f2", "FETCH 1:* (UID FLAGS)")
    assert len(got) == n and got[7] == (7, "") and got[8] == (8, "\\Seen")
    r.close()


def test_flags_after_a_store_that_changed_nothing(imapd_factory):
    """A STORE that changes nothing shows another session's change in its result; the copy
    must not take that for the whole of that change."""
    d = imapd_factory(users=("alice",))
    for i in range(8):
        deliver(d, "alice", b"Subject: g%d\r\n\r\nbody\r\n" % i)
    a, b = Raw(d), Raw(d)
    a.login()
    b.login()
    assert flag_lines(a, "f1", "UID FETCH 1:* (UID FLAGS)")[1].startswith("f1 OK")
    assert b.cmd("b1", "STORE 5:6 +FLAGS.SILENT (\\Flagged)")[1].startswith("b1 OK")
    untagged, tagged = a.cmd("a1", "STORE 5 +FLAGS (\\Flagged)")
    assert tagged.startswith("a1 OK")
    got, _ = flag_lines(a, "f2", "UID FETCH 1:* (UID FLAGS)")
    assert got[5][1] == "\\Flagged \\Recent" and got[6][1] == "\\Flagged \\Recent"
    assert got[4][1] == "\\Recent"
    a.close()
    b.close()
