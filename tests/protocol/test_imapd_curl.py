"""curl as an IMAP client (imap:// and imaps://): LIST, FETCH by UID and APPEND, on the plain
port, with STARTTLS, and on the implicit-TLS port checked against the test certificate."""
import imaplib
import subprocess

import pytest

from conftest import store_tool


def message(i):
    return (f"From: Sender <s@example.org>\r\nTo: alice@example.org\r\nSubject: curl {i}\r\n"
            f"Message-ID: <curl-{i}@test>\r\n\r\nBody of message {i}.\r\n.dot line\r\n").encode()


@pytest.fixture
def imap(imapd_factory):
    """INBOX holds messages 2, 3 and 4 as UIDs 2-4 at sequence numbers 1-3, so a FETCH by
    sequence number instead of UID would show."""
    d = imapd_factory(users=("alice",))
    for i in range(1, 5):
        r = store_tool(d.conf_path, "deliver", "alice", stdin=message(i))
        assert r.returncode == 0, r.stderr
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.create("Work/Reports")
    m.logout()
    return d


def curl(*args, stdin=None):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "alice:secret", *args],
                       capture_output=True, input=stdin, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


URLS = {
    "imap": lambda d, tls: ([], f"imap://127.0.0.1:{d.ports['imap']}"),
    "starttls": lambda d, tls: (["--ssl-reqd", "--cacert", tls["cert"]],
                                f"imap://127.0.0.1:{d.ports['imap']}"),
    "imaps": lambda d, tls: (["--cacert", tls["cert"]], f"imaps://127.0.0.1:{d.ports['imaps']}"),
}


@pytest.mark.parametrize("how", list(URLS))
def test_curl_list_fetch_append(imap, tls_files, tmp_path, how):
    opts, base = URLS[how](imap, tls_files)
    listing = curl(*opts, base + "/").decode()
    names = [ln.rsplit(" ", 1)[-1].strip('"') for ln in listing.splitlines()]
    assert listing.startswith("* LIST ") and {"INBOX", "Work", "Work/Reports"} <= set(names)
    # FETCH: ;UID= names the message by its UID (curl sends UID FETCH)
    assert curl(*opts, base + "/INBOX;UID=2") == message(2)
    assert curl(*opts, base + "/INBOX;UID=4") == message(4)
    header = message(3).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert curl(*opts, base + "/INBOX;UID=3;SECTION=HEADER") == header
    # APPEND: -T uploads a message; it arrives intact and gets the next UID
    upload = tmp_path / "upload.eml"
    new = message(9).replace(b"curl 9", f"curl upload {how}".encode())
    upload.write_bytes(new)
    curl(*opts, "-T", str(upload), base + "/Work/Reports")
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    m.login("alice", "secret")
    m.select("Work/Reports")
    typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
    assert typ == "OK" and len([d for d in data if isinstance(d, tuple)]) == 1
    assert data[0][1] == new and b"UID 1 " in data[0][0]
    m.logout()
    assert curl(*opts, base + "/Work/Reports;UID=1") == new


def test_curl_errors(imap):
    """What curl reports when the server says NO: a wrong password, an unknown mailbox, a UID
    that does not exist."""
    base = f"imap://127.0.0.1:{imap.ports['imap']}"
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "alice:wrong", base + "/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 67, r.stderr  # CURLE_LOGIN_DENIED
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "alice:secret",
                        base + "/Nope;UID=1"], capture_output=True, text=True, timeout=30)
    assert "Select failed" in r.stderr and r.stdout == ""  # curl calls it 67 as well
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "alice:secret",
                        base + "/INBOX;UID=99"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 78 and r.stdout == ""  # CURLE_REMOTE_FILE_NOT_FOUND
