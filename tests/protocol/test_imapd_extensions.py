"""The seed's capability line, each extension implemented before it is announced: QUOTA
(RFC 2087), ACL (RFC 4314), X-ANNOTATEMORE (draft-daboo-imap-annotatemore-08), SPECIAL-USE and
CREATE-SPECIAL-USE (RFC 6154), LANGUAGE (RFC 5255), XSENDER, X-NETSCAPE and XSERVERINFO. Scripted
sessions through the LineClient, and imaplib where it has the command."""
import imaplib
import re

import pytest

from conftest import store_tool
from test_imapd_session import deliver

POST_LOGIN = ("QUOTA", "ACL", "RIGHTS=texk", "X-ANNOTATEMORE", "SPECIAL-USE",
              "CREATE-SPECIAL-USE", "LANGUAGE", "XSENDER", "X-NETSCAPE", "XSERVERINFO")


@pytest.fixture
def imap(imapd_factory):
    d = imapd_factory({"service.imap.accounturl": "https://mail.test/account",
                       "service.imap.manageaccounturl": "https://mail.test/manage",
                       "service.imap.managefiltersurl": 'https://mail.test/filters?a=\\"b\\"'},  # msg.conf quoting
                      users=("alice", "bob"))
    for i in range(1, 4):
        deliver(d, "alice", i)
    return d


def login(d, user="alice"):
    c = d.connect()
    c.line()
    assert c.cmd(f"l0 LOGIN {user} secret")[1].startswith("l0 OK")
    return c


def connect(d):
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    return m


def test_capabilities(imap):
    c = imap.connect()
    greeting = c.line()
    assert "LANGUAGE" in greeting.split()  # RFC 5255 3: before login too
    assert "ACL" not in greeting.split()
    c.cmd("a LOGIN alice secret")
    caps = c.cmd("b CAPABILITY")[0][0].split()
    for cap in POST_LOGIN:
        assert cap in caps, cap
    assert caps.count("LANGUAGE") == 1
    assert "X-SUN-SORT" not in caps and "X-SUN-IMAP" not in caps  # no public specification


def test_quota(imapd_factory):
    d = imapd_factory(users=("alice", "bob"))
    for i in range(1, 4):
        deliver(d, "alice", i)
    r = store_tool(d.conf_path, "mailuser", "set", "alice", "--quota-bytes", "1M",
                   "--quota-messages", "100")
    assert r.returncode == 0, r.stderr
    c = login(d)
    untagged, done = c.cmd('a GETQUOTAROOT INBOX')
    assert done == "a OK GETQUOTAROOT completed"
    assert untagged == ['* QUOTAROOT "INBOX" ""', '* QUOTA "" (STORAGE 1 1024 MESSAGE 3 100)']
    assert c.cmd('b GETQUOTA ""') == (['* QUOTA "" (STORAGE 1 1024 MESSAGE 3 100)'],
                                      "b OK GETQUOTA completed")
    assert c.cmd("c GETQUOTA user.alice")[1].startswith("c NO No such quota root")
    assert c.cmd("d GETQUOTAROOT Nope")[1] == "d NO [NONEXISTENT] No such mailbox"
    assert c.cmd("e GETQUOTAROOT")[1] == "e BAD Usage: GETQUOTAROOT mailbox"
    assert c.cmd("f GETQUOTA")[1] == "f BAD Usage: GETQUOTA quota-root"
    # the administrator sets quotas; a well-formed SETQUOTA is refused, a broken one is BAD
    assert c.cmd('g SETQUOTA "" (STORAGE 512)')[1].startswith(
        "g NO [NOPERM] Quotas are set by the administrator")
    assert c.cmd('h SETQUOTA "" STORAGE')[1] == \
        "h BAD Usage: SETQUOTA quota-root (resource limit ...)"
    assert c.cmd('i SETQUOTA "" (STORAGE)')[1].startswith("i BAD")
    # no limits: the root has no resources
    b = login(d, "bob")
    assert b.cmd("a GETQUOTAROOT INBOX")[0] == ['* QUOTAROOT "INBOX" ""', '* QUOTA "" ()']
    m = imaplib.IMAP4("127.0.0.1", d.ports["imap"])
    m.login("alice", "secret")
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK" and data == [[b'"INBOX" ""'], [b'"" (STORAGE 1 1024 MESSAGE 3 100)']]
    typ, data = m.getquota('""')
    assert typ == "OK" and data == [b'"" (STORAGE 1 1024 MESSAGE 3 100)']
    typ, data = m.setquota('""', "(STORAGE 10)")
    assert typ == "NO"
    m.logout()


def test_acl(imap):
    c = login(imap)
    assert c.cmd("a MYRIGHTS INBOX") == (['* MYRIGHTS "INBOX" lrswipkxteacd'],
                                         "a OK MYRIGHTS completed")
    assert c.cmd("b GETACL INBOX") == (['* ACL "INBOX" "alice" lrswipkxteacd'],
                                       "b OK GETACL completed")
    assert c.cmd("c SETACL INBOX bob lr")[1] == "c OK SETACL completed"
    assert c.cmd("d GETACL INBOX")[0] == ['* ACL "INBOX" "alice" lrswipkxteacd "bob" "lr"']
    # RFC 4314 2.1.1: c stands for k, d for x t e, and both come back with their members
    assert c.cmd("e SETACL INBOX bob +cd")[1] == "e OK SETACL completed"
    assert c.cmd("f GETACL INBOX")[0] == ['* ACL "INBOX" "alice" lrswipkxteacd "bob" "lrkxtecd"']
    assert c.cmd("g SETACL INBOX bob -dr")[1] == "g OK SETACL completed"
    assert c.cmd("h GETACL INBOX")[0] == ['* ACL "INBOX" "alice" lrswipkxteacd "bob" "lkc"']
    assert c.cmd("i SETACL INBOX anyone l")[1] == "i OK SETACL completed"
    assert c.cmd("j LISTRIGHTS INBOX bob") == (['* LISTRIGHTS "INBOX" "bob" "" l r s w i p k x t e a'],
                                               "j OK LISTRIGHTS completed")
    assert c.cmd("k LISTRIGHTS INBOX alice")[0] == ['* LISTRIGHTS "INBOX" "alice" lrswipkxtea']
    # unknown rights are BAD (RFC 4314 3.1), never ignored
    assert c.cmd("l SETACL INBOX bob lz")[1].startswith("l BAD Unknown right 'z'")
    assert c.cmd("m SETACL INBOX bob +X")[1].startswith("m BAD Unknown right 'X'")
    # the owner always has everything: lowering it is refused, granting it is no change
    for n, line in enumerate(["SETACL INBOX alice -a", "SETACL INBOX ALICE lr",
                              "DELETEACL INBOX alice"]):
        assert c.cmd(f"n{n} {line}")[1] == \
            f"n{n} NO [CANNOT] The owner of a mailbox always has all rights (lrswipkxtea)"
    assert c.cmd("o SETACL INBOX alice +l")[1] == "o OK SETACL completed"
    # negative rights (RFC 4314 2) are kept under "-identifier"
    assert c.cmd("p SETACL INBOX -bob l")[1] == "p OK SETACL completed"
    assert c.cmd("p1 DELETEACL INBOX -bob")[1] == "p1 OK DELETEACL completed"
    assert c.cmd("q DELETEACL INBOX bob")[1] == "q OK DELETEACL completed"
    assert c.cmd("r DELETEACL INBOX nobody")[1] == "r OK DELETEACL completed"
    assert c.cmd("s GETACL INBOX")[0] == ['* ACL "INBOX" "alice" lrswipkxteacd "anyone" "l"']
    assert c.cmd("t GETACL Nope")[1] == "t NO [NONEXISTENT] No such mailbox"
    assert c.cmd("u GETACL")[1] == "u BAD Usage: GETACL mailbox"
    assert c.cmd("v SETACL INBOX bob")[1] == "v BAD Usage: SETACL mailbox identifier rights"
    assert c.cmd('w LISTRIGHTS INBOX ""')[1] == "w BAD The identifier must be a non-empty astring"
    # an ACL belongs to its mailbox: it follows RENAME
    c.cmd("x CREATE Team")
    c.cmd("y SETACL Team bob lrs")
    c.cmd("z RENAME Team Crew")
    assert c.cmd("z1 GETACL Crew")[0] == ['* ACL "Crew" "alice" lrswipkxteacd "bob" "lrs"']
    # imaplib's ACL commands
    m = connect(imap)
    assert m.setacl("INBOX", "bob", "lrs")[0] == "OK"
    typ, data = m.getacl("INBOX")
    assert typ == "OK" and data == [b'"INBOX" "alice" lrswipkxteacd "anyone" "l" "bob" "lrs"']
    assert m.myrights("INBOX") == ("OK", [b'"INBOX" lrswipkxteacd'])
    assert m.deleteacl("INBOX", "bob")[0] == "OK"
    m.logout()


def test_annotatemore(imap):
    c = login(imap)
    assert c.cmd('a SETANNOTATION INBOX "/comment" ("value.priv" "My comment")')[1] == \
        "a OK SETANNOTATION completed"
    assert c.cmd('b GETANNOTATION INBOX "/comment" "value.priv"') == (
        ['* ANNOTATION "INBOX" "/comment" ("value.priv" "My comment")'],
        "b OK GETANNOTATION completed")
    # several entries in one command
    assert c.cmd('c SETANNOTATION INBOX ("/comment" ("value.shared" "Everyone\'s") '
                 '"/vendor/x/y" ("value.priv" "v"))')[1] == "c OK SETANNOTATION completed"
    # "value" stands for value.priv and value.shared
    assert c.cmd('d GETANNOTATION INBOX "/comment" "value"')[0] == [
        '* ANNOTATION "INBOX" "/comment" ("value.priv" "My comment" '
        '"value.shared" "Everyone\'s")']
    # wildcards: * crosses '/', % does not; size.* are the values' lengths
    assert c.cmd('e GETANNOTATION INBOX "*" ("value.priv" "size.priv")')[0] == [
        '* ANNOTATION "INBOX" "/comment" ("value.priv" "My comment" "size.priv" "10")',
        '* ANNOTATION "INBOX" "/vendor/x/y" ("value.priv" "v" "size.priv" "1")']
    assert c.cmd('f GETANNOTATION INBOX "/%" "value.priv"')[0] == [
        '* ANNOTATION "INBOX" "/comment" ("value.priv" "My comment")']
    assert c.cmd('g GETANNOTATION INBOX "/nothing" "*"') == ([], "g OK GETANNOTATION completed")
    # the mailbox "" is the server; a list-mailbox pattern reaches every mailbox
    c.cmd("h CREATE Work")
    assert c.cmd('i SETANNOTATION Work "/comment" ("value.priv" "work")')[1].startswith("i OK")
    assert c.cmd('j SETANNOTATION "" "/motd" ("value.shared" "hello")')[1].startswith("j OK")
    assert c.cmd('k GETANNOTATION "" "*" "*"')[0] == [
        '* ANNOTATION "" "/motd" ("value.shared" "hello" "size.shared" "5")']
    assert c.cmd('l GETANNOTATION * "/comment" "value.priv"')[0] == [
        '* ANNOTATION "INBOX" "/comment" ("value.priv" "My comment")',
        '* ANNOTATION "Work" "/comment" ("value.priv" "work")']
    # NIL removes
    assert c.cmd('m SETANNOTATION INBOX "/comment" ("value.priv" NIL)')[1].startswith("m OK")
    assert c.cmd('n GETANNOTATION INBOX "/comment" "value"')[0] == [
        '* ANNOTATION "INBOX" "/comment" ("value.shared" "Everyone\'s")']
    # errors
    bad = {'SETANNOTATION INBOX "comment" ("value.priv" "x")':
           "Annotation entries are names such as /comment (no wildcards)",
           'SETANNOTATION INBOX "/a/*" ("value.priv" "x")':
           "Annotation entries are names such as /comment (no wildcards)",
           'SETANNOTATION INBOX "/c" ("size.priv" "1")':
           "SETANNOTATION sets the attributes value.priv and value.shared",
           'SETANNOTATION INBOX "/c" ("value.priv")':
           "Usage: SETANNOTATION mailbox entry (attribute value ...)",
           'SETANNOTATION INBOX ("/c")':
           "Usage: SETANNOTATION mailbox (entry (attribute value ...) ...)",
           'SETANNOTATION * "/c" ("value.priv" "x")':
           "SETANNOTATION takes one mailbox, not a pattern",
           "GETANNOTATION INBOX": "Usage: GETANNOTATION mailbox entries attributes",
           'GETANNOTATION INBOX () "value"':
           "GETANNOTATION takes an entry or a list of entries, then an attribute or a list of "
           "attributes",
           'GETANNOTATION INBOX "comment" "value"': "Annotation entries start with '/': comment"}
    for n, (line, text) in enumerate(bad.items()):
        assert c.cmd(f"o{n} {line}") == ([], f"o{n} BAD {text}"), line
    assert c.cmd('p SETANNOTATION Nope "/c" ("value.priv" "x")')[1] == \
        "p NO [NONEXISTENT] No such mailbox"
    assert c.cmd('q GETANNOTATION Nope "/c" "value"')[1] == "q NO [NONEXISTENT] No such mailbox"
    # a value that needs a literal goes out as one
    c.send('r SETANNOTATION INBOX "/note" ("value.priv" {11+}\r\nline\r\nline2)\r\n')
    assert c.line() == "r OK SETANNOTATION completed"
    c.send('s GETANNOTATION INBOX "/note" "value.priv"\r\n')
    assert c.line() == '* ANNOTATION "INBOX" "/note" ("value.priv" {11}'
    assert c.line() == "line"
    assert c.line() == 'line2)'
    assert c.line() == "s OK GETANNOTATION completed"
    # imaplib (it has the draft's commands, for Cyrus)
    m = connect(imap)
    typ, data = m.setannotation("INBOX", '"/comment"', '("value.priv" "from imaplib")')
    assert typ == "OK"
    typ, data = m.getannotation("INBOX", '"/comment"', '"value.priv"')
    assert typ == "OK" and data == [b'"INBOX" "/comment" ("value.priv" "from imaplib")']
    m.logout()


def test_special_use(imap):
    c = login(imap)
    assert c.cmd("a CREATE Sent (USE (\\Sent))")[1] == "a OK CREATE completed"
    assert c.cmd("b CREATE Old (use (\\archive \\flagged))")[1] == "b OK CREATE completed"
    assert c.cmd("c CREATE Stuff (USE (\\Important))")[1].startswith("c NO [USEATTR]")
    assert c.cmd("d CREATE Stuff (USE (\\Sent \\Sent))")[1].startswith("d NO [USEATTR]")
    assert c.cmd("e CREATE Stuff (FOO (\\Sent))")[1] == \
        "e BAD Unknown CREATE parameter (USE is known)"
    assert c.cmd("f CREATE Stuff (USE \\Sent)")[1] == \
        "f BAD USE takes a list of special-use attributes"
    c.cmd("g CREATE Plain (USE ())")
    untagged, done = c.cmd('h LIST "" *')
    assert done == "h OK LIST completed"
    assert untagged == ['* LIST (\\HasNoChildren) "/" "INBOX"',
                        '* LIST (\\HasNoChildren \\Archive \\Flagged) "/" "Old"',
                        '* LIST (\\HasNoChildren) "/" "Plain"',
                        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"']  # Stuff was never made
    # RFC 6154 5.1: the selection option lists only special-use mailboxes
    assert c.cmd('i LIST (SPECIAL-USE) "" *')[0] == [
        '* LIST (\\HasNoChildren \\Archive \\Flagged) "/" "Old"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"']
    assert c.cmd('j LIST "" % RETURN (SPECIAL-USE)')[0] == untagged
    assert c.cmd('k LIST (special-use) "" ("S*" "INBOX") RETURN (CHILDREN SPECIAL-USE)')[0] == [
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"']
    assert c.cmd('l LIST (SUBSCRIBED) "" *')[1] == \
        "l BAD Unknown LIST selection option (SPECIAL-USE is known)"
    assert c.cmd('m LIST "" * RETURN (STATUS)')[1] == \
        "m BAD Unknown LIST return option (SPECIAL-USE is known)"
    assert c.cmd('n LIST "" * RETURN')[1].startswith("n BAD Usage: LIST [(options)]")
    assert c.cmd('o LSUB (SPECIAL-USE) "" *')[1].startswith("o BAD")
    # RFC 6154 4: the attributes are the /private/specialuse annotation, readable and settable
    assert c.cmd('p GETANNOTATION Sent "/specialuse" "value.priv"')[0] == [
        '* ANNOTATION "Sent" "/specialuse" ("value.priv" "\\\\Sent")']
    assert c.cmd('q SETANNOTATION Plain "/specialuse" ("value.priv" "\\\\drafts")')[1] == \
        "q OK SETANNOTATION completed"
    assert c.cmd('r SETANNOTATION Plain "/specialuse" ("value.priv" "\\\\Bogus")')[1].startswith(
        "r NO [USEATTR]")
    assert c.cmd('s LIST "" Plain')[0] == ['* LIST (\\HasNoChildren \\Drafts) "/" "Plain"']
    # the attribute follows a RENAME and goes with the mailbox
    c.cmd("t RENAME Plain Drafts")
    assert c.cmd('u LIST "" Drafts')[0] == ['* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"']
    c.cmd("v DELETE Drafts")
    c.cmd("w CREATE Drafts")
    assert c.cmd('x LIST "" Drafts')[0] == ['* LIST (\\HasNoChildren) "/" "Drafts"']
    # mboxutil gives a mailbox its attribute as it creates it (tools/dev-up does)
    r = store_tool(imap.conf_path, "mboxutil", "-u", "alice", "-c", "Junk",
                   "--special-use", "\\junk")
    assert r.returncode == 0, r.stderr
    assert c.cmd('y LIST "" Junk')[0] == ['* LIST (\\HasNoChildren \\Junk) "/" "Junk"']
    r = store_tool(imap.conf_path, "mboxutil", "-u", "alice", "-c", "Spam",
                   "--special-use", "\\Spam")
    assert r.returncode == 2 and "RFC 6154" in r.stderr
    m = connect(imap)
    typ, data = m.list('""', "Sent")
    assert data == [b'(\\HasNoChildren \\Sent) "/" "Sent"']
    m.logout()


def test_language(imap):
    c = imap.connect()
    c.line()
    assert c.cmd("a LANGUAGE") == (["* LANGUAGE (i-default en)"], "a OK Supported languages listed")
    assert c.cmd("b LANGUAGE en") == (["* LANGUAGE (en)"], "b OK Language changed")
    assert c.cmd("c LANGUAGE fr") == ([], "c NO Unsupported language")
    assert c.cmd("d LANGUAGE fr EN-gb") == (["* LANGUAGE (en)"], "d OK Language changed")
    assert c.cmd('e LANGUAGE "not a range"') == (
        [], "e BAD LANGUAGE takes language ranges such as en")
    assert c.cmd("f LANGUAGE en-") == ([], "f BAD LANGUAGE takes language ranges such as en")
    c.cmd("g LOGIN alice secret")
    # RFC 5255 3.2: after a change the namespaces come again
    assert c.cmd("h LANGUAGE i-default") == (
        ["* LANGUAGE (i-default)", '* NAMESPACE (("" "/")) (("Shared Folders/User/" "/")) NIL'],
        "h OK Language changed")
    assert c.cmd('i LANGUAGE de "*"')[0][0] == "* LANGUAGE (i-default)"


def test_xsender(imap):
    c = login(imap)
    c.cmd("a SELECT INBOX")
    # the store does not know the authenticated SMTP sender: empty, as Sun sent when unknown
    assert c.cmd("b FETCH 1 (UID XSENDER)") == (['* 1 FETCH (UID 1 XSENDER "")'],
                                               "b OK FETCH completed")
    assert c.cmd("c UID FETCH 2 XSENDER") == (['* 2 FETCH (UID 2 XSENDER "")'],
                                             "c OK UID FETCH completed")
    m = connect(imap)
    m.select("INBOX")
    typ, data = m.fetch("3", "(XSENDER)")
    assert typ == "OK" and data == [b'3 (XSENDER "")']
    m.logout()


def test_netscape_and_xserverinfo(imap, imapd_factory):
    c = imap.connect()
    c.line()
    assert c.cmd("a NETSCAPE")[1] == "a BAD Command not valid in this state"
    c.cmd("b LOGIN alice secret")
    untagged, done = c.cmd("c NETSCAPE")
    assert done == "c OK NETSCAPE completed"
    assert untagged[0] == "* OK [NETSCAPE]"
    assert re.fullmatch(r'\* VERSION "[0-9][^"]*"', untagged[1])
    assert untagged[2:] == ['* ACCOUNT-URL "https://mail.test/account"']
    assert c.cmd("d NETSCAPE now")[1] == "d BAD NETSCAPE takes no arguments"
    assert c.cmd("e XSERVERINFO MANAGEACCOUNTURL MANAGELISTSURL managefiltersurl") == (
        ['* XSERVERINFO MANAGEACCOUNTURL "https://mail.test/manage" MANAGELISTSURL NIL '
         'managefiltersurl "https://mail.test/filters?a=\\"b\\""'.replace(
             "managefiltersurl", "MANAGEFILTERSURL")], "e OK XSERVERINFO completed")
    assert c.cmd("f XSERVERINFO MANAGELISTSURL")[0] == ["* XSERVERINFO MANAGELISTSURL NIL"]
    assert c.cmd("g XSERVERINFO MANAGEALLURL")[1] == (
        "g BAD Unknown XSERVERINFO item (MANAGEACCOUNTURL, MANAGELISTSURL and MANAGEFILTERSURL "
        "are known)")
    assert c.cmd("h XSERVERINFO")[1].startswith("h BAD Usage: XSERVERINFO")
    # without service.imap.accounturl there is no ACCOUNT-URL line
    d = imapd_factory(users=("alice",))
    c = login(d)
    untagged, done = c.cmd("i NETSCAPE")
    assert len(untagged) == 2 and untagged[0] == "* OK [NETSCAPE]"
