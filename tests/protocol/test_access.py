"""Access control (issue 6): per-user mailAllowedServiceAccess rules at login, the server-wide
service.<svc>.domainallowed / domainnotallowed filters at connect, and the account status
(inetUserStatus, mailUserStatus), for imapd and popd. Clients connect from 127.0.0.1 (which
resolves to "localhost" and back) and from 127.0.0.2 (which has no name)."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, Daemon, LineClient, client_tls_context, store_tool, write_conf

HERE = "127.0.0.1"
OTHER = "127.0.0.2"
IMAP_DENIED = "a NO [CONTACTADMIN] Access denied: this account may not use IMAP from your address"
POP_DENIED = "-ERR [SYS/PERM] Access denied: this account may not use POP from your address"


def connect_from(d, name, src):
    """A client bound to src (loopback only) on the daemon's socket `name`."""
    s = socket.create_connection(("127.0.0.1", d.ports[name]), timeout=10,
                                 source_address=(src, 0))
    if name in ("imaps", "pops"):
        s = client_tls_context().wrap_socket(s)
    return LineClient(s)


def imap_login(d, src, user="alice", password="secret", port="imap", starttls=False):
    c = connect_from(d, port, src)
    assert c.line().startswith("* OK")
    if starttls:
        assert c.cmd("s STARTTLS")[1].startswith("s OK")
        c.starttls()
    reply = c.cmd(f"a LOGIN {user} {password}")[1]
    c.close()
    return reply


def pop_login(d, src, user="alice", password="secret", port="pop"):
    c = connect_from(d, port, src)
    assert c.line().startswith("+OK")
    c.send(f"USER {user}\r\n")
    assert c.line().startswith("+OK")
    c.send(f"PASS {password}\r\n")
    reply = c.line()
    c.close()
    return reply


def mailuser(d, *args):
    return store_tool(d.conf_path, "mailuser", *args)


def set_rules(d, rules, user="alice"):
    r = mailuser(d, "set", user, "--services", rules)
    assert r.returncode == 0, r.stderr


def wait_log(d, text, timeout=5):
    deadline = time.time() + timeout
    while text not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    return text in d.log_text()


@pytest.fixture
def daemons(imapd_factory, popd_factory):
    imapd = imapd_factory(users=("alice",))
    popd = popd_factory(users=("alice",))
    return imapd, popd


# rules -> which (service, client) logins they let in: I = imap, P = pop; 1 = 127.0.0.1, 2 = .2
RULE_CASES = [
    ("", "I1 I2 P1 P2"),
    ("+imap,pop:*", "I1 I2 P1 P2"),
    ("+imap:ALL$+pop:ALL", "I1 I2 P1 P2"),
    ("-imap:*$-pop:*", ""),
    ("+imap:ALL", "I1 I2"),  # an allow rule only: every other service is denied
    ("-pop:ALL", "I1 I2"),
    ("-ALL EXCEPT imap:ALL", "I1 I2"),
    ("-ALL:ALL EXCEPT 127.0.0.1", "I1 P1"),
    ("+imap,pop:127.0.0.1", "I1 P1"),
    ("+imaps,pops:*$+imap,pop:127.0.0.2", "I2 P2"),
    ("-imap,pop:127.0.0.0/255.255.255.254", "I2 P2"),
    ("-imap,pop:127.0.0.2/32", "I1 P1"),
    ("-ALL:127.0.0.", ""),
    ("-ALL:127.0.0.0/30 EXCEPT 127.0.0.1", "I1 P1"),
    ("-ALL:::1,[::1]/128", "I1 I2 P1 P2"),
    ("-ALL:localhost", "I2 P2"),
    ("-ALL:.example.com", "I1 I2 P1 P2"),
    ("-ALL:LOCAL", "I2 P2"),
    ("-ALL:KNOWN", "I2 P2"),
    ("-ALL:UNKNOWN", "I1 P1"),
    ("+ALL:ALL EXCEPT UNKNOWN", "I1 P1"),
    ("-ALL:127.0.0.2$+imap:ALL", "I1 I2 P1"),  # allow rules come first
]


@pytest.mark.parametrize("rules,allowed", RULE_CASES, ids=[c[0] or "empty" for c in RULE_CASES])
def test_rule_forms(daemons, rules, allowed):
    imapd, popd = daemons
    set_rules(imapd, rules)
    allowed = allowed.split()
    for src, n in ((HERE, "1"), (OTHER, "2")):
        reply = imap_login(imapd, src)
        if "I" + n in allowed:
            assert reply.startswith("a OK"), (src, reply)
        else:
            assert reply == IMAP_DENIED, (src, reply)
        reply = pop_login(popd, src)
        if "P" + n in allowed:
            assert reply.startswith("+OK"), (src, reply)
        else:
            assert reply == POP_DENIED, (src, reply)


def test_denial_journal_names_the_rule(daemons):
    imapd, popd = daemons
    set_rules(imapd, "+imap,pop:127.0.0.1")
    assert imap_login(imapd, OTHER) == IMAP_DENIED
    assert wait_log(imapd, 'login as "alice" refused: mailAllowedServiceAccess denies imap from '
                           '127.0.0.2: no allow rule matches')
    set_rules(imapd, "+imap:ALL$-pop:127.0.0.0/24")
    assert pop_login(popd, OTHER) == POP_DENIED
    assert wait_log(popd, 'login as "alice" refused: mailAllowedServiceAccess rule 2 '
                          '"-pop:127.0.0.0/24" denies pop from 127.0.0.2')
    set_rules(imapd, "-imap:localhost")
    assert imap_login(imapd, HERE) == IMAP_DENIED
    assert wait_log(imapd, 'rule 1 "-imap:localhost" denies imap from 127.0.0.1 localhost')


def test_denial_does_not_depend_on_the_password(daemons):
    """A refused client learns nothing about the password: right or wrong, the same reply."""
    imapd, popd = daemons
    set_rules(imapd, "-imap,pop:127.0.0.2")
    assert imap_login(imapd, OTHER, password="wrong") == IMAP_DENIED
    assert pop_login(popd, OTHER, password="wrong") == POP_DENIED
    # where the rules allow, a wrong password is the plain failure
    assert imap_login(imapd, HERE, password="wrong") == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert pop_login(popd, HERE, password="wrong") == "-ERR [AUTH] Authentication failed"
    # an unknown user is the plain failure from everywhere
    assert imap_login(imapd, OTHER, user="nosuch") == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"


def test_tls_sessions_are_imaps_and_pops(daemons):
    imapd, popd = daemons
    set_rules(imapd, "+imaps,pops:ALL")
    assert imap_login(imapd, HERE) == IMAP_DENIED
    assert imap_login(imapd, HERE, port="imaps").startswith("a OK")
    assert imap_login(imapd, OTHER, starttls=True).startswith("a OK")
    assert pop_login(popd, HERE) == POP_DENIED
    assert pop_login(popd, OTHER, port="pops").startswith("+OK")


def test_authenticate_plain_is_checked_too(daemons):
    imapd, _ = daemons
    set_rules(imapd, "-imap:127.0.0.2")
    c = connect_from(imapd, "imap", OTHER)
    c.line()
    # base64("\0alice\0secret")
    assert c.cmd("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")[1] == IMAP_DENIED
    c.close()


def test_malformed_rule_in_the_table_fails_closed(daemons):
    imapd, popd = daemons
    tool = os.path.join(BUILD, "tests/tools/store-user-raw")
    r = subprocess.run([tool, str(imapd.store), "alice", "+imap:ALL EXCEPT"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert imap_login(imapd, HERE) == \
        "a NO [CONTACTADMIN] The access rules of this account are broken; ask your administrator"
    assert pop_login(popd, HERE) == \
        "-ERR [SYS/PERM] The access rules of this account are broken; ask your administrator"
    assert wait_log(imapd, "mailAllowedServiceAccess does not parse (EXCEPT needs a list after "
                           "it at byte 10)")
    # mailuser shows what is stored, and fixing it lets the user in again
    assert "services: +imap:ALL EXCEPT" in mailuser(imapd, "show", "alice").stdout
    set_rules(imapd, "")
    assert imap_login(imapd, HERE).startswith("a OK")


@pytest.mark.parametrize("rules", ["imap:ALL", "+imap", "+imap4:ALL", "+imap:*.example.com",
                                   "+imap:192.0.2.1/24", "+imap:ALL$", "+imap:@staff"])
def test_mailuser_refuses_malformed_rules(daemons, rules):
    imapd, _ = daemons
    set_rules(imapd, "+imap:ALL")
    r = mailuser(imapd, "set", "alice", "--services", rules)
    assert r.returncode == 2
    assert f'--services "{rules}": ' in r.stderr and " at byte " in r.stderr
    assert "services: +imap:ALL\n" in mailuser(imapd, "show", "alice").stdout
    r = store_tool(imapd.conf_path, "mailuser", "add", "zed", "--no-password", "--services",
                   rules)
    assert r.returncode == 2
    assert mailuser(imapd, "show", "zed").returncode != 0


# --- account status ---

STATUS_CASES = [
    # (mailuser option, value, IMAP reply, POP reply, journal)
    ("--status", "inactive", "a NO [UNAVAILABLE] Account temporarily inactive; try again later",
     "-ERR [SYS/TEMP] Account temporarily inactive; try again later",
     "mailUserStatus is inactive"),
    ("--status", "disabled", "a NO [CONTACTADMIN] Account disabled",
     "-ERR [SYS/PERM] Account disabled; contact your administrator", "mailUserStatus is disabled"),
    ("--status", "deleted", "a NO [CONTACTADMIN] Account deleted",
     "-ERR [SYS/PERM] Account deleted; contact your administrator", "mailUserStatus is deleted"),
    ("--status", "removed", "a NO [CONTACTADMIN] Account removed",
     "-ERR [SYS/PERM] Account removed; contact your administrator", "mailUserStatus is removed"),
    ("--status", "hold",
     "a NO [CONTACTADMIN] Account on hold: its mail is kept but login is not possible",
     "-ERR [SYS/PERM] Account on hold: its mail is kept but login is not possible",
     "mailUserStatus is hold"),
    ("--inet-status", "inactive",
     "a NO [UNAVAILABLE] Account temporarily inactive; try again later",
     "-ERR [SYS/TEMP] Account temporarily inactive; try again later",
     "inetUserStatus is inactive"),
    ("--inet-status", "deleted", "a NO [CONTACTADMIN] Account deleted",
     "-ERR [SYS/PERM] Account deleted; contact your administrator", "inetUserStatus is deleted"),
]


@pytest.mark.parametrize("option,value,imap,pop,journal", STATUS_CASES,
                         ids=[f"{c[0][2:]}-{c[1]}" for c in STATUS_CASES])
def test_status(daemons, option, value, imap, pop, journal):
    imapd, popd = daemons
    r = mailuser(imapd, "set", "alice", option, value)
    assert r.returncode == 0, r.stderr
    assert imap_login(imapd, HERE) == imap
    assert pop_login(popd, HERE) == pop
    assert wait_log(imapd, f'login as "alice" refused: {journal}')
    assert wait_log(popd, f'login as "alice" refused: {journal}')
    # the status is told only to whoever knows the password
    assert imap_login(imapd, HERE, password="wrong") == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    r = mailuser(imapd, "set", "alice", option, "active")
    assert r.returncode == 0, r.stderr
    assert imap_login(imapd, HERE).startswith("a OK")


def test_first_status_not_active_decides(daemons):
    imapd, popd = daemons
    assert mailuser(imapd, "set", "alice", "--inet-status", "inactive", "--status",
                    "disabled").returncode == 0
    assert imap_login(imapd, HERE) == \
        "a NO [UNAVAILABLE] Account temporarily inactive; try again later"
    assert mailuser(imapd, "set", "alice", "--inet-status", "active").returncode == 0
    assert imap_login(imapd, HERE) == "a NO [CONTACTADMIN] Account disabled"
    r = mailuser(imapd, "set", "alice", "--inet-status", "disabled")
    assert r.returncode == 2 and "active, inactive, deleted" in r.stderr


# --- domainallowed / domainnotallowed at connect ---

FILTER_CASES = [
    # (domainallowed, domainnotallowed, clients let in)
    ("ALL: 127.0.0.1", "", [HERE]),
    ("", "ALL: 127.0.0.2", [HERE]),
    ("", "ALL: 127.0.0.1", [OTHER]),
    ("ALL: 127.0.0.2", "ALL: ALL", [OTHER]),
    ("ALL: LOCAL", "ALL: ALL", [HERE]),
    ("", "ALL: UNKNOWN", [HERE]),
    ("", "ALL: ALL EXCEPT localhost", [HERE]),
    ("ALL: 127.0.0.0/255.0.0.0", "", [HERE, OTHER]),
    ("", "ALL: .example.com $ ALL: 10.0.0.0/8", [HERE, OTHER]),
]


@pytest.mark.parametrize("allowed,denied,clients", FILTER_CASES)
@pytest.mark.parametrize("proto", ["imap", "pop"])
def test_connect_filters(imapd_factory, popd_factory, proto, allowed, denied, clients):
    factory = imapd_factory if proto == "imap" else popd_factory
    d = factory({f"service.{proto}.domainallowed": allowed,
                 f"service.{proto}.domainnotallowed": denied})
    for src in (HERE, OTHER):
        c = connect_from(d, proto, src)
        line = c.line()
        if src in clients:
            assert line.startswith("* OK" if proto == "imap" else "+OK"), (src, line)
        elif proto == "imap":
            assert line == "* BYE Connections from your address are not accepted by this IMAP " \
                           "service", (src, line)
            assert c.closed()
        else:
            assert line == "-ERR [SYS/PERM] Connections from your address are not accepted by " \
                           "this POP service", (src, line)
            assert c.closed()
        c.close()
    if len(clients) < 2:
        assert wait_log(d, "refused")
        assert f"service.{proto}.domain" in d.log_text()


def test_connect_filter_journal(imapd_factory):
    d = imapd_factory({"service.imap.domainnotallowed": "imap: 127.0.0.2"})
    c = connect_from(d, "imap", OTHER)
    c.line()
    assert wait_log(d, 'connection from 127.0.0.2 refused by service.imap.domainnotallowed '
                       'filter 1 "imap: 127.0.0.2"')
    d2 = imapd_factory({"service.imap.domainallowed": "imap: LOCAL"})
    c = connect_from(d2, "imap", OTHER)
    c.line()
    assert wait_log(d2, "connection from 127.0.0.2 refused: no service.imap.domainallowed "
                        "filter matches imap")


def test_connect_filter_tls_port_is_imaps(imapd_factory):
    d = imapd_factory({"service.imap.domainallowed": "imaps: ALL",
                       "service.imap.domainnotallowed": "imap: ALL"})
    assert connect_from(d, "imap", HERE).line().startswith("* BYE")
    assert connect_from(d, "imaps", HERE).line().startswith("* OK")


def test_bad_filter_refuses_to_start(workdir):
    conf = workdir / "msg.conf"
    write_conf(conf, {"service.pop.domainnotallowed": "127.0.0.2"})
    d = Daemon(BUILD + "/src/popd/popd", ["pop"], str(conf), str(workdir / "log"))
    d.start()
    assert d.proc.wait(timeout=10) != 0
    assert "service.pop.domainnotallowed" in d.log_text()
    assert "service-list:client-list" in d.log_text()
    d.stop()


def test_bad_filter_on_reload_keeps_the_old_one(imapd_factory):
    d = imapd_factory({"service.imap.domainnotallowed": "ALL: 127.0.0.2"})
    assert connect_from(d, "imap", OTHER).line().startswith("* BYE")
    text = open(d.conf_path).read()
    open(d.conf_path, "w").write(text.replace('"ALL: 127.0.0.2"', '"ALL: 127.0.0.2 EXCEPT"'))
    d.signal(signal.SIGHUP)
    assert wait_log(d, "reload failed")
    assert "EXCEPT needs a list after it" in d.log_text()
    assert connect_from(d, "imap", OTHER).line().startswith("* BYE")
    assert connect_from(d, "imap", HERE).line().startswith("* OK")
    open(d.conf_path, "w").write(text.replace('"ALL: 127.0.0.2"', '"ALL: 127.0.0.1"'))
    d.signal(signal.SIGHUP)
    assert wait_log(d, "configuration reloaded")
    assert connect_from(d, "imap", OTHER).line().startswith("* OK")
    assert connect_from(d, "imap", HERE).line().startswith("* BYE")


def test_configutil_checks_filters(workdir):
    conf = workdir / "msg.conf"
    conf.write_text("")
    cu = os.path.join(BUILD, "src/configutil/configutil")
    r = subprocess.run([cu, "-f", str(conf), "-o", "service.imap.domainallowed",
                        "-v", "imap 127.0.0.1"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "service.imap.domainallowed" in r.stderr and "no ':'" in r.stderr
    r = subprocess.run([cu, "-f", str(conf), "-o", "service.imap.domainallowed",
                        "-v", "imap: 127.0.0.1 $ imaps: ALL"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
