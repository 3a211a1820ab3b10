"""Crash safety of delivery: several LMTP clients deliver while lmtpd is SIGKILLed at random
moments and restarted on the same listening socket (as systemd would); afterwards every message
that received 250 is in the store exactly once. And a full disk: 452, the daemon lives on and
what was stored before is intact."""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, TEST_USER, spawn_activated, write_conf
from test_lmtpd import add_user, lmtp, tool

USERS = ["u1", "u2", "u3"]
TARGET_ACKED = 2000
TIME_LIMIT = 240  # seconds, a hard bound for the whole load


def store_dump(store, user, mailbox="INBOX"):
    r = subprocess.run([os.path.join(BUILD, "tests/tools/store-dump"), str(store), user,
                        mailbox], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split(" ", 2) for line in r.stdout.splitlines()]


class Relauncher:
    """Holds the listening socket like systemd and (re)starts lmtpd on it."""

    def __init__(self, workdir, conf_path):
        self.path = str(workdir / "lmtp.sock")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(128)
        os.chmod(self.path, 0o666)
        self.conf_path = conf_path
        self.log = open(workdir / "lmtpd.log", "ab")
        self.proc = None
        self.kills = 0

    def start(self):
        self.proc = spawn_activated([os.path.join(BUILD, "src/lmtpd/lmtpd"), "-f", self.conf_path],
                                    [self.sock], ["lmtp"], self.log)

    def kill_and_restart(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1
        self.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.sock.close()
        self.log.close()


def client(path, cid, acked, stop):
    """Delivers numbered messages until told to stop; a fresh Message-ID for every attempt."""
    n = 0
    while not stop.is_set():
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(path)
                f = s.makefile("rb")
                if not f.readline().startswith(b"220"):
                    continue
                s.sendall(b"LHLO crash\r\n")
                while True:  # to the last LHLO line; a killed server ends the stream
                    line = f.readline()
                    if not line:
                        raise ConnectionError("closed during LHLO")
                    if line.startswith(b"250 "):
                        break
                while not stop.is_set():
                    n += 1
                    mid = f"<c{cid}-{n}@crash.test>"
                    user = USERS[n % len(USERS)]
                    body = (f"From: c{cid}@example.org\r\nTo: {user}@example.org\r\n"
                            f"Message-ID: {mid}\r\nSubject: crash {n}\r\n\r\n" +
                            "line of text\r\n" * random.randint(1, 200)).encode()
                    s.sendall(f"MAIL FROM:<c{cid}@example.org>\r\nRCPT TO:<{user}@example.org>"
                              "\r\nDATA\r\n".encode())
                    replies = [f.readline() for _ in range(3)]
                    if not all(r[:3] in (b"250", b"354") for r in replies):
                        raise ConnectionError(replies)
                    s.sendall(body + b".\r\n")
                    final = f.readline()
                    if not final:
                        raise ConnectionError("closed")
                    if final.startswith(b"250 "):
                        acked.append((user, mid))
        except (OSError, ConnectionError):
            time.sleep(0.01)


@pytest.fixture
def crash_setup(workdir):
    store = workdir / "store"
    store.mkdir()
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(store)], check=True)
    conf_path = str(workdir / "msg.conf")
    write_conf(conf_path, {"store.partition.primary.path": str(store)})

    class D:  # what test_lmtpd's tool() needs
        pass
    d = D()
    d.conf_path = conf_path
    for u in USERS:
        add_user(d, u)
    return store, conf_path


def test_sigkill_during_delivery_loses_and_duplicates_nothing(workdir, crash_setup):
    store, conf_path = crash_setup
    r = Relauncher(workdir, conf_path)
    r.start()
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=client, args=(r.path, i, acked, stop), daemon=True)
               for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + TIME_LIMIT
    try:
        # both bounds: deliveries that got faster must not end the run before ten kills
        while (len(acked) < TARGET_ACKED or r.kills < 10) and time.time() < deadline:
            time.sleep(random.uniform(0.05, 0.4))
            r.kill_and_restart()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        r.stop()
    assert len(acked) >= TARGET_ACKED, f"only {len(acked)} acknowledged in {TIME_LIMIT} s"
    assert r.kills >= 10
    for u in USERS:
        ids = [row[2] for row in store_dump(store, u)]
        assert len(ids) == len(set(ids)), f"{u}: a message is in the store twice"
        want = {mid for user, mid in acked if user == u}
        missing = want - set(ids)
        assert not missing, f"{u}: {len(missing)} acknowledged messages lost, e.g. {min(missing)}"
    check_reconstruct_after_crash(store, conf_path)


ORPHAN = re.compile(r"(u\d+): INBOX: UID (\d+): orphan body file at or above UIDNEXT (\d+), "
                    r"a delivery never committed")


def reconstruct(conf_path, *args):
    r = subprocess.run([os.path.join(BUILD, "src/reconstruct/reconstruct"), "-f", conf_path,
                        *args], capture_output=True, text=True, timeout=300)
    assert r.stderr == "", r.stderr
    return r


def check_reconstruct_after_crash(store, conf_path):
    """By the store's contract a SIGKILL leaves at most body files of deliveries that never
    committed, each at or above its mailbox's UIDNEXT (a later delivery takes such a UID over, so
    only the last ones remain): reconstruct -n reports those and nothing else, a repair removes
    them and touches no delivered message, and then the index is clean."""
    rows = {u: store_dump(store, u) for u in USERS}
    r = reconstruct(conf_path, "-n", "-a")
    orphans = {u: [] for u in USERS}
    for line in r.stdout.splitlines():
        m = ORPHAN.fullmatch(line)
        if m:
            u, uid, uidnext = m.group(1), int(m.group(2)), int(m.group(3))
            # no expunges here, so the committed UIDs are 1..n and UIDNEXT is n + 1
            assert uidnext == len(rows[u]) + 1 and uid >= uidnext, line
            orphans[u].append(line)
    expected = []
    for u in USERS:
        n = len(orphans[u])
        expected += orphans[u] + [f"{u}: clean" if n == 0 else
                                  f"{u}: {n} problem{'s' if n > 1 else ''} (not repaired)"]
    assert r.stdout.splitlines() == expected
    assert r.returncode == (1 if any(orphans.values()) else 0)
    r = reconstruct(conf_path, "-a")
    assert r.returncode == (1 if any(orphans.values()) else 0)
    r = reconstruct(conf_path, "-n", "-a")
    assert (r.returncode, r.stdout.splitlines()) == (0, [f"{u}: clean" for u in USERS])
    assert {u: store_dump(store, u) for u in USERS} == rows


def test_disk_full(workdir):
    mnt = workdir / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "halyard-test", str(mnt)],
                   check=True)
    try:
        store = mnt / "store"
        store.mkdir()
        subprocess.run(["chown", f"{TEST_USER}:nogroup", str(store)], check=True)
        from conftest import UnixDaemon
        conf_path = str(workdir / "msg.conf")
        write_conf(conf_path, {"store.partition.primary.path": str(store)})
        d = UnixDaemon(os.path.join(BUILD, "src/lmtpd/lmtpd"), "lmtp", str(workdir / "s.sock"),
                       conf_path, str(workdir / "lmtpd.log"))
        d.start()
        try:
            add_user(d, "alice")
            stored, refused = [], None
            with lmtp(d) as c:
                for i in range(200):
                    msg = (f"Message-ID: <full-{i}@test>\r\nSubject: {i}\r\n\r\n" +
                           "x" * 60000 + "\r\n").encode()
                    try:
                        c.sendmail("s@example.org", ["alice@example.org"], msg)
                        stored.append(f"<full-{i}@test>")
                    except smtplib_errors() as e:
                        refused = e
                        break
            assert refused is not None, "the 1 MB file system never filled"
            assert refused.smtp_code == 452 and b"4.3.1" in refused.smtp_error, refused
            # the journal says why, in the store's words
            assert "failed: 452 4.3.1" in d.log_text()
            assert "No space left" in d.log_text() or "ENOSPC" in d.log_text() or \
                "full" in d.log_text().split("failed: 452 4.3.1")[1]
            rows = store_dump(store, "alice")
            assert [row[2] for row in rows] == stored
            assert all(int(row[1]) > 60000 for row in rows)
            # the daemon lives on: once there is room again, delivery works
            assert list((store / "tmp").glob("spool.*")) == []
            r = tool(d, "mailuser", "del", "alice")
            assert r.returncode == 0, r.stderr
            add_user(d, "alice")
            with lmtp(d) as c:
                assert c.sendmail("s@example.org", ["alice@example.org"], b"Subject: ok\r\n\r\nok\r\n") == {}
        finally:
            d.stop()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def smtplib_errors():
    import smtplib
    return (smtplib.SMTPDataError, smtplib.SMTPRecipientsRefused)
