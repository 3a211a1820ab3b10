"""ACL sharing (RFC 4314) through the other users' namespace (RFC 2342) under Sun's
"Shared Folders/User/<owner>/<mailbox>": alice shares, bob (and anyone) get exactly the rights
granted, carol sees nothing, every command that touches a mailbox checks its right, and the
answers are RFC 4314's ([NOPERM] when the user may look the mailbox up, else what a missing
mailbox gets). Scripted sessions through the LineClient, and imaplib where it has the command."""
import imaplib
import re

import pytest

from conftest import notify_settings, store_tool
from test_imapd_session import deliver

SF = "Shared Folders/User/alice"
NOPERM = "NO [NOPERM] Permission denied: this needs the"


@pytest.fixture
def imap(imapd_factory):
    d = imapd_factory(users=("alice", "bob", "carol"))
    for i in range(1, 4):
        deliver(d, "alice", i)
    c = login(d, "alice")
    assert c.cmd("a CREATE Project")[1] == "a OK CREATE completed"
    c.close()
    for i in range(4, 7):
        deliver(d, "alice", i, "Project")
    return d


def login(d, user="alice"):
    c = d.connect()
    c.line()
    assert c.cmd(f"l0 LOGIN {user} secret")[1].startswith("l0 OK")
    return c


def share(d, mailbox, who, rights):
    c = login(d, "alice")
    assert c.cmd(f'a SETACL "{mailbox}" {who} {rights}')[1] == "a OK SETACL completed"
    c.close()


def lines(untagged, kind):
    return [ln for ln in untagged if ln.startswith(f"* {kind} ")]


def test_namespace(imap):
    c = login(imap, "bob")
    assert c.cmd("a NAMESPACE") == (['* NAMESPACE (("" "/")) (("Shared Folders/User/" "/")) NIL'],
                                    "a OK NAMESPACE completed")
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    m.login("bob", "secret")
    assert m.namespace() == ("OK", [b'(("" "/")) (("Shared Folders/User/" "/")) NIL'])
    m.logout()


def test_list_shows_what_is_shared(imap):
    c = login(imap, "bob")
    # nothing shared yet: no "Shared Folders" at all
    untagged, done = c.cmd('a LIST "" *')
    assert done == "a OK LIST completed"
    assert untagged == ['* LIST (\\HasNoChildren) "/" "INBOX"']
    share(imap, "Project", "bob", "lr")
    untagged = c.cmd('b LIST "" *')[0]
    assert untagged == ['* LIST (\\HasNoChildren) "/" "INBOX"',
                        '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders"',
                        '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders/User"',
                        '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders/User/alice"',
                        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/Project"']
    # levels with %, as RFC 3501 6.3.8 asks
    assert c.cmd('c LIST "" %')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"',
                                       '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders"']
    assert c.cmd('d LIST "Shared Folders/User/" %')[0] == [
        '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders/User/alice"']
    assert c.cmd(f'e LIST "" "{SF}/%"')[0] == [
        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/Project"']
    assert c.cmd("f LIST \"\" INBOX*")[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']
    # a right other than l does not show it (RFC 4314 2.1: l is lookup)
    share(imap, "Project", "bob", "r")
    assert c.cmd('g LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']


def test_list_child_without_parent(imap):
    c = login(imap, "alice")
    c.cmd("a CREATE Team/Minutes")
    c.cmd("b SETACL Team/Minutes bob lr")
    b = login(imap, "bob")
    # RFC 4314 4: the parent bob may not look up is a level, not a mailbox
    assert b.cmd(f'c LIST "" "{SF}/*"')[0] == [
        '* LIST (\\Noselect \\HasChildren) "/" "Shared Folders/User/alice/Team"',
        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/Team/Minutes"']
    assert b.cmd(f'd SELECT "{SF}/Team"')[1] == "d NO [NONEXISTENT] No such mailbox"
    # a child created inside a shared mailbox starts with its parent's ACL
    c.cmd("e SETACL Team bob lr")
    c.cmd("f CREATE Team/Agenda")
    assert c.cmd("g GETACL Team/Agenda")[0] == [
        '* ACL "Team/Agenda" "alice" lrswipkxteacd "bob" "lr"']
    assert b.cmd(f'h LIST "" "{SF}/Team/%"')[0] == [
        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/Team/Agenda"',
        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/Team/Minutes"']


def test_read_only_with_lr(imap):
    share(imap, "Project", "bob", "lr")
    c = login(imap, "bob")
    untagged, done = c.cmd(f'a SELECT "{SF}/Project"')
    assert done == "a OK [READ-ONLY] SELECT completed"  # RFC 4314 5.2
    assert "* 3 EXISTS" in untagged
    assert "* OK [PERMANENTFLAGS ()] Flags permitted" in untagged
    assert "* 0 RECENT" in untagged  # alice's \Recent stays hers
    untagged, done = c.cmd("b FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])")
    assert done == "b OK FETCH completed" and "message 4" in "".join(untagged)
    # BODY[] sets no \Seen without s
    c.cmd("c FETCH 1 BODY[]")
    assert "\\Seen" not in c.cmd("d FETCH 1 FLAGS")[0][0]
    assert c.cmd("e STORE 1 +FLAGS (\\Seen)")[1] == "e NO [READ-ONLY] Mailbox is read-only"
    assert c.cmd("f EXPUNGE")[1] == "f NO [READ-ONLY] Mailbox is read-only"
    assert c.cmd("g SEARCH ALL") == (["* SEARCH 1 2 3"], "g OK SEARCH completed")
    assert c.cmd("h UID SEARCH SUBJECT \"message 5\"")[0] == ["* SEARCH 2"]
    assert c.cmd("i SORT (SUBJECT) UTF-8 ALL")[0] == ["* SORT 1 2 3"]
    assert c.cmd(f'j STATUS "{SF}/Project" (MESSAGES UNSEEN)') == (
        [f'* STATUS "{SF}/Project" (MESSAGES 3 UNSEEN 3)'], "j OK STATUS completed")
    assert c.cmd(f'k MYRIGHTS "{SF}/Project"') == ([f'* MYRIGHTS "{SF}/Project" lr'],
                                                   "k OK MYRIGHTS completed")
    # copy out of it into bob's own INBOX: r is enough
    done = c.cmd("l COPY 1:2 INBOX")[1]
    assert re.fullmatch(r"l OK \[COPYUID \d+ 1,2 1,2\] COPY completed", done), done
    assert c.cmd("m MOVE 1 INBOX")[1] == "m NO [READ-ONLY] Mailbox is read-only"
    assert c.cmd("n CLOSE")[1] == "n OK CLOSE completed"
    assert c.cmd('o STATUS INBOX (MESSAGES)')[0] == ['* STATUS "INBOX" (MESSAGES 2)']
    c.cmd("p SELECT INBOX")
    assert "Subject: message 4" in "".join(c.cmd("q FETCH 1 BODY.PEEK[HEADER]")[0])
    # alice's mailbox is as it was
    a = login(imap, "alice")
    assert a.cmd("r STATUS Project (MESSAGES UNSEEN)")[0] == [
        '* STATUS "Project" (MESSAGES 3 UNSEEN 3)']


def test_seen_and_write_rights(imap):
    share(imap, "Project", "bob", "lrs")
    c = login(imap, "bob")
    untagged, done = c.cmd(f'a SELECT "{SF}/Project"')
    assert done == "a OK [READ-WRITE] SELECT completed"
    assert "* OK [PERMANENTFLAGS (\\Seen)] Flags permitted" in untagged
    # BODY[] now sets \Seen (a flag every user of the mailbox sees: the store keeps one set)
    c.cmd("b FETCH 1 BODY[]")
    assert "\\Seen" in c.cmd("c FETCH 1 FLAGS")[0][0]
    # RFC 4314 4: a STORE with some flags the user may set changes those, not the rest
    untagged, done = c.cmd("d STORE 2 +FLAGS (\\Seen \\Flagged)")
    assert done == "d OK STORE completed"
    assert untagged == ["* 2 FETCH (FLAGS (\\Seen))"]
    assert c.cmd("e STORE 2 +FLAGS (\\Flagged)")[1] == f"e {NOPERM} w right"
    assert c.cmd("f STORE 2 +FLAGS (\\Deleted)")[1] == f"f {NOPERM} t right"
    assert c.cmd("g STORE 2 +FLAGS ($Work)")[1] == f"g {NOPERM} w right"
    assert c.cmd("h EXPUNGE")[1] == f"h {NOPERM} e right"
    assert c.cmd("i UID EXPUNGE 1")[1] == f"i {NOPERM} e right"
    # FLAGS () with s only: clears \Seen, leaves the rest
    assert c.cmd("j STORE 2 FLAGS ()")[0] == ["* 2 FETCH (FLAGS ())"]
    a = login(imap, "alice")
    a.cmd("k EXAMINE Project")  # her own SELECT would take the Recent flags
    assert a.cmd("l FETCH 1:2 FLAGS")[0] == ["* 1 FETCH (FLAGS (\\Seen))", "* 2 FETCH (FLAGS ())"]
    # with w, t and e too: keywords, \Deleted and EXPUNGE
    a.cmd("m SETACL Project bob lrswte")
    untagged, done = c.cmd(f'n SELECT "{SF}/Project"')
    assert "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] " \
           "Flags permitted" in untagged
    assert c.cmd("o STORE 3 +FLAGS ($Work \\Flagged)")[0] == ["* 3 FETCH (FLAGS (\\Flagged $Work))"]
    assert c.cmd("p STORE 3 FLAGS (\\Deleted)")[0] == ["* 3 FETCH (FLAGS (\\Deleted))"]
    assert c.cmd("q EXPUNGE") == (["* 3 EXPUNGE"], "q OK EXPUNGE completed")
    assert a.cmd("r NOOP")[0] == ["* 3 EXPUNGE"]


def test_close_expunges_only_with_e(imap):
    share(imap, "Project", "bob", "lrt")
    c = login(imap, "bob")
    assert c.cmd(f'a SELECT "{SF}/Project"')[1] == "a OK [READ-WRITE] SELECT completed"
    assert c.cmd("b UID STORE 1 +FLAGS.SILENT (\\Deleted)") == ([], "b OK UID STORE completed")
    assert c.cmd("c CLOSE")[1] == "c OK CLOSE completed"  # RFC 4314 4: silently, without e
    assert c.cmd(f'd STATUS "{SF}/Project" (MESSAGES)')[0] == [
        f'* STATUS "{SF}/Project" (MESSAGES 3)']
    share(imap, "Project", "bob", "lrte")
    c.cmd(f'e SELECT "{SF}/Project"')
    assert c.cmd("f CLOSE")[1] == "f OK CLOSE completed"
    assert c.cmd(f'g STATUS "{SF}/Project" (MESSAGES)')[0] == [
        f'* STATUS "{SF}/Project" (MESSAGES 2)']
    # UID forms check the same rights
    share(imap, "Project", "bob", "lr")
    c.cmd(f'h EXAMINE "{SF}/Project"')
    assert c.cmd("i UID FETCH 2 (FLAGS)")[1] == "i OK UID FETCH completed"
    assert c.cmd("j UID SORT (ARRIVAL) UTF-8 ALL")[0] == ["* SORT 2 3"]
    share(imap, "Project", "bob", "l")
    assert c.cmd("k UID FETCH 2 (FLAGS)")[1] == f"k {NOPERM} r right"
    assert c.cmd("l UID SORT (ARRIVAL) UTF-8 ALL")[1] == f"l {NOPERM} r right"
    assert c.cmd("m UID COPY 2 INBOX")[1] == f"m {NOPERM} r right"
    assert c.cmd("n NOOP") == ([], "n OK NOOP completed")


def test_revoke_while_selected(imap):
    share(imap, "Project", "bob", "lrs")
    c = login(imap, "bob")
    c.cmd(f'a SELECT "{SF}/Project"')
    assert c.cmd("b FETCH 1 FLAGS")[1] == "b OK FETCH completed"
    share(imap, "Project", "bob", "l")
    # from the next command on, the ACL as it is now
    assert c.cmd("c FETCH 1 FLAGS")[1] == f"c {NOPERM} r right"
    assert c.cmd("d STORE 1 +FLAGS (\\Seen)")[1] == f"d {NOPERM} s right"
    a = login(imap, "alice")
    assert a.cmd("e DELETEACL Project bob")[1] == "e OK DELETEACL completed"
    assert c.cmd("f SEARCH ALL")[1] == f"f {NOPERM} r right"
    assert c.cmd(f'g SELECT "{SF}/Project"')[1] == "g NO [NONEXISTENT] No such mailbox"
    assert c.cmd('h LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']


def test_insert_and_append(imap):
    share(imap, "Project", "bob", "li")
    c = login(imap, "bob")
    msg = "Subject: from bob\r\n\r\nhello\r\n"
    # RFC 4314 4: APPEND needs i; flags bob may not set are left off
    untagged, done = c.cmd(f'a APPEND "{SF}/Project" (\\Seen \\Flagged) {{{len(msg)}+}}\r\n{msg}')
    assert re.fullmatch(r"a OK \[APPENDUID \d+ 4\] APPEND completed", done), done
    # i without r: no SELECT, no STATUS
    assert c.cmd(f'b SELECT "{SF}/Project"')[1] == f"b {NOPERM} r right"
    assert c.cmd(f'c STATUS "{SF}/Project" (MESSAGES)')[1] == f"c {NOPERM} r right"
    # COPY from bob's INBOX into it
    deliver(imap, "bob", 9)
    c.cmd("d SELECT INBOX")
    untagged, done = c.cmd(f'e COPY 1 "{SF}/Project"')
    assert re.fullmatch(r"e OK \[COPYUID \d+ 1 5\] COPY completed", done), done
    c.cmd("f STORE 1 +FLAGS (\\Seen)")
    c.cmd(f'g COPY 1 "{SF}/Project"')
    a = login(imap, "alice")
    a.cmd("h EXAMINE Project")
    untagged = a.cmd("i FETCH 4:6 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[0]
    text = "\n".join(untagged)
    assert "from bob" in text and "message 9" in text
    assert "\\Seen" not in text and "\\Flagged" not in text
    # with s, \Seen goes through
    a.cmd("j SETACL Project bob +s")
    c.cmd(f'k APPEND "{SF}/Project" (\\Seen \\Flagged) {{{len(msg)}+}}\r\n{msg}')
    assert a.cmd("l NOOP")[0] == ["* 7 EXISTS"]
    assert a.cmd("l FETCH 7 FLAGS")[0] == ["* 7 FETCH (FLAGS (\\Seen))"]
    # without i: APPEND and COPY refused, as missing when bob cannot look it up
    a.cmd("m SETACL Project bob lr")
    assert c.cmd(f'n APPEND "{SF}/Project" {{{len(msg)}+}}\r\n{msg}')[1] == f"n {NOPERM} i right"
    assert c.cmd(f'o COPY 1 "{SF}/Project"')[1] == f"o {NOPERM} i right"
    a.cmd("p SETACL Project bob r")
    assert c.cmd(f'q COPY 1 "{SF}/Project"')[1] == "q NO [TRYCREATE] No such mailbox"
    assert c.cmd(f'r APPEND "{SF}/Nope" {{{len(msg)}+}}\r\n{msg}')[1] == \
        "r NO [TRYCREATE] No such mailbox"


def test_move_between_users(imap):
    share(imap, "Project", "bob", "lrte")
    c = login(imap, "bob")
    c.cmd(f'a SELECT "{SF}/Project"')
    untagged, done = c.cmd("b MOVE 1 INBOX")
    assert done == "b OK MOVE completed"
    assert untagged[-1] == "* 1 EXPUNGE" and untagged[0].startswith("* OK [COPYUID ")
    a = login(imap, "alice")
    assert a.cmd("c STATUS Project (MESSAGES)")[0] == ['* STATUS "Project" (MESSAGES 2)']
    assert c.cmd("d STATUS INBOX (MESSAGES)")[0] == ['* STATUS "INBOX" (MESSAGES 1)']
    # without t and e, MOVE is refused
    a.cmd("e SETACL Project bob lr")
    c.cmd(f'f SELECT "{SF}/Project"')
    assert c.cmd("g MOVE 1 INBOX")[1] == "g NO [READ-ONLY] Mailbox is read-only"
    a.cmd("h SETACL Project bob lrs")
    c.cmd(f'i SELECT "{SF}/Project"')
    assert c.cmd("j MOVE 1 INBOX")[1] == f"j {NOPERM} te rights"


def test_anyone_and_negative_rights(imap):
    share(imap, "Project", "anyone", "lr")
    for user in ("bob", "carol"):
        c = login(imap, user)
        assert f'"{SF}/Project"' in c.cmd('a LIST "" *')[0][-1]
        assert c.cmd(f'b EXAMINE "{SF}/Project"')[1] == "b OK [READ-ONLY] EXAMINE completed"
    # a negative entry takes a right away from one user (RFC 4314 2)
    share(imap, "Project", "-carol", "r")
    a = login(imap, "alice")
    assert a.cmd("c GETACL Project")[0] == [
        '* ACL "Project" "alice" lrswipkxteacd "-carol" "r" "anyone" "lr"']
    c = login(imap, "carol")
    assert c.cmd(f'd SELECT "{SF}/Project"')[1] == f"d {NOPERM} r right"
    assert c.cmd(f'e MYRIGHTS "{SF}/Project"')[0] == [f'* MYRIGHTS "{SF}/Project" l']
    b = login(imap, "bob")
    assert b.cmd(f'f MYRIGHTS "{SF}/Project"')[0] == [f'* MYRIGHTS "{SF}/Project" lr']
    # the owner cannot be given negative rights; removing one is fine
    assert a.cmd("g SETACL Project -alice r")[1] == \
        "g NO [CANNOT] The owner of a mailbox always has all rights (lrswipkxtea)"
    assert a.cmd("h DELETEACL Project -carol")[1] == "h OK DELETEACL completed"
    assert c.cmd(f'i SELECT "{SF}/Project"')[1] == "i OK [READ-ONLY] SELECT completed"
    # revoking anyone: gone for everybody
    assert a.cmd("j DELETEACL Project anyone")[1] == "j OK DELETEACL completed"
    assert b.cmd('k LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']


def test_third_user_sees_nothing(imap):
    share(imap, "Project", "bob", "lrswipkxtea")
    c = login(imap, "carol")
    assert c.cmd('a LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']
    # RFC 4314 6: every command answers as for a mailbox that does not exist
    for n, line in enumerate([f'SELECT "{SF}/Project"', f'EXAMINE "{SF}/Project"',
                              f'STATUS "{SF}/Project" (MESSAGES)', f'GETACL "{SF}/Project"',
                              f'MYRIGHTS "{SF}/Project"', f'LISTRIGHTS "{SF}/Project" carol',
                              f'SETACL "{SF}/Project" carol lr', f'DELETE "{SF}/Project"',
                              f'RENAME "{SF}/Project" "{SF}/Other"',
                              f'CREATE "{SF}/Project/Sub"', f'SELECT "{SF}/INBOX"',
                              f'SELECT "Shared Folders/User/nobody/INBOX"',
                              'SELECT "Shared Folders"', f'SELECT "{SF}"']):
        assert c.cmd(f"t{n} {line}")[1] == f"t{n} NO [NONEXISTENT] No such mailbox", line
    msg = "Subject: x\r\n\r\nx\r\n"
    assert c.cmd(f'u APPEND "{SF}/Project" {{{len(msg)}+}}\r\n{msg}')[1] == \
        "u NO [TRYCREATE] No such mailbox"
    deliver(imap, "carol", 1)
    c.cmd("v SELECT INBOX")
    assert c.cmd(f'w COPY 1:* "{SF}/Project"')[1] == "w NO [TRYCREATE] No such mailbox"


def test_acl_commands_on_a_shared_mailbox(imap):
    share(imap, "Project", "bob", "lr")
    c = login(imap, "bob")
    # RFC 4314 4: GETACL, LISTRIGHTS, SETACL, DELETEACL need a; MYRIGHTS any right
    assert c.cmd(f'a GETACL "{SF}/Project"')[1] == f"a {NOPERM} a right"
    assert c.cmd(f'b LISTRIGHTS "{SF}/Project" bob')[1] == f"b {NOPERM} a right"
    assert c.cmd(f'c SETACL "{SF}/Project" bob lrswi')[1] == f"c {NOPERM} a right"
    assert c.cmd(f'd DELETEACL "{SF}/Project" bob')[1] == f"d {NOPERM} a right"
    share(imap, "Project", "bob", "lra")
    assert c.cmd(f'e GETACL "{SF}/Project"') == (
        [f'* ACL "{SF}/Project" "alice" lrswipkxteacd "bob" "lra"'], "e OK GETACL completed")
    assert c.cmd(f'f SETACL "{SF}/Project" carol lr')[1] == "f OK SETACL completed"
    # the owner is still the owner
    assert c.cmd(f'g SETACL "{SF}/Project" alice lr')[1] == \
        "g NO [CANNOT] The owner of a mailbox always has all rights (lrswipkxtea)"
    assert c.cmd(f'h LISTRIGHTS "{SF}/Project" alice')[0] == [
        f'* LISTRIGHTS "{SF}/Project" "alice" lrswipkxtea']
    carol = login(imap, "carol")
    assert carol.cmd(f'i EXAMINE "{SF}/Project"')[1] == "i OK [READ-ONLY] EXAMINE completed"
    # imaplib's ACL commands on the shared name
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"])
    m.login("bob", "secret")
    assert m.myrights(f'"{SF}/Project"') == ("OK", [f'"{SF}/Project" lra'.encode()])
    typ, data = m.getacl(f'"{SF}/Project"')
    assert typ == "OK" and b'"carol" "lr"' in data[0]
    assert m.deleteacl(f'"{SF}/Project"', "carol")[0] == "OK"
    m.logout()
    assert carol.cmd(f'j EXAMINE "{SF}/Project"')[1] == "j NO [NONEXISTENT] No such mailbox"


def test_create_delete_rename_rights(imap):
    share(imap, "Project", "bob", "lr")
    c = login(imap, "bob")
    # CREATE inside needs k on the parent; the top level of alice's store is hers alone
    assert c.cmd(f'a CREATE "{SF}/Project/Sub"')[1] == f"a {NOPERM} k right"
    assert c.cmd(f'b CREATE "{SF}/Mine"')[1] == f"b {NOPERM} k right"
    assert c.cmd('c CREATE "Shared Folders/Mine"')[1] == \
        'c NO [CANNOT] "Shared Folders" holds other users\' mailboxes'
    share(imap, "Project", "bob", "lrk")
    assert c.cmd(f'd CREATE "{SF}/Project/Sub"')[1] == "d OK CREATE completed"
    assert f'"{SF}/Project/Sub"' in "".join(c.cmd(f'e LIST "" "{SF}/*"')[0])
    a = login(imap, "alice")
    assert a.cmd('f LIST "" Project/*')[0] == ['* LIST (\\HasNoChildren) "/" "Project/Sub"']
    # DELETE and RENAME need x; RENAME also k on the new parent, and stays with its owner
    assert c.cmd(f'g DELETE "{SF}/Project/Sub"')[1] == f"g {NOPERM} x right"
    assert c.cmd(f'h RENAME "{SF}/Project/Sub" "{SF}/Project/Sub2"')[1] == f"h {NOPERM} x right"
    a.cmd("i SETACL Project/Sub bob lrx")
    assert c.cmd(f'j RENAME "{SF}/Project/Sub" "{SF}/Project/Sub2"')[1] == "j OK RENAME completed"
    assert c.cmd(f'k RENAME "{SF}/Project/Sub2" Sub2')[1] == \
        "k NO [CANNOT] A mailbox cannot move to another user"
    assert c.cmd(f'l RENAME "{SF}/Project/Sub2" "{SF}/Top"')[1] == f"l {NOPERM} k right"
    assert c.cmd(f'm DELETE "{SF}/Project/Sub2"')[1] == "m OK DELETE completed"
    assert a.cmd('n LIST "" Project/*')[0] == []
    # x on Project: bob deletes it, unless someone has it selected in this session
    a.cmd("o SETACL Project bob lrx")
    c.cmd(f'p EXAMINE "{SF}/Project"')
    assert c.cmd(f'q DELETE "{SF}/Project"')[1] == \
        "q NO [INUSE] Close the mailbox before deleting it"
    c.cmd("r CLOSE")
    assert c.cmd(f'r DELETE "{SF}/Project"')[1] == "r OK DELETE completed"
    assert a.cmd('s LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']


def test_shared_inbox_and_subscriptions(imap):
    share(imap, "INBOX", "bob", "lrs")
    c = login(imap, "bob")
    untagged, done = c.cmd(f'a SELECT "{SF}/INBOX"')
    assert done == "a OK [READ-WRITE] SELECT completed" and "* 3 EXISTS" in untagged
    assert c.cmd('b SUBSCRIBE "Shared Folders/User/Alice/inbox"')[1] == "b OK SUBSCRIBE completed"
    c.cmd(f'c SUBSCRIBE "{SF}/Project"')
    assert c.cmd('d LSUB "" *')[0] == [
        '* LSUB (\\HasNoChildren) "/" "Shared Folders/User/alice/INBOX"',
        '* LSUB (\\HasNoChildren \\NonExistent) "/" "Shared Folders/User/alice/Project"']
    # the owner's own mailboxes through the shared namespace are just hers
    a = login(imap, "alice")
    assert a.cmd(f'e SELECT "{SF}/Project"')[1] == "e OK [READ-WRITE] SELECT completed"
    assert a.cmd(f'f MYRIGHTS "{SF}/Project"')[0] == [f'* MYRIGHTS "{SF}/Project" lrswipkxteacd']


def test_idle_on_a_shared_mailbox(imapd_factory, enpd_factory):
    enpd = enpd_factory()
    d = imapd_factory(notify_settings(enpd), users=("alice", "bob"))
    deliver(d, "alice", 1)
    share(d, "INBOX", "bob", "lr")
    c = login(d, "bob")
    c.cmd(f'a SELECT "{SF}/INBOX"')
    c.send("b IDLE\r\n")
    assert c.line() == "+ idling"
    # alice's APPEND to her INBOX is published for her mailbox: bob's session hears of it
    a = login(d, "alice")
    msg = "Subject: news\r\n\r\nnews\r\n"
    assert a.cmd(f"c APPEND INBOX {{{len(msg)}+}}\r\n{msg}")[1].startswith("c OK")
    assert c.line() == "* 2 EXISTS"
    c.send("DONE\r\n")
    assert c.line() == "b OK IDLE terminated"


def test_quota_of_the_owner(imap):
    r = store_tool(imap.conf_path, "mailuser", "set", "alice", "--quota-messages", "4")
    assert r.returncode == 0, r.stderr
    share(imap, "Project", "bob", "lri")
    c = login(imap, "bob")
    msg = "Subject: q\r\n\r\nq\r\n"
    # alice has 6 messages of 4: her quota refuses what bob puts in her mailbox
    assert c.cmd(f'a APPEND "{SF}/Project" {{{len(msg)}+}}\r\n{msg}')[1] == \
        "a NO [OVERQUOTA] Quota exceeded"
    deliver(imap, "bob", 1)
    c.cmd("b SELECT INBOX")
    assert c.cmd(f'c COPY 1 "{SF}/Project"')[1] == "c NO [OVERQUOTA] Quota exceeded"


def test_restrict_parameters(imapd_factory):
    d = imapd_factory({"store.privatesharedfolders.restrictanyone": "yes",
                       "store.privatesharedfolders.restrictdomain": "yes"},
                      users=("alice", "bob", "dave@example.com"))
    c = login(d, "alice")
    assert c.cmd("a SETACL INBOX anyone lr")[1] == \
        "a NO [NOPERM] Sharing with anyone is not allowed on this server"
    assert c.cmd("b SETACL INBOX bob lr")[1] == "b OK SETACL completed"
    assert c.cmd("c SETACL INBOX dave@example.com lr")[1] == \
        "c NO [NOPERM] Sharing outside your domain is not allowed on this server"
    # taking rights away is always allowed
    assert c.cmd("d SETACL INBOX -anyone r")[1] == "d OK SETACL completed"
    assert c.cmd("e DELETEACL INBOX anyone")[1] == "e OK DELETEACL completed"


def test_admin_tools(imap):
    """Sun's administrator commands: mboxutil -l -x shows ACLs, readership -s sets an entry,
    readership -l lists each identifier's shared folders, readership alone counts readers."""
    share(imap, "Project", "bob", "lrs")
    r = store_tool(imap.conf_path, "mboxutil", "-l", "-x", "-u", "alice")
    assert r.returncode == 0, r.stderr
    assert re.search(r"  Project  alice lrswipkxtea bob lrs$", r.stdout, re.M), r.stdout
    assert re.search(r"  INBOX  alice lrswipkxtea$", r.stdout, re.M), r.stdout
    r = store_tool(imap.conf_path, "mboxutil", "-l", "-x")
    assert re.search(r"  user/alice/Project  alice lrswipkxtea bob lrs$", r.stdout, re.M)
    # readership -s: the administrator's SETACL, as IMAP's would be
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/INBOX", "Carol", "lrc")
    assert r.returncode == 0, r.stderr
    c = login(imap, "carol")
    assert c.cmd(f'a MYRIGHTS "{SF}/INBOX"')[0] == [f'* MYRIGHTS "{SF}/INBOX" lrkc']
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/Project", "anyone", "l")
    assert r.returncode == 0, r.stderr
    r = store_tool(imap.conf_path, "readership", "-l")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["anyone: user/alice/Project l",
                                     "bob: user/alice/Project lrs",
                                     "carol: user/alice/INBOX lrk"]
    r = store_tool(imap.conf_path, "readership")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["user/alice/INBOX 1", "user/alice/Project 1"]
    # "" removes; the owner and bad rights are refused
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/INBOX", "carol", "")
    assert r.returncode == 0, r.stderr
    assert c.cmd(f'b MYRIGHTS "{SF}/INBOX"')[1] == "b NO [NONEXISTENT] No such mailbox"
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/INBOX", "alice", "l")
    assert r.returncode == 1 and "always has all rights" in r.stderr
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/INBOX", "bob", "lz")
    assert r.returncode == 2 and "unknown right 'z'" in r.stderr
    r = store_tool(imap.conf_path, "readership", "-s", "user/alice/Nope", "bob", "l")
    assert r.returncode == 1
    r = store_tool(imap.conf_path, "readership", "-s", "alice/INBOX", "bob", "l")
    assert r.returncode == 2 and "user/OWNER/FOLDER" in r.stderr
    assert store_tool(imap.conf_path, "readership", "-l", "x").returncode == 2


def test_owner_quota_from_ldap(slapd, imapd_factory):
    """With the LDAP directory, the owner's mailMsgQuota limits what others put in."""
    slapd.modify("cn=alice,ou=people,dc=example,dc=com", mailMsgQuota="1")
    d = imapd_factory(slapd.settings(**{"local.ugldapcachettl": "0"}))
    c = login(d, "alice")
    assert c.cmd("a SETACL INBOX bob lri")[1] == "a OK SETACL completed"
    b = login(d, "bob")
    msg = "Subject: q\r\n\r\nq\r\n"
    assert b.cmd(f'b APPEND "{SF}/INBOX" {{{len(msg)}+}}\r\n{msg}')[1].startswith("b OK [APPENDUID")
    assert b.cmd(f'c APPEND "{SF}/INBOX" {{{len(msg)}+}}\r\n{msg}')[1] == \
        "c NO [OVERQUOTA] Quota exceeded"
    assert b.cmd('d LIST "" *')[0][-1] == \
        '* LIST (\\HasNoChildren) "/" "Shared Folders/User/alice/INBOX"'


def test_reconstruct_repairs_the_sharing_index(imap):
    """A sharing index that lost a pair (a crash between the ACL's commit and the index's, or
    ACLs set before there was an index) leaves the share out of LIST; reconstruct puts it
    back."""
    share(imap, "Project", "bob", "lr")
    (imap.store / "lright.tcb").unlink()
    c = login(imap, "bob")
    assert c.cmd('a LIST "" *')[0] == ['* LIST (\\HasNoChildren) "/" "INBOX"']
    assert c.cmd(f'b EXAMINE "{SF}/Project"')[1] == "b OK [READ-ONLY] EXAMINE completed"
    r = store_tool(imap.conf_path, "reconstruct", "-n", "alice")
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == [
        "alice: sharing index: bob has an ACL entry but is not listed (not repaired)",
        "alice: 1 problem (not repaired)"]
    r = store_tool(imap.conf_path, "reconstruct", "alice")
    assert r.returncode == 1 and "(added)" in r.stdout, r.stdout
    assert store_tool(imap.conf_path, "reconstruct", "alice").stdout == "alice: clean\n"
    assert len(c.cmd('c LIST "" *')[0]) == 5
