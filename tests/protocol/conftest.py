"""Fixtures for protocol tests: daemons started the way systemd starts them, through
systemd-socket-activate, with their own msg.conf and TLS material in a temporary directory."""
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    """One daemon under systemd-socket-activate: plain and (optionally) TLS listeners."""

    def __init__(self, binary, fdnames, conf_path, log_path, env=None):
        self.binary = binary
        self.conf_path = conf_path
        self.log_path = log_path
        self.ports = {name: free_port() for name in fdnames}
        self.env = env or {}
        self.proc = None

    def start(self):
        cmd = ["systemd-socket-activate"]
        for name, port in self.ports.items():
            cmd += ["-l", f"127.0.0.1:{port}"]
        cmd += ["--fdname=" + ":".join(self.ports), "-E", "HALYARD_LOG=stderr"]
        for k, v in self.env.items():
            cmd += ["-E", f"{k}={v}"]
        # systemd-socket-activate passes on only the variables it is told to
        cmd += [a for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS") if v in os.environ for a in ("-E", v)]
        cmd += [self.binary, "-f", self.conf_path]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        port = next(iter(self.ports.values()))
        while time.time() < deadline:  # the listener exists once systemd-socket-activate runs
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        return self

    def log_text(self):
        if not self.log.closed:
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
    """enpd on a TCP port; access sets ENS_ACCESS in its environment."""
    started = []

    def make(settings=None, access=None):
        n = len(started)
        conf_path = str(workdir / f"enpd{n}.conf")
        write_conf(conf_path, {"local.hostname": "mail.test", **(settings or {})})
        env = {"ENS_ACCESS": access} if access is not None else None
        d = Daemon(os.path.join(BUILD, "src/enpd/enpd"), ["ens"], conf_path,
                   str(workdir / f"enpd{n}.log"), env=env)
        started.append(d)
        return d.start()

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

    def start(self):
        cmd = ["systemd-socket-activate", "-l", self.path, f"--fdname={self.fdname}", "-E",
               "HALYARD_LOG=stderr", self.binary, "-f", self.conf_path]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while not os.path.exists(self.path) and time.time() < deadline:
            time.sleep(0.02)
        os.chmod(self.path, 0o666)
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
        self.port = free_port()
        self.tls_port = free_port() if tls_files else None
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
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
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
