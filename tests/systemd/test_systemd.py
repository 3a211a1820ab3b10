"""Halyard inside a real systemd booted for the test (tests/boot-systemd.sh): install the build,
verify the units, socket-activate imapd, move and close its port with configutil, read its
session lines from the journal."""
import os
import shutil
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HALYARD_BUILD", os.path.join(ROOT, "build"))
BOOT = os.path.join(ROOT, "tests", "boot-systemd.sh")

CLIENT = r'''
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
print(f.readline().decode().rstrip())
s.sendall(b"a1 NOOP\r\na2 LOGOUT\r\n")
for line in f:
    print(line.decode().rstrip())
'''


class Machine:
    def __init__(self, name, stage):
        self.name = name
        self.env = dict(os.environ, SDBOOT_BIND=f"{stage}:/stage:ro {ROOT}/tests:/halyard-tests:ro")

    def boot(self):
        subprocess.run([BOOT, "start", self.name], env=self.env, check=True, capture_output=True,
                       timeout=90)

    def run(self, *cmd, check=True, timeout=60):
        r = subprocess.run([BOOT, "exec", self.name, *cmd], env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def sh(self, script, check=True):
        return self.run("/bin/bash", "-c", script, check=check)

    def imap(self, port):
        return self.run("/usr/bin/python3", "-c", CLIENT, str(port), check=False)

    def stop(self):
        subprocess.run([BOOT, "stop", self.name], env=self.env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the systemd tests boot a container and must run as root")
    stage = tmp_path_factory.mktemp("stage")
    os.chmod(stage, 0o755)  # "cp -a /stage/. /" gives / the mode of the stage directory
    subprocess.run(["meson", "install", "-C", BUILD, "--destdir", str(stage), "--quiet"],
                   check=True, capture_output=True)
    m = Machine(f"halyard{os.getpid()}", stage)
    m.boot()
    try:
        m.sh("cp -a /stage/. / && systemd-sysusers && systemctl daemon-reload")
        yield m
    finally:
        m.stop()


def unit_paths(m):
    unitdir = m.sh("pkg-config --variable=systemdsystemunitdir systemd || echo /lib/systemd/system")
    d = unitdir.stdout.strip().splitlines()[-1]
    names = m.sh(f"cd {d} && ls halyard*").stdout.split()
    return [f"{d}/{n}" for n in names]


def test_units_verify_without_warnings(machine):
    paths = unit_paths(machine)
    assert any(p.endswith("halyard-imapd.service") for p in paths)
    r = machine.run("systemd-analyze", "verify", *paths, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", \
        r.stdout + r.stderr


def test_socket_activation_and_journal(machine):
    machine.sh("systemctl enable --now halyard-imap.socket")
    assert machine.sh("systemctl is-active halyard-imapd.service", check=False).stdout.strip() \
        != "active"  # not started until a client connects
    r = machine.imap(143)
    out = r.stdout.splitlines()
    assert out and out[0].startswith("* OK [CAPABILITY IMAP4 IMAP4rev1"), r.stderr + \
        machine.sh("journalctl -b --no-pager | tail -40").stdout
    assert "IMAP4 service (Halyard" in out[0]
    assert "a1 OK NOOP completed" in out and "a2 OK LOGOUT completed" in out
    assert machine.sh("systemctl is-active halyard-imapd.service").stdout.strip() == "active"
    # runs unprivileged
    user = machine.sh("ps -o user= -p $(systemctl show -p MainPID --value halyard-imapd)")
    assert user.stdout.strip() == "halyard"
    deadline = time.time() + 10
    while time.time() < deadline:
        j = machine.sh("journalctl -u halyard-imapd -o verbose --no-pager").stdout
        if "disconnected" in j:
            break
        time.sleep(0.2)
    assert "MESSAGE=connected" in j
    assert "HALYARD_CLIENT=127.0.0.1:" in j
    assert "HALYARD_SESSION=" in j


def test_reload_through_systemctl(machine):
    machine.sh("systemctl enable --now halyard-imap.socket")
    machine.imap(143)
    machine.sh("configutil --no-apply -o service.imap.banner -v 'reloaded %p'")
    machine.sh("systemctl reload halyard-imapd.service")
    assert machine.imap(143).stdout.splitlines()[0].endswith("] reloaded IMAP4")
    machine.sh("configutil --no-apply -o service.imap.banner -v ''")
    machine.sh("systemctl reload halyard-imapd.service")


def test_configutil_moves_and_closes_the_port(machine):
    machine.sh("systemctl enable --now halyard-imap.socket")
    assert machine.imap(143).stdout.startswith("* OK")
    machine.sh("configutil -o service.imap.port -v 1143")
    dropin = machine.sh("cat /etc/systemd/system/halyard-imap.socket.d/50-configutil.conf").stdout
    assert "ListenStream=1143" in dropin
    assert machine.imap(1143).stdout.startswith("* OK")
    assert not machine.imap(143).stdout.startswith("* OK")
    machine.sh("configutil -o service.imap.enable -v no")
    assert not machine.imap(1143).stdout.startswith("* OK")
    assert machine.sh("systemctl is-enabled halyard-imap.socket", check=False).stdout.strip() \
        == "disabled"
    machine.sh("configutil -o service.imap.enable -v yes")
    assert machine.imap(1143).stdout.startswith("* OK")


LMTP_CLIENT = r'''
import smtplib
with smtplib.LMTP("/run/halyard/lmtp") as c:
    print(c.sendmail("s@example.org", ["alice@example.org"],
                     b"Subject: via systemd\r\nMessage-ID: <sd1@test>\r\n\r\nhello\r\n"))
'''


def test_lmtp_delivery_through_the_unix_socket(machine):
    machine.sh("systemctl enable --now halyard-lmtp.socket")
    machine.sh("printf 'pw\\n' | mailuser add alice --password-stdin")
    r = machine.run("/usr/bin/python3", "-c", LMTP_CLIENT)
    assert r.stdout.strip() == "{}", r.stdout + r.stderr
    listing = machine.sh("mboxutil -u alice -l").stdout
    assert any(line.split()[0] == "1" and line.endswith("INBOX") for line in listing.splitlines())
    # everything in the store belongs to the service user, whoever ran the tools
    owners = machine.sh("find /var/lib/halyard/store -printf '%u\\n' | sort -u").stdout.split()
    assert owners == ["halyard"], owners
    j = machine.sh("journalctl -u halyard-lmtpd --no-pager").stdout
    assert "delivered as UID 1" in j


POP_CLIENT = r'''
import poplib
p = poplib.POP3("127.0.0.1", 110)
p.user("alice")
p.pass_("pw")
print(p.stat()[0])
print(b"\n".join(p.retr(1)[1]).decode())
p.quit()
'''


def test_pop_through_socket_activation(machine):
    machine.sh("systemctl enable --now halyard-pop.socket halyard-lmtp.socket")
    machine.sh("mailuser show alice >/dev/null 2>&1 || "
               "(printf 'pw\\n' | mailuser add alice --password-stdin)")
    machine.sh("printf 'Subject: for pop\\r\\n\\r\\nhello pop\\r\\n' | deliver alice")
    r = machine.run("/usr/bin/python3", "-c", POP_CLIENT)
    lines = r.stdout.splitlines()
    assert int(lines[0]) >= 1 and "Subject" in r.stdout, r.stdout + r.stderr
    assert machine.sh("ps -o user= -p $(systemctl show -p MainPID --value halyard-popd)"
                      ).stdout.strip() == "halyard"
    j = machine.sh("journalctl -u halyard-popd -o verbose --no-pager").stdout
    assert "HALYARD_USER=alice" in j and "logged in" in j


IDLE_CLIENT = r'''
import socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", 143), timeout=20)
f = s.makefile("rb")
def line():
    return f.readline().decode().rstrip()
greeting = line()
print(greeting)
s.sendall(b"a LOGIN alice pw\r\n")
while not line().startswith("a "):
    pass
s.sendall(b"b SELECT INBOX\r\n")
exists = None
while True:
    ln = line()
    if ln.endswith(" EXISTS"):
        exists = int(ln.split()[1])
    if ln.startswith("b "):
        break
s.sendall(b"c IDLE\r\n")
print(line())
subprocess.run(["/bin/bash", "-c", "printf 'Subject: idle\\r\\n\\r\\nx\\r\\n' | deliver alice"],
               check=True)
print(line(), "was", exists)
s.sendall(b"DONE\r\n")
print(line())
'''


def test_idle_end_to_end_through_enpd(machine):
    """configutil turns on the notify plugin as the seed says; enpd runs socket-activated; a
    delivery reaches an idling IMAP client as EXISTS. Login events are on (the default), so
    the login's publish is what starts enpd, and the IDLE subscription and the delivery's
    event wait in its backlog with it (enpd reads them in no set order)."""
    for name, value in (("service.imap.port", "143"), ("service.imap.enable", "yes"),
                        ("local.store.notifyplugin", "libibiff"),
                        ("local.store.notifyplugin.enseventkey", "enp://127.0.0.1/store/%M"),
                        ("local.store.notifyplugin.noneinbox.enable", "1"),
                        ("local.enpd.access", "+127.0.0.1|255.255.255.255")):
        machine.sh(f"configutil -o {name} -v '{value}'")
    env = machine.sh("cat /etc/systemd/system/halyard-enpd.service.d/50-configutil.conf").stdout
    assert "ENS_ACCESS=+127.0.0.1|255.255.255.255" in env
    machine.sh("systemctl enable --now halyard-enp.socket halyard-imap.socket")
    machine.sh("systemctl restart halyard-imapd.service || true")
    machine.sh("mailuser show alice >/dev/null 2>&1 || "
               "(printf 'pw\\n' | mailuser add alice --password-stdin)")
    r = machine.run("/usr/bin/python3", "-c", IDLE_CLIENT, check=False, timeout=60)
    out = r.stdout.splitlines()
    assert out and " IDLE" in out[0], r.stdout + r.stderr
    assert out[1] == "+ idling"
    exists, was = out[2].split(" was ")
    assert exists == f"* {int(was) + 1} EXISTS", out
    assert out[3] == "c OK IDLE terminated"
    assert machine.sh("systemctl is-active halyard-enpd.service").stdout.strip() == "active"
    assert machine.sh("ps -o user= -p $(systemctl show -p MainPID --value halyard-enpd)"
                      ).stdout.strip() == "halyard"
