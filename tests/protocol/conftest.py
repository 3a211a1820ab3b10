"""Fixtures for protocol tests: daemons started the way systemd starts them, on listening
sockets the test binds and hands over (sd_listen_fds), with their own msg.conf and TLS material
in a temporary directory."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HALYARD_BUILD", os.path.join(ROOT, "build"))


# Ports: a port number is never handed on unbound. A daemon gets the listening socket itself
# (bound to port 0, so the kernel picks a free port, and passed as systemd passes it); a
# program that binds on its own (slapd) gets a port that stays reserved until it listens.

def listen_tcp(port=0):
    """A listening socket on 127.0.0.1 (port 0: a free one), with SO_REUSEADDR as systemd sets
    it, so a port held by reserve_port() can be bound again."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(socket.SOMAXCONN)
    return s


def reserve_port(port=0):
    """Holds a port without listening: connections are refused and no other socket can bind it
    (nor can an outgoing connection take it as its local port), except one that sets
    SO_REUSEADDR to listen there (listen_tcp, slapd). Close it once that listener is up."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    return s


# Sets up the passed sockets as systemd does between fork and exec: at fd 3, 4, ... with
# LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (the daemon's own pid: exec keeps it); "lazy"
# execs only once a connection waits on one of them, as systemd-socket-activate does.
LAUNCHER = r"""
import fcntl, os, select, sys
lazy, n = sys.argv[1] == "lazy", int(sys.argv[2])
fds, names, cmd = sys.argv[3:3 + n], sys.argv[3 + n], sys.argv[4 + n:]
high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 100) for fd in fds]
for fd in fds:
    os.close(int(fd))
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
if lazy:
    select.select(range(3, 3 + n), [], [])
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(n), LISTEN_FDNAMES=names)
os.execv(cmd[0], cmd)
"""


def spawn_activated(cmd, socks, names, log, env=None, lazy=False):
    """Runs cmd with the listening sockets socks (named names), socket-activated: at once, or
    lazy at the first connection; the caller keeps its own copies of the sockets open or closes
    them as it needs."""
    fds = [s.fileno() for s in socks]
    launcher = ["/usr/bin/python3", "-c", LAUNCHER, "lazy" if lazy else "now", str(len(fds)),
                *map(str, fds), ":".join(names), *cmd]
    # an environment as bare as systemd's: nothing of the test's own (NOTIFY_SOCKET, LISTEN_*)
    keep = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
    env = {**{k: os.environ[k] for k in keep if k in os.environ}, "HALYARD_LOG": "stderr",
           **(env or {})}
    return subprocess.Popen(launcher, pass_fds=fds, stdout=log, stderr=log, env=env)


def open_dir():
    """A temporary directory the daemons can still read after dropping to an unprivileged user
    (pytest's own tmp_path sits under a 0700 directory)."""
    d = tempfile.mkdtemp(prefix="halyard-test-")
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def workdir():
    d = open_dir()
    yield __import__("pathlib").Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_files():
    """A self-signed certificate and key for 127.0.0.1 / localhost (GnuTLS certtool)."""
    d = __import__("pathlib").Path(open_dir())
    yield make_tls_files(d)
    shutil.rmtree(d, ignore_errors=True)


def make_tls_files(d):
    key, cert, tmpl = d / "key.pem", d / "cert.pem", d / "cert.tmpl"
    tmpl.write_text('cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                    "expiration_days = 30\ntls_www_server\nsigning_key\nencryption_key\n")
    subprocess.run(["certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", str(key),
                    "--template", str(tmpl), "--outfile", str(cert)],
                   check=True, capture_output=True)
    return {"cert": str(cert), "key": str(key)}


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Daemon:
    """One daemon on plain and (optionally) TLS listeners, socket-activated. The sockets are
    bound when the Daemon is made, so connections made before start() wait in the backlog, as
    they do while systemd starts a service."""

    def __init__(self, binary, fdnames, conf_path, log_path, env=None):
        self.binary = binary
        self.conf_path = conf_path
        self.log_path = log_path
        self.socks = {name: listen_tcp() for name in fdnames}
        self.ports = {name: s.getsockname()[1] for name, s in self.socks.items()}
        self.held = {}
        self.env = env or {}
        self.proc = None
        self.log = None

    def start(self):
        """Starts the daemon; after stop(), on the same ports again (held meanwhile)."""
        if not self.socks:
            self.socks = {name: listen_tcp(port) for name, port in self.ports.items()}
        for h in self.held.values():
            h.close()
        self.held = {}
        if self.log is None or self.log.closed:
            self.log = open(self.log_path, "ab")
        self.proc = spawn_activated([self.binary, "-f", self.conf_path],
                                    list(self.socks.values()), list(self.socks), self.log,
                                    self.env)
        # the daemon owns the sockets now: they close when it exits, and connections are refused
        for s in self.socks.values():
            s.close()
        self.socks = {}
        return self

    def log_text(self):
        if self.log is not None and not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in self.socks.values():  # made but never started
            s.close()
        self.socks = {}
        # the ports stay this daemon's, refusing connections, until start() listens again
        if not self.held:
            self.held = {name: reserve_port(port) for name, port in self.ports.items()}
        if self.log is None:
            return
        self.log.close()
        text = self.log_text()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in text, f"sanitizer report in {self.log_path}:\n{text[-4000:]}"

    def connect(self, name=None, timeout=5):
        name = name or next(iter(self.ports))
        s = socket.create_connection(("127.0.0.1", self.ports[name]), timeout=timeout)
        if name.endswith("s") and name not in ("pop",):  # imaps, pops, https
            s = client_tls_context().wrap_socket(s)
        return LineClient(s)


class LineClient:
    """A scripted client: send lines, read CRLF lines."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection; unread: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def cmd(self, line):
        """Sends a tagged command; returns (untagged lines, tagged line)."""
        tag = line.split(" ", 1)[0]
        self.send(line + "\r\n")
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + " "):
                return untagged, ln
            untagged.append(ln)

    def closed(self, timeout=5):
        """True once the server has closed the connection (after any pending lines)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        self.sock = client_tls_context().wrap_socket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# Started as root (CI), the daemons drop to this user, as they would to "halyard" in production.
TEST_USER = "nobody"


def write_conf(path, settings):
    settings = {"local.serveruser": TEST_USER, **settings}
    with open(path, "w") as f:
        for k, v in settings.items():
            f.write(f'{k} = "{v}"\n')


@pytest.fixture
def lmtpd_factory(workdir):
    """lmtpd on a unix socket (as halyard-lmtp.socket gives it) over a store in workdir."""
    started = []
    store = workdir / "store"

    def make(settings=None):
        conf = {"local.hostname": "mail.test", "store.partition.primary.path": str(store)}
        conf.update(settings or {})
        conf_path = str(workdir / f"lmtp{len(started)}.conf")
        write_conf(conf_path, conf)
        sock = str(workdir / f"lmtp{len(started)}.sock")
        d = UnixDaemon(os.path.join(BUILD, "src/lmtpd/lmtpd"), "lmtp", sock, conf_path,
                       str(workdir / f"lmtpd{len(started)}.log"))
        d.store = store
        started.append(d)
        return d.start()

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def enpd_factory(workdir):
    """enpd on a TCP port; access sets ENS_ACCESS in its environment. start=False only binds
    the port (connections wait in its backlog, as while systemd starts enpd): d.start() later."""
    started = []

    def make(settings=None, access=None, start=True):
        n = len(started)
        conf_path = str(workdir / f"enpd{n}.conf")
        write_conf(conf_path, {"local.hostname": "mail.test", **(settings or {})})
        env = {"ENS_ACCESS": access} if access is not None else None
        d = Daemon(os.path.join(BUILD, "src/enpd/enpd"), ["ens"], conf_path,
                   str(workdir / f"enpd{n}.log"), env=env)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        d.stop()


def notify_settings(enpd, key="enp://127.0.0.1/store/%M", noneinbox="yes"):
    """The store's notify plugin pointed at enpd, as the seed configures it for IDLE."""
    return {"local.store.notifyplugin": "libibiff",
            "local.store.notifyplugin.enshost": "127.0.0.1",
            "local.store.notifyplugin.ensport": str(enpd.ports["ens"]) if enpd else "1",
            "local.store.notifyplugin.enseventkey": key,
            "local.store.notifyplugin.noneinbox.enable": noneinbox}


class UnixDaemon(Daemon):
    """A daemon on one unix stream socket."""

    def __init__(self, binary, fdname, path, conf_path, log_path):
        self.binary, self.conf_path, self.log_path, self.path = binary, conf_path, log_path, path
        self.fdname = fdname
        self.proc = None
        self.log = None
        self.socks, self.held, self.ports = {}, {}, {}

    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(self.path)
        sock.listen(socket.SOMAXCONN)
        os.chmod(self.path, 0o666)
        self.log = open(self.log_path, "ab")
        # started at the first connection, as before (fixtures set the store up after this)
        self.proc = spawn_activated([self.binary, "-f", self.conf_path], [sock], [self.fdname],
                                    self.log, lazy=True)
        sock.close()
        return self

    def connect(self, name=None, timeout=10):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.path)
        return LineClient(s)


def store_tool(conf_path, name, *args, stdin=None):
    """Runs one of Halyard's store tools (mailuser, mboxutil, deliver) as an administrator
    would; started as root they act as the store's owner."""
    cmd = [os.path.join(BUILD, "src", name, name), "-f", conf_path, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=60,
                          text=isinstance(stdin, str) or stdin is None)


class StoreDaemons:
    """Starts one kind of daemon over a store in workdir (created for the test user), with
    users added through mailuser; every daemon started is stopped at the end of the test."""

    def __init__(self, workdir, tls_files, program, fdnames, defaults):
        self.workdir, self.tls_files, self.program = workdir, tls_files, program
        self.fdnames, self.defaults = fdnames, defaults
        self.store = workdir / "store"
        self.started = []

    def __call__(self, settings=None, tls=True, users=()):
        if not self.store.exists():
            self.store.mkdir()
            subprocess.run(["chown", f"{TEST_USER}:nogroup", str(self.store)], check=True)
        conf = {"local.hostname": "mail.test", "store.partition.primary.path": str(self.store),
                "service.authfailuredelay": "1", **self.defaults}
        if tls:
            conf["local.tls.certfile"] = self.tls_files["cert"]
            conf["local.tls.keyfile"] = self.tls_files["key"]
        conf.update(settings or {})
        n = len(self.started)
        conf_path = str(self.workdir / f"{self.program}{n}.conf")
        write_conf(conf_path, conf)
        for u in users:
            r = store_tool(conf_path, "mailuser", "add", u, "--password-stdin",
                           stdin="secret\n")
            assert r.returncode == 0 or "exists" in r.stderr, r.stderr
        fdnames = self.fdnames if tls else self.fdnames[:1]
        d = Daemon(os.path.join(BUILD, "src", self.program, self.program), fdnames, conf_path,
                   str(self.workdir / f"{self.program}{n}.log"))
        d.store = self.store
        self.started.append(d)
        return d.start()

    def stop_all(self):
        for d in self.started:
            d.stop()


@pytest.fixture
def imapd_factory(workdir, tls_files):
    f = StoreDaemons(workdir, tls_files, "imapd", ["imap", "imaps"], {})
    yield f
    f.stop_all()


@pytest.fixture
def popd_factory(workdir, tls_files):
    f = StoreDaemons(workdir, tls_files, "popd", ["pop", "pops"], {})
    yield lambda settings=None, users=("alice",): f(settings, users=users)
    f.stop_all()


# --- a real slapd for the LDAP directory tests (tests/ldap/) ---

LDAP_DIR = os.path.join(ROOT, "tests", "ldap")
LDAP_BASE = "dc=example,dc=com"
LDAP_ROOT_DN, LDAP_ROOT_PW = "cn=admin," + LDAP_BASE, "rootsecret"
LDAP_SERVICE_DN = "cn=halyard," + LDAP_BASE


class Slapd:
    """OpenLDAP's slapd on 127.0.0.1:port with the test schema, a back-mdb database under dir
    and tests/ldap/users.ldif loaded with ldapadd; run as TEST_USER when started as root."""

    def __init__(self, d, tls_files=None):
        self.dir = d
        # held until slapd listens there (it binds with SO_REUSEADDR)
        self.held = [reserve_port()] + ([reserve_port()] if tls_files else [])
        self.port = self.held[0].getsockname()[1]
        self.tls_port = self.held[1].getsockname()[1] if tls_files else None
        self.tls_files = tls_files
        self.proc = None
        (d / "db").mkdir()
        conf = [f"include /etc/ldap/schema/{s}.schema"
                for s in ("core", "cosine", "inetorgperson")]
        conf += [f"include {LDAP_DIR}/halyard-test.schema",
                 f"pidfile {d}/slapd.pid",
                 "modulepath /usr/lib/ldap", "moduleload back_mdb"]
        if tls_files:  # copies slapd can read after dropping to TEST_USER
            shutil.copy(tls_files["cert"], d / "cert.pem")
            shutil.copy(tls_files["key"], d / "key.pem")
            conf += [f"TLSCertificateFile {d}/cert.pem", f"TLSCertificateKeyFile {d}/key.pem"]
        conf += ["database mdb", f"suffix {LDAP_BASE}", f"rootdn {LDAP_ROOT_DN}",
                 f"rootpw {LDAP_ROOT_PW}", f"directory {d}/db", "maxsize 16777216",
                 # the service DN may read userPassword: SCRAM-SHA-256 values in it are the
                 # keys SCRAM logins need (test_sasl_ldap.py)
                 "access to attrs=userPassword by self write by anonymous auth"
                 f' by dn.exact="{LDAP_SERVICE_DN}" read by * none',
                 "access to * by * read"]
        (d / "slapd.conf").write_text("\n".join(conf) + "\n")
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", f"{TEST_USER}:nogroup", str(d)], check=True)

    def urls(self):
        urls = f"ldap://127.0.0.1:{self.port}/"
        if self.tls_port:
            urls += f" ldaps://127.0.0.1:{self.tls_port}/"
        return urls

    def start(self):
        cmd = ["/usr/sbin/slapd", "-d", "0", "-h", self.urls(), "-f", str(self.dir / "slapd.conf")]
        if os.getuid() == 0:
            cmd += ["-u", TEST_USER, "-g", "nogroup"]
        self.log = open(self.dir / "slapd.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                for port in (self.port, self.tls_port):
                    if port:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                for h in self.held:
                    h.close()
                self.held = []
                return self
            except OSError:
                assert self.proc.poll() is None, (self.dir / "slapd.log").read_text()
                time.sleep(0.05)
        raise AssertionError("slapd did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        if not self.held:  # the ports stay reserved for a start() again
            self.held = [reserve_port(p) for p in (self.port, self.tls_port) if p]

    def ldap(self, tool, ldif, *args):
        """Runs ldapadd / ldapmodify as the directory's root."""
        r = subprocess.run([tool, "-x", "-H", f"ldap://127.0.0.1:{self.port}/", "-D", LDAP_ROOT_DN,
                            "-w", LDAP_ROOT_PW, *args], input=ldif, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r

    def modify(self, dn, **attrs):
        """Replaces attributes of dn (value None deletes the attribute)."""
        ldif = f"dn: {dn}\nchangetype: modify\n"
        for k, v in attrs.items():
            ldif += f"replace: {k}\n" + (f"{k}: {v}\n" if v is not None else "") + "-\n"
        return self.ldap("ldapmodify", ldif)

    def settings(self, **extra):
        """The daemon settings that point at this directory."""
        s = {"local.ugldaphost": "127.0.0.1", "local.ugldapport": str(self.port),
             "local.ugldapbasedn": LDAP_BASE, "local.ugldapbinddn": LDAP_SERVICE_DN,
             "local.ugldapbindcred": "secret", "local.ugldaptimeout": "3"}
        s.update(extra)
        return s


@pytest.fixture
def slapd(workdir):
    d = workdir / "slapd"
    d.mkdir()
    s = Slapd(d).start()
    with open(os.path.join(LDAP_DIR, "users.ldif")) as f:
        s.ldap("ldapadd", f.read())
    yield s
    s.stop()
