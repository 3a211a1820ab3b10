"""reconstruct with the real tools: 50 messages delivered into INBOX and a folder, then the index
truncated, garbled or deleted and rebuilt from the body files with every message back at its UID;
a clean store checks clean; damage in a readable index comes out one greppable line per finding."""
import glob
import os
import pwd
import re
import subprocess

import pytest

from conftest import BUILD, TEST_USER, write_conf
from test_lmtpd import add_user, tool

USER = "alice"
MESSAGES = 50


def run(name, *args, stdin=None):
    """A tool run as root, as an administrator would (it becomes the store's owner itself)."""
    path = os.path.join(BUILD, {"store-dump": "tests/tools"}.get(name, "src/" + name), name)
    r = subprocess.run([path, *args], input=stdin, capture_output=True, text=True, timeout=120)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in r.stderr, r.stderr
    return r


class Store:
    def __init__(self, workdir):
        self.root = workdir / "store"
        self.conf_path = str(workdir / "msg.conf")

    def home(self):
        (home,) = glob.glob(str(self.root / "user" / "*" / USER))
        return home

    def index(self):
        return os.path.join(self.home(), "index.tcb")

    def mailbox_dir(self, name):
        for side in glob.glob(os.path.join(self.home(), "*", "mailbox")):
            with open(side) as f:
                if f"name {name}\n" in f.read():
                    return os.path.dirname(side)
        raise KeyError(name)

    def dump(self, mailbox):
        r = run("store-dump", str(self.root), USER, mailbox)
        assert r.returncode == 0, r.stderr
        return [tuple(line.split(" ", 2)) for line in r.stdout.splitlines()]

    def everything(self):
        return {box: self.dump(box) for box in ("INBOX", "Work")}

    def mailboxes(self):
        """{name: (messages, uidvalidity, uidnext)} from mboxutil -l."""
        r = tool(self, "mboxutil", "-l", "-u", USER)
        assert r.returncode == 0, r.stderr
        return {p[-1]: (int(p[0]), int(p[2]), int(p[3]))
                for p in (line.split() for line in r.stdout.splitlines()[1:])}

    def deliver(self, text, mailbox=None):
        args = ["-f", self.conf_path] + (["-m", mailbox] if mailbox else []) + [USER]
        r = run("deliver", *args, stdin=text)
        assert r.returncode == 0, r.stderr

    def reconstruct(self, *args):
        return run("reconstruct", "-f", self.conf_path, *args)


@pytest.fixture
def store(workdir):
    s = Store(workdir)
    s.root.mkdir()
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(s.root)], check=True)
    write_conf(s.conf_path, {"store.partition.primary.path": str(s.root)})
    add_user(s, USER)
    r = tool(s, "mboxutil", "-u", USER, "-c", "Work")
    assert r.returncode == 0, r.stderr
    for i in range(MESSAGES):
        s.deliver(f"Message-ID: <rc-{i}@test>\nSubject: message {i}\n\nbody {i}\n" + "x\n" * i,
                  "Work" if i % 3 == 0 else None)
    # Deliveries wait in the journal until a writer folds them; a repair run on the clean store
    # is one, so the files the tests take away belong to messages the index holds.
    r = s.reconstruct(USER)
    assert (r.returncode, r.stdout) == (0, f"{USER}: clean\n"), r.stdout + r.stderr
    return s


def assert_clean(s):
    r = s.reconstruct("-n", USER)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{USER}: clean\n", "")


def check_rebuilt(s, before, boxes_before, finding):
    """The repair run's output, then every message back at its UID and a clean index."""
    r = s.reconstruct(USER)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert re.fullmatch(finding + r" \(rebuilt from the body files\)", lines[0]), lines[0]
    n_inbox, n_work = len(before["INBOX"]), len(before["Work"])
    assert re.fullmatch(rf"{USER}: INBOX: rebuilt: {n_inbox} messages, UIDNEXT {n_inbox + 1}, "
                        r"UIDVALIDITY \d+ \(was \d+\)", lines[1]), lines[1]
    assert re.fullmatch(rf"{USER}: Work: rebuilt: {n_work} messages, UIDNEXT {n_work + 1}, "
                        r"UIDVALIDITY \d+ \(was \d+\)", lines[2]), lines[2]
    assert lines[3].startswith(f"{USER}: not kept (the body files do not carry them): flags")
    assert lines[4:] == [f"{USER}: 1 problem (repaired)"]
    assert s.everything() == before
    boxes = s.mailboxes()
    for name, (count, uidvalidity, uidnext) in boxes_before.items():
        assert boxes[name][0] == count and boxes[name][2] == uidnext
        assert boxes[name][1] > uidvalidity  # clients must resynchronise: flags are gone
    # written as the store's owner though run as root, so the daemons can open it
    assert os.stat(s.index()).st_uid == pwd.getpwnam(TEST_USER).pw_uid
    assert_clean(s)
    text = "Message-ID: <after@test>\nSubject: after\n\nafter\n"
    s.deliver(text)
    size = len(text.replace("\n", "\r\n"))
    assert s.dump("INBOX")[-1] == (str(n_inbox + 1), str(size), "<after@test>")


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_damaged_index_is_rebuilt(store, damage):
    before, boxes = store.everything(), store.mailboxes()
    assert sum(len(v) for v in before.values()) == MESSAGES
    index = store.index()
    if damage == "truncated":
        os.truncate(index, os.path.getsize(index) // 2)
    else:
        with open(index, "r+b") as f:
            f.write(os.urandom(4096))
    with open(index, "rb") as f:
        broken = f.read()

    r = store.reconstruct("-n", USER)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.fullmatch(rf"{USER}: index unreadable: .*; 2 mailbox directories with {MESSAGES} "
                        rf"body files to rebuild from\n{USER}: 1 problem \(not repaired\)\n",
                        r.stdout), r.stdout
    with open(index, "rb") as f:
        assert f.read() == broken  # -n changed nothing

    check_rebuilt(store, before, boxes, rf"{USER}: index unreadable: .*index is corrupt.*; "
                  r"the old file kept as index\.tcb\.broken\.\d+")
    (kept,) = glob.glob(index + ".broken.*")
    with open(kept, "rb") as f:
        assert f.read() == broken


def test_deleted_index_is_rebuilt(store):
    before, boxes = store.everything(), store.mailboxes()
    os.unlink(store.index())
    r = store.reconstruct("-n", USER)
    assert r.returncode == 1
    assert r.stdout == (f"{USER}: index.tcb missing; 2 mailbox directories with {MESSAGES} "
                        f"body files to rebuild from\n{USER}: 1 problem (not repaired)\n")
    assert not os.path.exists(store.index())
    check_rebuilt(store, before, boxes, rf"{USER}: index\.tcb missing")
    assert glob.glob(store.index() + ".broken.*") == []


def test_delivery_into_a_lost_index_destroys_nothing(store):
    """A daemon that finds the index gone must not make a fresh INBOX over the old one's
    messages: the delivery fails temporarily until reconstruct has run."""
    before, boxes = store.everything(), store.mailboxes()
    os.unlink(store.index())
    r = run("deliver", "-f", store.conf_path, USER,
            stdin="Subject: into the gap\r\nMessage-ID: <gap@test>\r\n\r\nhi\r\n")
    assert r.returncode == 75, r.stdout + r.stderr
    assert "run reconstruct" in r.stderr
    # the failed attempt left an empty index behind, which reconstruct recognises as lost
    check_rebuilt(store, before, boxes,
                  rf"{USER}: index unreadable: index holds no mailboxes, but the home holds "
                  rf"{MESSAGES} body files; the old file kept as index\.tcb\.broken\.\d+")


def test_clean_store_checks_clean(store):
    before = store.everything()
    assert_clean(store)
    r = store.reconstruct("-n", "-a")
    assert (r.returncode, r.stdout) == (0, f"{USER}: clean\n")
    r = store.reconstruct(USER)  # a repair run on a clean store changes nothing
    assert (r.returncode, r.stdout) == (0, f"{USER}: clean\n")
    assert store.everything() == before


def test_findings_one_line_each(store):
    inbox, work = store.mailbox_dir("INBOX"), store.mailbox_dir("Work")
    work_next = store.mailboxes()["Work"][2]
    os.unlink(os.path.join(inbox, "5"))
    os.link(os.path.join(work, "1"), os.path.join(work, "999"))
    expected = [f"{USER}: INBOX: UID 5: body file missing",
                f"{USER}: Work: UID 999: orphan body file at or above UIDNEXT {work_next}, "
                "a delivery never committed"]
    r = store.reconstruct("-n", USER)
    assert (r.returncode, r.stdout.splitlines()) == (
        1, expected + [f"{USER}: 2 problems (not repaired)"])
    r = store.reconstruct(USER)
    assert (r.returncode, r.stdout.splitlines()) == (
        1, [expected[0] + " (record dropped)", expected[1] + " (file removed)",
            f"{USER}: 2 problems (repaired)"])
    assert not os.path.exists(os.path.join(work, "999"))
    assert [row[0] for row in store.dump("INBOX")][3:5] == ["4", "6"]
    assert_clean(store)


def test_command_line(store):
    for args in ([], ["-a", USER], ["-n", "-R", USER], ["-x"]):
        r = store.reconstruct(*args)
        assert r.returncode == 2 and "usage: reconstruct" in r.stderr, args
    r = store.reconstruct("-n", "nobody-here")
    assert r.returncode == 2
    assert r.stderr == "reconstruct: nobody-here: user nobody-here has no mail folder\n"
    r = store.reconstruct("-n", "nobody-here", USER)  # the others are still checked
    assert r.returncode == 2 and r.stdout == f"{USER}: clean\n"
