"""The LDAP user directory (issue 6): imapd, popd and lmtpd against a real slapd started on
127.0.0.1 with the Sun mail schema of tests/ldap/ and the users of tests/ldap/users.ldif:
logins, every status, mailAllowedServiceAccess from 127.0.0.1 and 127.0.0.2, the directory
going away and coming back, the caches, and delivery."""
import os
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import LDAP_BASE, LDAP_DIR, TEST_USER, Slapd
from test_access import HERE, IMAP_DENIED, OTHER, POP_DENIED, imap_login, pop_login, wait_log
from test_lmtpd import MESSAGE, mailboxes

IMAP_FAILED = "a NO [AUTHENTICATIONFAILED] Authentication failed"
POP_FAILED = "-ERR [AUTH] Authentication failed"
IMAP_TEMP = "a NO [UNAVAILABLE] Authentication is unavailable; try again later"
POP_TEMP = "-ERR [SYS/TEMP] Authentication is unavailable; try again later"


def dn(cn):
    return f"cn={cn},ou=people,{LDAP_BASE}"


def ldap_daemons(slapd, imapd_factory, popd_factory, **extra):
    settings = slapd.settings(**{"local.ugldapcachettl": "0", **extra})
    return imapd_factory(settings), popd_factory(settings, users=())


@pytest.fixture
def daemons(slapd, imapd_factory, popd_factory):
    return ldap_daemons(slapd, imapd_factory, popd_factory)


def test_login_and_wrong_password(daemons):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert pop_login(popd, HERE, "alice").startswith("+OK")
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_FAILED
    assert pop_login(popd, HERE, "alice", "wrong") == POP_FAILED
    assert wait_log(imapd, f'login as "alice" failed: wrong password for {dn("alice")}')
    assert imap_login(imapd, HERE, "nobody-here") == IMAP_FAILED
    assert pop_login(popd, HERE, "nobody-here") == POP_FAILED
    assert wait_log(imapd, 'login as "nobody-here" failed: no such user')


def test_empty_password_is_not_an_anonymous_bind(daemons):
    """RFC 4513 5.1.2: a simple bind with an empty password would succeed unauthenticated."""
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "alice", '""') == IMAP_FAILED
    assert wait_log(imapd, "empty password for " + dn("alice"))


@pytest.mark.parametrize("login,user", [
    ("alice@example.com", "alice"),          # uid, then mail: the mail matches
    ("robert@example.com", "bob"),           # mailAlternateAddress
    ("carol@example.com", "carol@example.com"),  # no uid: the store name is the mail
    ("ALICE", "alice"),                      # uid matches case-insensitively
])
def test_login_names(daemons, login, user):
    imapd, _ = daemons
    assert imap_login(imapd, HERE, login).startswith("a OK")
    assert wait_log(imapd, "logged in (session=") and wait_log(imapd, f" user={user})")


def test_default_domain(slapd, imapd_factory):
    imapd = imapd_factory(slapd.settings(**{"service.defaultdomain": "example.com"}))
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert imap_login(imapd, HERE, "carol").startswith("a OK")  # mail carol@example.com
    assert imap_login(imapd, HERE, "alice@example.com").startswith("a OK")


@pytest.mark.parametrize("login,journal", [
    ("r-*", "no such user"),                    # RFC 4515 escaping: not a wildcard
    ("*", "no such user"),
    ("alice)(uid=*", "no such user"),
    ("dup@example.com", "several LDAP entries have mail=dup@example.com"),
    ("star*", 'cannot be a user name here'),   # found, but '*' is not a store name
])
def test_names_that_must_not_log_in(daemons, login, journal):
    imapd, _ = daemons
    assert imap_login(imapd, HERE, f'"{login}"') == IMAP_FAILED
    assert wait_log(imapd, journal)


STATUS_CASES = [
    # (user, IMAP reply, POP reply, journal)
    ("s-inactive", "a NO [UNAVAILABLE] Account temporarily inactive; try again later",
     "-ERR [SYS/TEMP] Account temporarily inactive; try again later",
     "mailUserStatus is inactive"),
    ("s-disabled", "a NO [CONTACTADMIN] Account disabled",
     "-ERR [SYS/PERM] Account disabled; contact your administrator", "mailUserStatus is disabled"),
    ("s-deleted", "a NO [CONTACTADMIN] Account deleted",
     "-ERR [SYS/PERM] Account deleted; contact your administrator", "mailUserStatus is deleted"),
    ("s-removed", "a NO [CONTACTADMIN] Account removed",
     "-ERR [SYS/PERM] Account removed; contact your administrator", "mailUserStatus is removed"),
    ("s-hold", "a NO [CONTACTADMIN] Account on hold: its mail is kept but login is not possible",
     "-ERR [SYS/PERM] Account on hold: its mail is kept but login is not possible",
     "mailUserStatus is hold"),
    ("i-inactive", "a NO [UNAVAILABLE] Account temporarily inactive; try again later",
     "-ERR [SYS/TEMP] Account temporarily inactive; try again later",
     "inetUserStatus is inactive"),
    ("i-deleted", "a NO [CONTACTADMIN] Account deleted",
     "-ERR [SYS/PERM] Account deleted; contact your administrator", "inetUserStatus is deleted"),
    # the first of inetUserStatus, mailUserStatus that is not active decides
    ("i-first", "a NO [UNAVAILABLE] Account temporarily inactive; try again later",
     "-ERR [SYS/TEMP] Account temporarily inactive; try again later",
     "inetUserStatus is inactive"),
    # a value Sun does not define fails closed
    ("s-bogus", "a NO [CONTACTADMIN] Account disabled",
     "-ERR [SYS/PERM] Account disabled; contact your administrator",
     'mailUserStatus "locked" is not a known status'),
    ("s-overquota", "a OK", "+OK", None),  # the store keeps the quota
    ("s-active", "a OK", "+OK", None),
]


@pytest.mark.parametrize("user,imap,pop,journal", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_status(daemons, user, imap, pop, journal):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, user).startswith(imap)
    assert pop_login(popd, HERE, user).startswith(pop)
    if journal:
        assert wait_log(imapd, f'login as "{user}" refused: {journal}')
        assert wait_log(popd, f'login as "{user}" refused: {journal}')
        # the status is told only to whoever knows the password
        assert imap_login(imapd, HERE, user, "wrong") == IMAP_FAILED
        assert pop_login(popd, HERE, user, "wrong") == POP_FAILED


def test_status_change_in_the_directory(slapd, daemons):
    imapd, popd = daemons
    slapd.modify(dn("alice"), mailUserStatus="disabled")
    assert imap_login(imapd, HERE, "alice") == "a NO [CONTACTADMIN] Account disabled"
    slapd.modify(dn("alice"), mailUserStatus=None)
    assert imap_login(imapd, HERE, "alice").startswith("a OK")


# user -> which (service, client) logins the rules let in: I = imap, P = pop; 1 = 127.0.0.1,
# 2 = 127.0.0.2 (no name)
RULE_CASES = [
    ("alice", "I1 I2 P1 P2"),        # no attribute
    ("r-all", "I1 I2 P1 P2"),        # +imap,pop:*
    ("r-imaponly", "I1 I2"),         # +imap:ALL (allow rules only: the rest is denied)
    ("r-nopop", "I1 I2"),            # -pop:ALL
    ("r-here", "I1 P1"),             # +imap,pop:127.0.0.1
    ("r-other", "I2 P2"),            # +imaps,pops:*$+imap,pop:127.0.0.2
    ("r-deny", ""),                  # -imap:*$-pop:*
    ("r-except", "I1 P1"),           # -ALL:ALL EXCEPT 127.0.0.1
    ("r-mask", "I1 P1"),             # -imap,pop:127.0.0.2/32
    ("r-prefix", "I2 P2"),           # -imap,pop:127.0.0.0/255.255.255.254
    ("r-local", "I2 P2"),            # -ALL:LOCAL (127.0.0.1 is "localhost")
    ("r-unknown", "I1 P1"),          # -ALL:UNKNOWN
    ("r-order", "I1 I2 P1"),         # -ALL:127.0.0.2$+imap:ALL: allow rules first
]


@pytest.mark.parametrize("user,allowed", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rules(daemons, user, allowed):
    imapd, popd = daemons
    allowed = allowed.split()
    for src, n in ((HERE, "1"), (OTHER, "2")):
        reply = imap_login(imapd, src, user)
        assert reply.startswith("a OK") if "I" + n in allowed else reply == IMAP_DENIED, \
            (src, reply)
        reply = pop_login(popd, src, user)
        assert reply.startswith("+OK") if "P" + n in allowed else reply == POP_DENIED, \
            (src, reply)
        # a refusal does not depend on the password
        if "I" + n not in allowed:
            assert imap_login(imapd, src, user, "wrong") == IMAP_DENIED


def test_broken_rules_fail_closed(daemons):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "r-broken") == \
        "a NO [CONTACTADMIN] The access rules of this account are broken; ask your administrator"
    assert pop_login(popd, HERE, "r-broken").startswith("-ERR [SYS/PERM] The access rules")
    assert wait_log(imapd, "mailAllowedServiceAccess does not parse")


def test_mailhost_elsewhere(daemons):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "elsewhere") == \
        "a NO [REFERRAL imap://elsewhere@other.test/] This account is served by another mail host"
    assert pop_login(popd, HERE, "elsewhere") == \
        "-ERR [SYS/PERM] This account is served by another mail host"
    assert wait_log(imapd, 'login as "elsewhere" refused: mailHost is other.test, not this host')
    assert imap_login(imapd, HERE, "elsewhere", "wrong") == IMAP_FAILED


# --- the directory going away ---

def test_directory_down_then_back(slapd, daemons):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert pop_login(popd, HERE, "alice").startswith("+OK")
    slapd.stop()
    # never "wrong password": the client is told to come back
    assert imap_login(imapd, HERE, "alice") == IMAP_TEMP
    assert pop_login(popd, HERE, "alice") == POP_TEMP
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_TEMP
    assert wait_log(imapd, 'login as "alice" refused: LDAP ldap://127.0.0.1:')
    slapd.start()
    # the pooled connections reconnect
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert pop_login(popd, HERE, "alice").startswith("+OK")
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_FAILED


def test_directory_restart_between_logins(slapd, daemons):
    """A pooled connection the server closed is reopened on its next use."""
    imapd, popd = daemons
    for _ in range(3):
        assert imap_login(imapd, HERE, "alice").startswith("a OK")
        assert pop_login(popd, HERE, "alice").startswith("+OK")
        slapd.stop()
        slapd.start()


def test_unreachable_host(slapd, imapd_factory, popd_factory):
    imapd, popd = ldap_daemons(slapd, imapd_factory, popd_factory,
                               **{"local.ugldapport": "1"})
    assert imap_login(imapd, HERE, "alice") == IMAP_TEMP
    assert pop_login(popd, HERE, "alice") == POP_TEMP


def test_hung_directory_times_out(slapd, imapd_factory):
    """A directory that accepts but never answers: the login waits local.ugldaptimeout."""
    imapd = imapd_factory(slapd.settings(**{"local.ugldapcachettl": "0",
                                            "local.ugldaptimeout": "1"}))
    slapd.proc.send_signal(signal.SIGSTOP)
    try:
        t = time.time()
        assert imap_login(imapd, HERE, "alice") == IMAP_TEMP
        assert time.time() - t < 8
    finally:
        slapd.proc.send_signal(signal.SIGCONT)
    assert imap_login(imapd, HERE, "alice").startswith("a OK")


def test_wrong_service_credentials_are_not_a_wrong_password(slapd, imapd_factory, popd_factory):
    imapd, popd = ldap_daemons(slapd, imapd_factory, popd_factory,
                               **{"local.ugldapbindcred": "not-it"})
    assert imap_login(imapd, HERE, "alice") == IMAP_TEMP
    assert pop_login(popd, HERE, "alice") == POP_TEMP
    assert wait_log(imapd, f"cannot bind as cn=halyard,{LDAP_BASE}: Invalid credentials")


def test_anonymous_search(slapd, imapd_factory):
    imapd = imapd_factory(slapd.settings(**{"local.ugldapbinddn": "",
                                            "local.ugldapbindcred": ""}))
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_FAILED


# --- the caches ---

def test_password_change_and_the_login_cache(slapd, daemons):
    imapd, popd = daemons
    assert imap_login(imapd, HERE, "dave").startswith("a OK")
    assert imap_login(imapd, HERE, "dave").startswith("a OK")
    assert wait_log(imapd, "logged in (password from the login cache)")
    # the entry's entryCSN changes with the password: the cached digest no longer matches
    slapd.modify(dn("dave"), userPassword="other")
    assert imap_login(imapd, HERE, "dave") == IMAP_FAILED
    assert imap_login(imapd, HERE, "dave", "other").startswith("a OK")
    assert pop_login(popd, HERE, "dave") == POP_FAILED
    assert pop_login(popd, HERE, "dave", "other").startswith("+OK")


def test_answer_cache(slapd, imapd_factory):
    """local.ugldapcachettl: a lookup is reused that long; a reload with 0 ends it."""
    imapd = imapd_factory(slapd.settings(**{"local.ugldapcachettl": "60"}))
    assert imap_login(imapd, HERE, "bob").startswith("a OK")
    slapd.modify(dn("bob"), mailUserStatus="disabled")
    assert imap_login(imapd, HERE, "bob").startswith("a OK")  # the cached answer
    text = open(imapd.conf_path).read()
    open(imapd.conf_path, "w").write(text.replace('local.ugldapcachettl = "60"',
                                                  'local.ugldapcachettl = "0"'))
    imapd.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline:
        if imap_login(imapd, HERE, "bob") == "a NO [CONTACTADMIN] Account disabled":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the reload did not end the cache")


def test_cached_login_survives_a_directory_outage(slapd, imapd_factory):
    """With both caches warm a known password logs in while the directory is away."""
    imapd = imapd_factory(slapd.settings(**{"local.ugldapcachettl": "60"}))
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    slapd.stop()
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_TEMP
    assert imap_login(imapd, HERE, "bob") == IMAP_TEMP
    slapd.start()


# --- delivery ---

@pytest.fixture
def lmtpd(slapd, lmtpd_factory):
    d = lmtpd_factory(slapd.settings(**{"local.ugldapcachettl": "0",
                                        "service.defaultdomain": "example.com"}))
    os.makedirs(d.store, exist_ok=True)
    subprocess.run(["chown", f"{TEST_USER}:nogroup", str(d.store)], check=True)
    return d


RCPT_CASES = [
    ("alice@example.com", "250"),        # mail
    ("robert@example.com", "250"),       # mailAlternateAddress (bob)
    ("s-active@example.com", "250"),     # uid, by the local part in the default domain
    ("s-hold@example.com", "250"),       # hold: mail is kept
    ("s-inactive@example.com", "450 4.2.1"),
    ("s-disabled@example.com", "550 5.2.1"),
    ("i-deleted@example.com", "550 5.2.1"),
    ("elsewhere@example.com", "550 5.1.6"),
    ("nobody@example.com", "550 5.1.1"),
    ("s-active@example.org", "550 5.1.1"),  # another domain: only mail / uid as a whole
]


def test_lmtp_recipients(lmtpd):
    c = lmtpd.connect()
    assert c.line().startswith("220")
    c.send("LHLO x\r\n")
    while not c.line().startswith("250 "):
        pass
    c.send("MAIL FROM:<s@example.org>\r\n")
    assert c.line().startswith("250")
    for addr, code in RCPT_CASES:
        c.send(f"RCPT TO:<{addr}>\r\n")
        reply = c.line()
        assert reply.startswith(code), (addr, reply)
    c.send("DATA\r\n")
    assert c.line().startswith("354")
    c.send(MESSAGE + b".\r\n")
    for addr, code in RCPT_CASES:
        if code == "250":
            reply = c.line()
            assert reply.startswith("250"), (addr, reply)
    c.close()
    for user in ("alice", "bob", "s-active", "s-hold"):
        assert mailboxes(lmtpd, user)["INBOX"] == 1, user


def test_lmtp_delivery_then_imap(slapd, lmtpd, imapd_factory):
    with smtplib.LMTP(lmtpd.path) as c:
        # (smtplib reads one reply after DATA: one recipient per transaction)
        assert c.sendmail("s@example.org", ["alice@example.com"], MESSAGE) == {}
        assert c.sendmail("s@example.org", ["carol@example.com"], MESSAGE) == {}
    imapd = imapd_factory(slapd.settings())
    for user in ("alice", "carol@example.com"):
        c = imapd.connect()
        c.line()
        assert c.cmd(f"a LOGIN {user} secret")[1].startswith("a OK")
        untagged, tagged = c.cmd("b SELECT INBOX")
        assert "* 1 EXISTS" in untagged, (user, untagged)
        c.close()


def test_lmtp_quota_from_the_directory(lmtpd):
    """mailMsgQuota 1 and mailQuota 2000 for q-small; -1 (no limit) for q-none."""
    with smtplib.LMTP(lmtpd.path) as c:
        assert c.sendmail("s@example.org", ["q-small@example.com"], MESSAGE) == {}
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("s@example.org", ["q-small@example.com"], MESSAGE)
        assert e.value.smtp_code == 552 and b"5.2.2" in e.value.smtp_error
        for _ in range(3):
            assert c.sendmail("s@example.org", ["q-none@example.com"], MESSAGE) == {}
    assert mailboxes(lmtpd, "q-small")["INBOX"] == 1
    assert mailboxes(lmtpd, "q-none")["INBOX"] == 3


def test_lmtp_directory_down(slapd, lmtpd):
    slapd.stop()
    c = lmtpd.connect()
    assert c.line().startswith("220")
    c.send("LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.com>\r\n")
    while not c.line().startswith("250 "):
        pass
    assert c.line().startswith("250")
    assert c.line() == "451 4.4.3 <alice@example.com> directory unavailable, try again later"
    c.close()
    slapd.start()
    with smtplib.LMTP(lmtpd.path) as c:
        assert c.sendmail("s@example.org", ["alice@example.com"], MESSAGE) == {}


# --- TLS to the directory ---

@pytest.fixture
def slapd_tls(workdir, tls_files):
    d = workdir / "slapd-tls"
    d.mkdir()
    s = Slapd(d, tls_files).start()
    with open(os.path.join(LDAP_DIR, "users.ldif")) as f:
        s.ldap("ldapadd", f.read())
    yield s
    s.stop()


@pytest.mark.parametrize("how", ["ldaps", "starttls"])
def test_tls(slapd_tls, imapd_factory, tls_files, how):
    s = slapd_tls
    tls = {"local.ugldapusessl": "yes", "local.ugldapport": str(s.tls_port)} \
        if how == "ldaps" else {"local.ugldapstarttls": "yes"}
    imapd = imapd_factory(s.settings(**tls, **{"local.ugldapcafile": tls_files["cert"]}))
    assert imap_login(imapd, HERE, "alice").startswith("a OK")
    assert imap_login(imapd, HERE, "alice", "wrong") == IMAP_FAILED
    # a certificate the CA file does not vouch for: no login, and no "wrong password"
    imapd = imapd_factory(s.settings(**tls))
    assert imap_login(imapd, HERE, "alice") == IMAP_TEMP
