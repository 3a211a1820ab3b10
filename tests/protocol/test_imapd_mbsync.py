"""mbsync (Debian's isync) against imapd: 1,000 messages to a local Maildir and back, flag
changes and deletions on both sides, and a last run that finds nothing left to do."""
import imaplib
import os
import re
import subprocess

from conftest import client_tls_context

N = 1000


def mbsync(rc):
    r = subprocess.run(["mbsync", "-c", str(rc), "-V", "sync"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout + r.stderr


def local_state(maildir):
    """{Message-ID: maildir flags} for every message in the local INBOX."""
    state = {}
    names = local_state.names = {}
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                mid = re.search(rb"Message-ID: (<[^>]+>)", f.read()).group(1)
            assert mid not in state, f"{mid} twice in the Maildir"
            state[mid] = name.split(":2,")[1] if ":2," in name else ""
            names[mid] = f"{sub}/{name}"
    return state


def remote_state(m):
    """{Message-ID: sorted flags} for every message in INBOX."""
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    state = {}
    for item in data:
        if isinstance(item, tuple):
            mid = re.search(rb"(<[^>]+>)", item[1]).group(1)
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()
            state[mid] = sorted(f for f in flags if f != b"\\Recent")
    return state


def test_mbsync_both_ways(imapd_factory, tls_files, workdir):
    d = imapd_factory(users=("alice",))
    m = imaplib.IMAP4_SSL("127.0.0.1", d.ports["imaps"], ssl_context=client_tls_context())
    m.login("alice", "secret")
    for i in range(N):
        msg = (f"From: s@example.org\r\nSubject: sync {i}\r\nMessage-ID: <sync-{i}@test>\r\n"
               f"\r\nMessage number {i}.\r\n").encode()
        assert m.append("INBOX", None, None, msg)[0] == "OK"
    maildir = workdir / "mail"
    maildir.mkdir()
    rc = workdir / "mbsyncrc"
    rc.write_text(f"""IMAPAccount halyard
Host 127.0.0.1
Port {d.ports['imaps']}
User alice
Pass secret
SSLType IMAPS
CertificateFile {tls_files['cert']}

IMAPStore remote
Account halyard

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
""")
    mbsync(rc)
    inbox = str(maildir / "INBOX")
    assert len(local_state(inbox)) == N

    # near side: mark 10 seen, delete 10 -- the first 20 messages, so that the far side's
    # changes (901-1000) never fall on the same ones (file names sort in no useful order)
    def number(name):
        with open(os.path.join(inbox, "new", name), "rb") as f:
            return int(re.search(rb"Message-ID: <sync-(\d+)@", f.read()).group(1))
    files = sorted(os.listdir(os.path.join(inbox, "new")), key=number)
    for name in files[:10]:
        base = name.split(":2,")[0]
        os.rename(os.path.join(inbox, "new", name), os.path.join(inbox, "cur", base + ":2,S"))
    for name in files[10:20]:
        os.unlink(os.path.join(inbox, "new", name))
    # far side: flag 10, delete 10, add 5
    m.select("INBOX")
    assert m.store("901:910", "+FLAGS", "(\\Flagged)")[0] == "OK"
    m.store("991:1000", "+FLAGS", "(\\Deleted)")
    m.expunge()
    for i in range(N, N + 5):
        m.append("INBOX", None, None,
                 f"Subject: late {i}\r\nMessage-ID: <sync-{i}@test>\r\n\r\nlate\r\n".encode())

    mbsync(rc)
    near, far = local_state(inbox), remote_state(m)
    assert len(far) == N - 10 - 10 + 5
    assert set(near) == set(far)
    for mid, flags in far.items():
        want = "".join(sorted(("F" if b"\\Flagged" in flags else "") +
                              ("S" if b"\\Seen" in flags else "")))
        assert "".join(sorted(near[mid].replace("T", ""))) == want, \
            (mid, local_state.names[mid], flags)
    assert sum(b"\\Seen" in f for f in far.values()) == 10
    assert sum(b"\\Flagged" in f for f in far.values()) == 10

    # a second run in a row changes nothing on either side
    before = (near, far, sorted(os.listdir(os.path.join(inbox, "cur"))) +
              sorted(os.listdir(os.path.join(inbox, "new"))))
    mbsync(rc)
    after = (local_state(inbox), remote_state(m), sorted(os.listdir(os.path.join(inbox, "cur"))) +
             sorted(os.listdir(os.path.join(inbox, "new"))))
    assert after == before
    m.logout()
