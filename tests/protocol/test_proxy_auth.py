"""Proxy authorisation for the webmail front end (issue 6 item 7): the administrator named by
local.service.proxy.admin logs in with its own password and SASL PLAIN's authorisation
identity names the user it acts as; nobody else may act as another user."""
import base64
import imaplib

from conftest import store_tool


def plain(authz, authc, password):
    return base64.b64encode(f"{authz}\0{authc}\0{password}".encode()).decode()


def authenticate(d, authz, authc, password):
    c = d.connect()
    c.line()
    return c, c.cmd(f"a AUTHENTICATE PLAIN {plain(authz, authc, password)}")[1]


def deliver(d, user, subject):
    r = store_tool(d.conf_path, "deliver", user,
                   stdin=f"Subject: {subject}\r\n\r\nfor {user}\r\n".encode())
    assert r.returncode == 0, r.stderr


def test_admin_acts_as_a_user(imapd_factory):
    d = imapd_factory({"local.service.proxy.admin": "webadmin"},
                      users=("alice", "bob", "webadmin"))
    deliver(d, "alice", "alice's mail")
    c, tagged = authenticate(d, "alice", "webadmin", "secret")
    assert tagged.startswith("a OK"), tagged
    untagged, tagged = c.cmd("b SELECT INBOX")
    assert "* 1 EXISTS" in untagged
    untagged, _ = c.cmd("c FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert any("alice's mail" in ln for ln in untagged) or "alice's mail" in c.buf.decode()
    assert "by proxy administrator webadmin" in d.log_text()


def test_nobody_else_may(imapd_factory):
    d = imapd_factory({"local.service.proxy.admin": "webadmin"},
                      users=("alice", "bob", "webadmin"))
    assert authenticate(d, "alice", "bob", "secret")[1] == \
        "a NO [AUTHORIZATIONFAILED] Not allowed to act as that user"
    assert authenticate(d, "alice", "webadmin", "wrong")[1] == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert authenticate(d, "nobody-here", "webadmin", "secret")[1] == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    # the same authorisation and authentication identity is an ordinary login
    assert authenticate(d, "bob", "bob", "secret")[1].startswith("a OK")
    # without local.service.proxy.admin nobody may act as another user
    d2 = imapd_factory(users=("alice", "webadmin"))
    assert authenticate(d2, "alice", "webadmin", "secret")[1] == \
        "a NO [AUTHORIZATIONFAILED] Not allowed to act as that user"


def test_target_status_still_decides(imapd_factory):
    d = imapd_factory({"local.service.proxy.admin": "webadmin"}, users=("alice", "webadmin"))
    r = store_tool(d.conf_path, "mailuser", "set", "alice", "--status", "disabled")
    assert r.returncode == 0, r.stderr
    assert authenticate(d, "alice", "webadmin", "secret")[1] == \
        "a NO [CONTACTADMIN] Account disabled"


def test_pop_refuses_another_identity(popd_factory):
    d = popd_factory({"local.service.proxy.admin": "alice"}, users=("alice", "bob"))
    c = d.connect()
    c.line()
    c.send(f"AUTH PLAIN {plain('bob', 'alice', 'secret')}\r\n")
    assert c.line() == "-ERR [AUTH] Authorization identity not permitted"
