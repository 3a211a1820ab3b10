"""The login cache (service.authcachettl): a repeated login skips the hashing (the journal line
says so), a changed password takes effect at once, a wrong password forgets the user's cached
logins, and `service.authcachettl 0` turns it off. Through IMAP LOGIN and POP USER/PASS."""
import imaplib
import poplib

from conftest import store_tool

CACHED = "logged in (password from the login cache)"


def imap_login(d, password):
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    try:
        m.login("alice", password)
        ok = True
    except imaplib.IMAP4.error:
        ok = False
    m.logout()
    return ok


def pop_login(d, password):
    p = poplib.POP3("127.0.0.1", d.ports["pop"])
    p.user("alice")
    try:
        ok = p.pass_(password).startswith(b"+OK")
    except poplib.error_proto:
        ok = False
    p.quit()
    return ok


def cache_hits(d):
    with open(d.log_path, errors="replace") as f:
        return f.read().count(CACHED)


def test_cache_hits_and_ttl_zero(imapd_factory):
    d = imapd_factory(users=("alice",))
    assert imap_login(d, "secret")
    assert cache_hits(d) == 0
    assert imap_login(d, "secret") and imap_login(d, "secret")
    assert cache_hits(d) == 2
    d2 = imapd_factory({"service.authcachettl": "0"}, users=("alice",))
    for _ in range(3):
        assert imap_login(d2, "secret")
    assert cache_hits(d2) == 0


def test_password_change_beats_the_cache(imapd_factory):
    d = imapd_factory(users=("alice",))
    assert imap_login(d, "secret") and imap_login(d, "secret")
    assert cache_hits(d) == 1
    r = store_tool(d.conf_path, "mailuser", "passwd", "alice", "--password-stdin",
                   stdin="changed\n")
    assert r.returncode == 0, r.stderr
    assert not imap_login(d, "secret")
    assert imap_login(d, "changed")
    assert cache_hits(d) == 1


def test_wrong_password_forgets(popd_factory):
    d = popd_factory({"service.authfailuredelay": "0"})
    assert pop_login(d, "secret") and pop_login(d, "secret")
    assert cache_hits(d) == 1
    assert not pop_login(d, "wrong")
    assert pop_login(d, "secret")  # hashed again, not from the cache
    assert cache_hits(d) == 1
    assert pop_login(d, "secret")
    assert cache_hits(d) == 2
