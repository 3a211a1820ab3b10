"""Certificate login (issue 6 item 6): a TLS client certificate that local.tls.cafile verifies
maps to a user by a subject component (local.certmap.components) or an LDAP search
(local.certmap.searchfilter), and SASL EXTERNAL logs in without a password - over IMAP (the
seed's) and POP3. A test CA and its certificates are made with GnuTLS certtool at run time; a
second CA stands for one the server does not trust."""
import imaplib
import pathlib
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import LineClient, open_dir
from sasl_client import b64, imap_auth, pop_auth


def certtool(*args):
    subprocess.run(["certtool", *args], check=True, capture_output=True)


class Pki:
    """A CA and client certificates signed by it, in one directory."""

    def __init__(self, d, name):
        self.d = d
        self.key, self.cert = d / f"{name}-ca.key", d / f"{name}-ca.pem"
        tmpl = d / f"{name}-ca.tmpl"
        tmpl.write_text(f'cn = "Halyard test CA {name}"\nca\ncert_signing_key\n'
                        "expiration_days = 30\n")
        certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", str(self.key))
        certtool("--generate-self-signed", "--load-privkey", str(self.key), "--template",
                 str(tmpl), "--outfile", str(self.cert))

    def client(self, name, uid=None, email=None, cn=None, days=30, purpose="tls_www_client"):
        key, cert, tmpl = (self.d / f"{name}.key", self.d / f"{name}.pem",
                           self.d / f"{name}.tmpl")
        lines = [f'cn = "{cn or name}"', f"expiration_days = {days}", "signing_key"]
        if uid:
            lines.append(f'uid = "{uid}"')
        if email:
            lines.append(f'pkcs9_email = "{email}"')
        if purpose:
            lines.append(purpose)
        tmpl.write_text("\n".join(lines) + "\n")
        certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", str(key))
        certtool("--generate-certificate", "--load-privkey", str(key), "--load-ca-certificate",
                 str(self.cert), "--load-ca-privkey", str(self.key), "--template", str(tmpl),
                 "--outfile", str(cert))
        return {"cert": str(cert), "key": str(key)}


@pytest.fixture(scope="module")
def pki():
    d = pathlib.Path(open_dir())
    ca, other = Pki(d, "test"), Pki(d, "other")
    certs = {
        "ca": str(ca.cert),
        "alice": ca.client("alice", uid="alice", email="alice@example.com", cn="Alice Example"),
        "bob-mail": ca.client("bob-mail", email="bob@example.com", cn="Bob Example"),
        "nobody": ca.client("nobody", uid="nobody-here"),
        "webadmin": ca.client("webadmin", uid="webadmin"),
        "server-purpose": ca.client("server-purpose", uid="alice", purpose="tls_www_server"),
        "untrusted": other.client("untrusted", uid="alice"),
    }
    yield certs
    shutil.rmtree(d, ignore_errors=True)


def context(cert=None, tls12=False):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert["cert"], cert["key"])
    return ctx


def tls_client(d, port, cert=None, tls12=False):
    raw = socket.create_connection(("127.0.0.1", d.ports[port]), timeout=5)
    return LineClient(context(cert, tls12).wrap_socket(raw))


def capabilities(greeting):
    return greeting.split("[CAPABILITY ", 1)[1].split("]", 1)[0].split()


def wait_log(d, text, timeout=5):
    deadline = time.time() + timeout
    while text not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    return text in d.log_text()


@pytest.fixture
def imap(imapd_factory, pki):
    return imapd_factory({"local.tls.cafile": pki["ca"]}, users=("alice", "bob"))


@pytest.mark.parametrize("tls12", [False, True])
def test_external_with_a_verified_certificate(imap, pki, tls12):
    c = tls_client(imap, "imaps", pki["alice"], tls12)
    assert "AUTH=EXTERNAL" in capabilities(c.line())
    tagged = c.cmd("a AUTHENTICATE EXTERNAL =")[1]
    assert tagged.startswith("a OK [CAPABILITY"), tagged
    assert c.cmd("b SELECT INBOX")[1].startswith("b OK")
    assert wait_log(imap, 'client certificate "')
    assert wait_log(imap, "logged in (EXTERNAL, certificate")
    assert "(uid=alice)" in imap.log_text() or "uid=alice" in imap.log_text()


def test_external_without_initial_response_and_with_authzid(imap, pki):
    c = tls_client(imap, "imaps", pki["alice"])
    c.line()
    c.send("a AUTHENTICATE EXTERNAL\r\n")
    assert c.line() == "+ "
    c.send("\r\n")  # empty: the identity the certificate gives
    assert c.line().startswith("a OK")
    c = tls_client(imap, "imaps", pki["alice"])
    c.line()
    assert c.cmd(f"a AUTHENTICATE EXTERNAL {b64('alice')}")[1].startswith("a OK")
    c = tls_client(imap, "imaps", pki["alice"])
    c.line()
    assert c.cmd(f"a AUTHENTICATE EXTERNAL {b64('bob')}")[1] == \
        "a NO [AUTHORIZATIONFAILED] Not allowed to act as that user"


def test_no_certificate_no_external(imap, pki):
    c = tls_client(imap, "imaps")
    caps = capabilities(c.line())
    assert "AUTH=EXTERNAL" not in caps and "AUTH=PLAIN" in caps
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1] == (
        "a NO [CANNOT] EXTERNAL needs a TLS client certificate that the server's CA list "
        "verifies")
    c = imap.connect()  # no TLS at all
    assert "AUTH=EXTERNAL" not in capabilities(c.line())
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [CANNOT] EXTERNAL needs")


@pytest.mark.parametrize("which", ["untrusted", "server-purpose"])
def test_unverified_certificate_no_external(imap, pki, which):
    """A certificate from a CA the server does not trust (or not made for TLS clients): the
    TLS session goes on, password login works, EXTERNAL is neither offered nor accepted."""
    c = tls_client(imap, "imaps", pki[which])
    caps = capabilities(c.line())
    assert "AUTH=EXTERNAL" not in caps
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [CANNOT]")
    assert c.cmd("b LOGIN alice secret")[1].startswith("b OK")
    assert wait_log(imap, "not verified")


def test_certificate_of_an_unknown_user(imap, pki):
    c = tls_client(imap, "imaps", pki["nobody"])
    assert "AUTH=EXTERNAL" in capabilities(c.line())
    t0 = time.time()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1] == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert time.time() - t0 >= 0.9  # a failed login like any other
    assert wait_log(imap, "(uid=nobody-here): no such user")


def test_map_by_email_component(imapd_factory, pki):
    d = imapd_factory({"local.tls.cafile": pki["ca"], "local.certmap.components": "e"},
                      users=("alice", "bob"))
    c = tls_client(d, "imaps", pki["bob-mail"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a OK")
    assert wait_log(d, "user=bob")
    # alice's certificate has an e component too: with "e" it names alice@example.com
    c = tls_client(d, "imaps", pki["alice"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a OK")
    # with "uid" only, bob's certificate (no uid) names nobody
    d2 = imapd_factory({"local.tls.cafile": pki["ca"], "local.certmap.components": "uid"},
                       users=("bob",))
    c = tls_client(d2, "imaps", pki["bob-mail"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [AUTHENTICATIONFAILED]")
    assert wait_log(d2, "has none of the subject components uid")


def test_status_access_rules_and_proxy(imapd_factory, pki):
    d = imapd_factory({"local.tls.cafile": pki["ca"], "local.service.proxy.admin": "webadmin"},
                      users=("alice", "bob", "webadmin"))
    # the proxy administrator's certificate may act as another user
    c = tls_client(d, "imaps", pki["webadmin"])
    c.line()
    assert c.cmd(f"a AUTHENTICATE EXTERNAL {b64('alice')}")[1].startswith("a OK")
    assert wait_log(d, "by proxy administrator webadmin")
    r = subprocess.run([str(pathlib.Path(d.binary).parents[1] / "mailuser/mailuser"), "-f",
                        d.conf_path, "set", "alice", "--status", "hold"], capture_output=True)
    assert r.returncode == 0, r.stderr
    c = tls_client(d, "imaps", pki["alice"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1] == \
        "a NO [CONTACTADMIN] Account on hold: its mail is kept but login is not possible"
    r = subprocess.run([str(pathlib.Path(d.binary).parents[1] / "mailuser/mailuser"), "-f",
                        d.conf_path, "set", "alice", "--status", "active", "--services",
                        "-imaps:ALL"], capture_output=True)
    assert r.returncode == 0, r.stderr
    c = tls_client(d, "imaps", pki["alice"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [CONTACTADMIN] Access denied")


def test_starttls_and_no_password_login(imapd_factory, pki):
    """After STARTTLS the certificate counts as well; with plaintextmincipher -1 (no password
    login) the certificate still logs in."""
    d = imapd_factory({"local.tls.cafile": pki["ca"], "service.imap.plaintextmincipher": "-1"},
                      users=("alice",))
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.starttls(ssl_context=context(pki["alice"]))
    assert "AUTH=EXTERNAL" in m.capabilities and "LOGINDISABLED" in m.capabilities
    assert "AUTH=PLAIN" not in m.capabilities
    assert m.authenticate("EXTERNAL", lambda challenge: b"")[0] == "OK"
    m.logout()


def test_curl_external(imap, pki, tls_files):
    r = subprocess.run(["curl", "-sS", "--cacert", tls_files["cert"], "--cert",
                        pki["alice"]["cert"], "--key", pki["alice"]["key"], "--login-options",
                        "AUTH=EXTERNAL", "-u", "alice:", "-X", "EXAMINE INBOX",
                        f"imaps://127.0.0.1:{imap.ports['imaps']}/"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "EXISTS" in r.stdout
    r = subprocess.run(["curl", "-sS", "--cacert", tls_files["cert"], "--cert",
                        pki["untrusted"]["cert"], "--key", pki["untrusted"]["key"],
                        "--login-options", "AUTH=EXTERNAL", "-u", "alice:", "-X",
                        "EXAMINE INBOX", f"imaps://127.0.0.1:{imap.ports['imaps']}/"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_pop_external(popd_factory, pki):
    d = popd_factory({"local.tls.cafile": pki["ca"]}, users=("alice",))
    c = tls_client(d, "pops", pki["alice"])
    c.line()
    c.send("CAPA\r\n")
    lines = []
    while (ln := c.line()) != ".":
        lines.append(ln)
    assert "SASL PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS EXTERNAL" in lines
    assert pop_auth(c, "EXTERNAL", None, initial=b"").startswith("+OK Maildrop locked")
    c = tls_client(d, "pops")
    c.line()
    c.send("AUTH EXTERNAL =\r\n")
    assert c.line().startswith("-ERR [AUTH] EXTERNAL needs")
    c = tls_client(d, "pops", pki["nobody"])
    c.line()
    assert pop_auth(c, "EXTERNAL", lambda ch: b"") == "-ERR [AUTH] Authentication failed"


def test_bad_certmap_parameters_refused(imapd_factory, pki):
    from conftest import BUILD
    cu = str(pathlib.Path(BUILD) / "src/configutil/configutil")
    d = pathlib.Path(open_dir())
    try:
        conf = d / "msg.conf"
        conf.write_text("")
        for name, value in (("local.certmap.components", "uid,ou"),
                            ("local.certmap.searchfilter", "mail=%s"),
                            ("local.certmap.searchfilter", "(mail=%d)"),
                            ("local.certmap.searchfilter", "(mail=x)")):
            r = subprocess.run([cu, "-f", str(conf), "--no-apply", "-o", name, "-v", value],
                               capture_output=True, text=True)
            assert r.returncode != 0, (name, value)
        r = subprocess.run([cu, "-f", str(conf), "--no-apply", "-o",
                            "local.certmap.searchfilter", "-v", "(|(mail=%s)(uid=%s))"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
