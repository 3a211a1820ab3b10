"""SASL and certificate login with the LDAP directory: SCRAM-SHA-256 keys from a
{SCRAM-SHA-256} userPassword value (made by `gsasl --mkpasswd`, as Dovecot's `doveadm pw` makes
them) that the service DN may read, entries without one, and certificates mapped by
local.certmap.searchfilter."""
import shutil
import subprocess

import pytest

from conftest import LDAP_BASE
from sasl_client import Scram, imap_auth, plain
from test_access import wait_log
from test_certlogin import pki, tls_client  # noqa: F401 (pki is a fixture)

pytestmark = pytest.mark.skipif(shutil.which("gsasl") is None,
                                reason="gsasl (Debian package) makes the SCRAM values")


def dn(cn):
    return f"cn={cn},ou=people,{LDAP_BASE}"


def scram_value(password, iterations=4096):
    r = subprocess.run(["gsasl", "--mkpasswd", "-m", "SCRAM-SHA-256", "-p", password,
                        "--iteration-count", str(iterations)],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def add_password_value(slapd, cn, value):
    slapd.ldap("ldapmodify", f"dn: {dn(cn)}\nchangetype: modify\nadd: userPassword\n"
                             f"userPassword: {value}\n-\n")


@pytest.fixture
def imapd(slapd, imapd_factory):
    return imapd_factory(slapd.settings(**{"local.ugldapcachettl": "0"}))


def test_scram_from_ldap(slapd, imapd):
    add_password_value(slapd, "alice", scram_value("secret"))
    c = imapd.connect()
    c.line()
    s = Scram("alice", "secret")
    assert imap_auth(c, "a", "SCRAM-SHA-256", s).startswith("a OK") and s.verified
    assert s.iters == 4096
    c = imapd.connect()
    c.line()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "wrong")) == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert wait_log(imapd, "wrong password for alice (SCRAM-SHA-256 proof")
    # the bind still uses the other value
    c = imapd.connect()
    c.line()
    assert imap_auth(c, "b", "PLAIN", None, initial=plain("", "alice", "secret")).startswith(
        "b OK")


def test_ldap_entry_without_scram_value(slapd, imapd):
    c = imapd.connect()
    c.line()
    assert imap_auth(c, "a", "SCRAM-SHA-256", Scram("alice", "secret")).startswith(
        "a NO [CANNOT] This account cannot use SCRAM-SHA-256")
    assert wait_log(imapd, "alice has no SCRAM-SHA-256 keys")


def test_certificate_by_ldap_filter(slapd, imapd_factory, pki):  # noqa: F811
    settings = slapd.settings(**{"local.ugldapcachettl": "0", "local.tls.cafile": pki["ca"],
                                 "local.certmap.components": "e",
                                 "local.certmap.searchfilter": "(mail=%s)"})
    d = imapd_factory(settings)
    c = tls_client(d, "imaps", pki["alice"])  # e = alice@example.com
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a OK")
    assert wait_log(d, "user=alice")
    c = tls_client(d, "imaps", pki["nobody"])  # no e component
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [AUTHENTICATIONFAILED]")
    # a filter that finds several entries names nobody
    d2 = imapd_factory({**settings, "local.certmap.searchfilter": "(|(mail=%s)(objectClass=*))"})
    c = tls_client(d2, "imaps", pki["alice"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1].startswith("a NO [AUTHENTICATIONFAILED]")
    assert wait_log(d2, "several LDAP entries match")


def test_searchfilter_without_ldap(imapd_factory, pki):  # noqa: F811
    d = imapd_factory({"local.tls.cafile": pki["ca"], "local.certmap.searchfilter": "(uid=%s)"},
                      users=("alice",))
    c = tls_client(d, "imaps", pki["alice"])
    c.line()
    assert c.cmd("a AUTHENTICATE EXTERNAL =")[1] == \
        "a NO [UNAVAILABLE] Authentication is unavailable; try again later"
    assert wait_log(d, "local.certmap.searchfilter is set but local.ugldaphost is not")
