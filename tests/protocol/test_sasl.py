"""SASL through GNU SASL (issue 6 item 6): PLAIN, LOGIN, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
over IMAP AUTHENTICATE and POP3 AUTH, with Python's imaplib (SCRAM computed in sasl_client.py),
raw sessions, GNU SASL's own `gsasl` client (tls-exporter under TLS 1.3) and curl. Wrong
passwords, spoilt proofs, unknown users, accounts without SCRAM keys, the plaintextmincipher
rule, statuses, access rules and the proxy rule apply to every mechanism."""
import base64
import imaplib
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import client_tls_context, store_tool
from sasl_client import Login, Scram, b64, imap_auth, plain, pop_auth

PASSWORD_MECHS = "AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256"


@pytest.fixture
def imap(imapd_factory):
    return imapd_factory(users=("alice", "bob"))


def caps(d, port="imap"):
    c = d.connect(port)
    greeting = c.line()
    c.close()
    return greeting.split("[CAPABILITY ", 1)[1].split("]", 1)[0].split()


def tls12_context():
    ctx = client_tls_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def imaps(d, ctx=None):
    return imaplib.IMAP4_SSL("127.0.0.1", d.ports["imaps"], ssl_context=ctx or client_tls_context())


def wait_log(d, text, timeout=5):
    deadline = time.time() + timeout
    while text not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    return text in d.log_text()


# --- what is offered where ---

def test_capabilities(imap):
    plain_caps = caps(imap)
    assert [c for c in plain_caps if c.startswith("AUTH=")] == PASSWORD_MECHS.split()
    assert "LOGINDISABLED" not in plain_caps
    tls_caps = caps(imap, "imaps")  # TLS 1.3: tls-exporter
    assert [c for c in tls_caps if c.startswith("AUTH=")] == \
        PASSWORD_MECHS.split() + ["AUTH=SCRAM-SHA-256-PLUS"]
    m = imaps(imap, tls12_context())  # TLS 1.2: tls-unique (and tls-exporter with EMS)
    assert "AUTH=SCRAM-SHA-256-PLUS" in m.capabilities
    m.logout()


def test_plaintextmincipher_covers_every_password_mechanism(imapd_factory):
    d = imapd_factory({"service.imap.plaintextmincipher": "128"}, users=("alice",))
    assert "LOGINDISABLED" in caps(d)
    assert not [c for c in caps(d) if c.startswith("AUTH=")]
    c = d.connect()
    c.line()
    for mech in ("PLAIN", "LOGIN", "SCRAM-SHA-256"):
        assert c.cmd(f"a AUTHENTICATE {mech}")[1].startswith("a NO [PRIVACYREQUIRED]")
    assert c.cmd("b AUTHENTICATE SCRAM-SHA-256-PLUS")[1].startswith("b NO [PRIVACYREQUIRED]")
    assert c.cmd("c AUTHENTICATE EXTERNAL")[1].startswith("c NO [CANNOT] EXTERNAL needs")
    assert c.cmd("d AUTHENTICATE CRAM-MD5")[1] == \
        "d NO [CANNOT] Unsupported authentication mechanism"
    # over TLS they are all there
    assert PASSWORD_MECHS in " ".join(caps(d, "imaps"))
    m = imaps(d)
    m.authenticate("SCRAM-SHA-256", Scram("alice", "secret"))
    m.logout()
    d2 = imapd_factory({"service.imap.plaintextmincipher": "-1"}, users=("alice",))
    assert not [c for c in caps(d2, "imaps") if c.startswith("AUTH=")]
    c = d2.connect("imaps")
    c.line()
    assert c.cmd("a AUTHENTICATE SCRAM-SHA-256")[1] == \
        "a NO [CANNOT] Password login is disabled on this server"


# --- PLAIN and LOGIN ---

def test_plain_through_gsasl(imap):
    c = imap.connect()
    c.line()
    assert imap_auth(c, "a", "PLAIN", None, initial=plain("", "alice", "secret")).startswith(
        "a OK [CAPABILITY")
    c = imap.connect()
    c.line()
    assert imap_auth(c, "a", "PLAIN", lambda ch: plain("", "alice", "secret")).startswith("a OK")
    c = imap.connect()
    c.line()
    assert imap_auth(c, "a", "PLAIN", None, initial=plain("", "alice", "wrong")) == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert c.cmd("b AUTHENTICATE PLAIN AGFsaWNl")[1] == "b BAD Malformed SASL PLAIN response"
    assert c.cmd("c AUTHENTICATE PLAIN !!!!")[1] == "c BAD Malformed SASL PLAIN response"
    c.send("d AUTHENTICATE PLAIN\r\n")
    assert c.line() == "+ "
    c.send("*\r\n")
    assert c.line() == "d BAD Authentication cancelled"


def test_login_mechanism(imap):
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    typ, data = m.authenticate("LOGIN", Login("alice", "secret"))
    assert typ == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # the challenges are "User Name" and "Password"
    c = imap.connect()
    c.line()
    c.send("a AUTHENTICATE LOGIN\r\n")
    assert base64.b64decode(c.line()[2:]) == b"User Name"
    c.send(b64("alice") + "\r\n")
    assert base64.b64decode(c.line()[2:]) == b"Password"
    c.send(b64("secret") + "\r\n")
    assert c.line().startswith("a OK [CAPABILITY")
    # the name as an initial response (SASL-IR) skips the first challenge
    c = imap.connect()
    c.line()
    c.send(f"a AUTHENTICATE LOGIN {b64('alice')}\r\n")
    assert base64.b64decode(c.line()[2:]) == b"Password"
    c.send(b64("secret") + "\r\n")
    assert c.line().startswith("a OK")
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    t0 = time.time()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("LOGIN", Login("alice", "wrong"))
    assert time.time() - t0 >= 0.9  # service.authfailuredelay
    assert wait_log(imap, 'login as "alice" failed: wrong password for alice')


def test_login_cache_serves_sasl_password_mechanisms(imap):
    for _ in range(2):
        m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
        m.authenticate("LOGIN", Login("alice", "secret"))
        m.logout()
    assert wait_log(imap, "logged in (password from the login cache)")


# --- SCRAM-SHA-256 ---

def test_scram(imap):
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    s = Scram("alice", "secret")
    typ, _ = m.authenticate("SCRAM-SHA-256", s)
    assert typ == "OK" and s.verified  # and the server proved it knows the keys
    assert s.iters == 4096
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    assert wait_log(imap, "logged in (SCRAM-SHA-256)")
    # with an initial response, by hand
    c = imap.connect()
    c.line()
    s = Scram("alice", "secret")
    assert imap_auth(c, "a", "SCRAM-SHA-256", s, initial=s.initial()).startswith("a OK")
    assert s.verified


def test_scram_wrong_password_tampered_proof_unknown_user(imap):
    c = imap.connect()
    c.line()
    t0 = time.time()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "wrong")) == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert time.time() - t0 >= 0.9
    assert imap_auth(c, "b", "SCRAM-SHA-256", Scram("alice", "secret", tamper=True)) == \
        "b NO [AUTHENTICATIONFAILED] Authentication failed"
    # the third failure closes the connection (service.authfailuremax)
    assert imap_auth(c, "c", "SCRAM-SHA-256", Scram("nobody-here", "secret")) == \
        "c NO [AUTHENTICATIONFAILED] Authentication failed"
    assert c.line() == "* BYE Too many failed logins"
    assert wait_log(imap, "wrong password for alice (SCRAM-SHA-256 proof")
    assert wait_log(imap, 'login as "nobody-here" failed: no such user')


def test_scram_unknown_user_gets_a_steady_salt(imap):
    """The salt for a name with no account is the same each time, as a real one is."""
    salts = []
    for user in ("nobody-here", "nobody-here", "alice", "alice"):
        c = imap.connect()
        c.line()
        s = Scram(user, "x")
        imap_auth(c, "a", "SCRAM-SHA-256", s)
        salts.append(s.salt)
    assert salts[0] == salts[1] and salts[2] == salts[3] and salts[0] != salts[2]


def test_scram_without_keys(imapd_factory):
    """Records without SCRAM keys (written before them, or with scramiterations 0) cannot use
    SCRAM: a clear NO and a journal line, not a failed login."""
    d = imapd_factory({"local.auth.scramiterations": "0"}, users=("alice",))
    r = store_tool(d.conf_path, "mailuser", "show", "alice")
    assert "scram: none" in r.stdout
    c = d.connect()
    c.line()
    t0 = time.time()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "secret")) == (
        "a NO [CANNOT] This account cannot use SCRAM-SHA-256 (no SCRAM keys are stored for it);"
        " use another mechanism")
    assert time.time() - t0 < 0.9  # not a password failure: no delay
    assert wait_log(d, "alice has no SCRAM-SHA-256 keys")
    assert imap_auth(c, "b", "PLAIN", None, initial=plain("", "alice", "secret")).startswith(
        "b OK")


def test_scram_follows_mailuser_passwd(imap):
    r = store_tool(imap.conf_path, "mailuser", "show", "alice")
    assert "scram: SCRAM-SHA-256 keys stored" in r.stdout
    r = store_tool(imap.conf_path, "mailuser", "passwd", "alice", "--password-stdin",
                   stdin="n3w pass\n")
    assert r.returncode == 0, r.stderr
    c = imap.connect()
    c.line()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "secret")).startswith("a NO")
    assert imap_auth(c, "b", "SCRAM-SHA-256", Scram("alice", "n3w pass")).startswith("b OK")
    # removing the password removes the SCRAM keys with it
    r = store_tool(imap.conf_path, "mailuser", "passwd", "alice", "--no-password")
    assert r.returncode == 0, r.stderr
    assert "scram: none" in store_tool(imap.conf_path, "mailuser", "show", "alice").stdout


def test_scram_status_and_access_rules(imap):
    r = store_tool(imap.conf_path, "mailuser", "set", "alice", "--status", "disabled")
    assert r.returncode == 0, r.stderr
    c = imap.connect()
    c.line()
    # the status is told only after a right proof
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "wrong")).startswith(
        "a NO [AUTHENTICATIONFAILED]")
    assert imap_auth(c, "b", "SCRAM-SHA-256", Scram("alice", "secret")) == \
        "b NO [CONTACTADMIN] Account disabled"
    # the access rules decide whatever the password
    r = store_tool(imap.conf_path, "mailuser", "set", "bob", "--services", "-imap:ALL")
    assert r.returncode == 0, r.stderr
    for pw in ("secret", "wrong"):
        c = imap.connect()
        c.line()
        assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("bob", pw)).startswith(
            "a NO [CONTACTADMIN] Access denied")


def test_scram_authzid_is_proxy_authorisation(imapd_factory):
    d = imapd_factory({"local.service.proxy.admin": "webadmin"},
                      users=("alice", "bob", "webadmin"))
    c = d.connect()
    c.line()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("webadmin", "secret", authzid="alice")) \
        .startswith("a OK")
    assert wait_log(d, "by proxy administrator webadmin")
    c = d.connect()
    c.line()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("bob", "secret", authzid="alice")) == \
        "a NO [AUTHORIZATIONFAILED] Not allowed to act as that user"
    # naming oneself is an ordinary login
    assert imap_auth(c, "b", "SCRAM-SHA-256", Scram("bob", "secret", authzid="bob")) \
        .startswith("b OK")


# --- SCRAM-SHA-256-PLUS ---

def test_scram_plus_tls12_tls_unique(imap):
    m = imaps(imap, tls12_context())
    cb = m.sock.get_channel_binding("tls-unique")
    s = Scram("alice", "secret", cb=("tls-unique", cb))
    assert m.authenticate("SCRAM-SHA-256-PLUS", s)[0] == "OK" and s.verified
    m.logout()
    # binding data from another session does not verify
    m = imaps(imap, tls12_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("SCRAM-SHA-256-PLUS", Scram("alice", "secret", cb=("tls-unique", cb)))
    m.logout()
    m = imaps(imap, tls12_context())
    cb = m.sock.get_channel_binding("tls-unique")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("SCRAM-SHA-256-PLUS",
                       Scram("alice", "secret", cb=("tls-unique", cb), wrong_cb=True))
    m.logout()


def test_scram_plus_refusals(imap):
    c = imap.connect()  # no TLS: no binding
    c.line()
    assert c.cmd("a AUTHENTICATE SCRAM-SHA-256-PLUS")[1] == \
        "a NO [CANNOT] SCRAM-SHA-256-PLUS needs TLS with channel binding"
    # TLS 1.3 has no tls-unique (RFC 9266): a client asking for it is refused
    m = imaps(imap)
    assert m.sock.version() == "TLSv1.3"
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("SCRAM-SHA-256-PLUS", Scram("alice", "secret", cb=("tls-unique", b"x")))
    m.logout()
    assert wait_log(imap, "channel binding this TLS session cannot give")
    # a client that could bind but picks SCRAM-SHA-256 ("y") while -PLUS is offered: a
    # downgrade (RFC 5802 section 6)
    m = imaps(imap)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("SCRAM-SHA-256", Scram("alice", "secret", flag="y"))
    m.logout()
    # without TLS "y" is right: the server offers no binding
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    assert m.authenticate("SCRAM-SHA-256", Scram("alice", "secret", flag="y"))[0] == "OK"
    m.logout()


# --- other clients ---

@pytest.mark.skipif(shutil.which("gsasl") is None, reason="gsasl (Debian package) missing")
@pytest.mark.parametrize("mech,extra", [
    ("SCRAM-SHA-256-PLUS", []),  # TLS 1.3 via STARTTLS: tls-exporter
    ("SCRAM-SHA-256", ["--no-cb"]),
    ("LOGIN", []),
    ("PLAIN", []),
])
def test_gsasl_client(imap, tls_files, mech, extra):
    r = subprocess.run(
        ["gsasl", "--imap", "--starttls", "--x509-ca-file", tls_files["cert"], "-m", mech,
         "-a", "alice", "-p", "secret", "--quiet", *extra, "127.0.0.1",
         str(imap.ports["imap"])],
        input="", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_log(imap, "logged in" if mech == "PLAIN" else f"logged in ({mech})")
    if mech.endswith("-PLUS"):
        assert "TLS1.3" in imap.log_text()  # so the binding was tls-exporter
    r = subprocess.run(
        ["gsasl", "--imap", "--starttls", "--x509-ca-file", tls_files["cert"], "-m", mech,
         "-a", "alice", "-p", "wrong", "--quiet", *extra, "127.0.0.1", str(imap.ports["imap"])],
        input="", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def curl_has_gsasl():
    r = subprocess.run(["curl", "-V"], capture_output=True, text=True)
    return "gsasl" in r.stdout.lower()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_curl(imap, tls_files, mech):
    url = f"imap://127.0.0.1:{imap.ports['imap']}/INBOX"
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", tls_files["cert"],
                        "--login-options", f"AUTH={mech}", "-u", "alice:secret", "-X",
                        "EXAMINE INBOX", url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "EXISTS" in r.stdout
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", tls_files["cert"],
                        "--login-options", f"AUTH={mech}", "-u", "alice:wrong", "-X",
                        "EXAMINE INBOX", url], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


@pytest.mark.skipif(not curl_has_gsasl(), reason="Debian 12's curl is built without libgsasl: "
                    "no SCRAM in curl")
def test_curl_scram(imap, tls_files):
    url = f"imap://127.0.0.1:{imap.ports['imap']}/INBOX"
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", tls_files["cert"],
                        "--login-options", "AUTH=SCRAM-SHA-256", "-u", "alice:secret", "-X",
                        "EXAMINE INBOX", url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# --- POP3 ---

@pytest.fixture
def pop(popd_factory):
    return popd_factory(users=("alice",))


def pop_greeted(d, port="pop"):
    c = d.connect(port)
    c.line()
    return c


def test_pop_capa_and_auth_list(pop):
    c = pop_greeted(pop)
    c.send("CAPA\r\n")
    lines = []
    while (ln := c.line()) != ".":
        lines.append(ln)
    assert "SASL PLAIN LOGIN SCRAM-SHA-256" in lines
    c.send("AUTH\r\n")
    assert c.line() == "+OK Mechanisms follow"
    mechs = []
    while (ln := c.line()) != ".":
        mechs.append(ln)
    assert mechs == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    c = pop_greeted(pop, "pops")
    c.send("CAPA\r\n")
    lines = []
    while (ln := c.line()) != ".":
        lines.append(ln)
    assert "SASL PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS" in lines


def test_pop_scram_login_plain(pop):
    c = pop_greeted(pop)
    s = Scram("alice", "secret")
    assert pop_auth(c, "SCRAM-SHA-256", s).startswith("+OK Maildrop locked") and s.verified
    c.send("QUIT\r\n")
    c.line()
    c = pop_greeted(pop)
    s = Scram("alice", "secret")
    assert pop_auth(c, "SCRAM-SHA-256", s, initial=s.initial()).startswith("+OK")
    c.send("QUIT\r\n")
    c.line()
    c = pop_greeted(pop)
    assert pop_auth(c, "LOGIN", Login("alice", "secret")).startswith("+OK Maildrop locked")
    c.send("QUIT\r\n")
    c.line()
    c = pop_greeted(pop)
    login = Login("alice", "secret")
    assert pop_auth(c, "LOGIN", login, initial=login.initial()).startswith("+OK")
    c.send("QUIT\r\n")
    c.line()
    c = pop_greeted(pop)
    assert pop_auth(c, "SCRAM-SHA-256", Scram("alice", "wrong")) == \
        "-ERR [AUTH] Authentication failed"
    assert pop_auth(c, "SCRAM-SHA-256", Scram("alice", "secret", tamper=True)) == \
        "-ERR [AUTH] Authentication failed"
    assert pop_auth(c, "LOGIN", Login("alice", "wrong")) == "-ERR [AUTH] Authentication failed"
    assert c.line() == "-ERR Too many failed logins"


def test_pop_scram_plus_and_refusals(pop):
    c = pop_greeted(pop)
    c.send("AUTH SCRAM-SHA-256-PLUS\r\n")
    assert c.line() == "-ERR [AUTH] SCRAM-SHA-256-PLUS needs TLS with channel binding"
    c.send("AUTH EXTERNAL\r\n")
    assert c.line().startswith("-ERR [AUTH] EXTERNAL needs")
    c.send("AUTH SCRAM-SHA-256\r\n*\r\n")
    assert c.line() == "+ "
    assert c.line() == "-ERR Authentication cancelled"
    # -PLUS over TLS 1.2 with tls-unique
    raw = __import__("socket").create_connection(("127.0.0.1", pop.ports["pops"]), timeout=5)
    sock = tls12_context().wrap_socket(raw)
    from conftest import LineClient
    c = LineClient(sock)
    c.line()
    s = Scram("alice", "secret", cb=("tls-unique", sock.get_channel_binding("tls-unique")))
    assert pop_auth(c, "SCRAM-SHA-256-PLUS", s).startswith("+OK Maildrop locked")
    assert s.verified


def test_saslprep_password(imap):
    """GNU SASL applies SASLprep (RFC 4013) to PLAIN and LOGIN passwords; the hash is of the
    password as typed. mailuser warns; LOGIN (the command) and SCRAM (whose keys are made from
    the prepared password, as the client makes them) still work."""
    pw = "no\u00a0break"  # a no-break space: SASLprep makes it a space
    r = store_tool(imap.conf_path, "mailuser", "passwd", "alice", "--password-stdin",
                   stdin=pw + "\n")
    assert r.returncode == 0 and "SASLprep" in r.stderr, r.stderr
    c = imap.connect()
    c.line()
    assert imap_auth(c, "a", "PLAIN", None, initial=plain("", "alice", pw)).startswith("a NO")
    assert imap_auth(c, "b", "SCRAM-SHA-256", Scram("alice", "no break")).startswith("b OK")
    c = imap.connect()
    c.line()
    assert c.cmd(f"a LOGIN alice {{{len(pw.encode())}+}}\r\n{pw}")[1].startswith("a OK")
