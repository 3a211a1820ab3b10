"""imapd on the daemon skeleton, started as systemd starts it: greeting and banner, the
connection-level commands, STARTTLS and implicit TLS, limits, idle drop, reload and drain."""
import re
import signal
import subprocess
import time

from conftest import write_conf

VERSION_RE = r"\(Halyard \d+\.\d+\.\d+\)"


def test_greeting_and_banner(imapd_factory):
    d = imapd_factory()
    c = d.connect()
    greeting = c.line()
    assert re.fullmatch(r"\* OK \[CAPABILITY IMAP4 IMAP4rev1 LITERAL\+ ID ENABLE LANGUAGE SASL-IR STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256\] "
                        r"mail\.test IMAP4 service " + VERSION_RE, greeting), greeting


def test_custom_banner_substitutions(imapd_factory):
    d = imapd_factory({"service.imap.banner": "%h speaks %p: %P %V, 100%%"})
    greeting = d.connect().line()
    assert re.search(r"\] mail\.test speaks IMAP4: Halyard \d+\.\d+\.\d+, 100%$", greeting)


def test_connection_commands(imapd_factory):
    c = imapd_factory().connect()
    c.line()
    untagged, done = c.cmd("a1 CAPABILITY")
    assert untagged == ["* CAPABILITY IMAP4 IMAP4rev1 LITERAL+ ID ENABLE LANGUAGE SASL-IR STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256"]
    assert done == "a1 OK CAPABILITY completed"
    assert c.cmd("a2 noop") == ([], "a2 OK NOOP completed")
    assert c.cmd("a3 NOOP extra") == ([], "a3 BAD NOOP takes no arguments")
    assert c.cmd("a4 FROBNICATE") == ([], "a4 BAD Unknown command")
    assert c.cmd("a5 LOGOUT") == (["* BYE Logging out"], "a5 OK LOGOUT completed")
    assert c.closed()


def test_protocol_errors_keep_the_session(imapd_factory):
    c = imapd_factory().connect()
    c.line()
    c.send("\r\n")
    assert c.line() == "* BAD Missing or invalid tag"
    c.send("a+b NOOP\r\n")
    assert c.line() == "* BAD Missing or invalid tag"
    c.send("tag\r\n")
    assert c.line() == "tag BAD Missing or invalid command name"
    c.send("t1 " + "X" * 20000 + "\r\n")
    assert c.line() == "t1 BAD Command line too long (limit 8192 octets)"
    # the over-long line and the next command in one read: the next one must still run
    c.send("u1 " + "Y" * 9000 + "\r\nu2 NOOP\r\n")
    assert c.line() == "u1 BAD Command line too long (limit 8192 octets)"
    assert c.line() == "u2 OK NOOP completed"
    c.send(b"t2 NO\x00OP\r\n")
    assert c.line() == "t2 BAD Missing or invalid command name"
    assert c.cmd("t3 NOOP") == ([], "t3 OK NOOP completed")


def test_pipelined_commands(imapd_factory):
    c = imapd_factory().connect()
    c.line()
    c.send("p1 NOOP\r\np2 CAPABILITY\r\np3 NOOP\r\n")
    lines = [c.line() for _ in range(4)]
    assert lines[0] == "p1 OK NOOP completed"
    assert lines[2] == "p2 OK CAPABILITY completed"
    assert lines[3] == "p3 OK NOOP completed"


def test_starttls(imapd_factory):
    c = imapd_factory().connect()
    c.line()
    # bytes pipelined after STARTTLS must not be executed inside TLS (CVE-2011-0411)
    c.send("s1 STARTTLS\r\ninjected NOOP\r\n")
    assert c.line() == "s1 OK Begin TLS negotiation now"
    c.starttls()
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    untagged, done = c.cmd("s2 CAPABILITY")
    assert untagged == ["* CAPABILITY IMAP4 IMAP4rev1 LITERAL+ ID ENABLE LANGUAGE SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS"]
    assert c.cmd("s3 STARTTLS") == ([], "s3 BAD TLS is already active")
    assert c.cmd("s4 NOOP") == ([], "s4 OK NOOP completed")


def test_implicit_tls_port(imapd_factory):
    c = imapd_factory().connect("imaps")
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert c.line().startswith("* OK [CAPABILITY IMAP4 IMAP4rev1 LITERAL+ ID ENABLE LANGUAGE SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS] mail.test")
    assert c.cmd("t1 STARTTLS") == ([], "t1 BAD TLS is already active")


def test_tls_below_1_2_refused(imapd_factory):
    d = imapd_factory()
    r = subprocess.run(["gnutls-cli", "--insecure", "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.1",
                        "-p", str(d.ports["imaps"]), "127.0.0.1"],
                       input=b"", capture_output=True, timeout=20)
    assert r.returncode != 0
    r = subprocess.run(["gnutls-cli", "--insecure", "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.2",
                        "-p", str(d.ports["imaps"]), "127.0.0.1"],
                       input=b"a LOGOUT\r\n", capture_output=True, timeout=20)
    assert b"* OK [CAPABILITY" in r.stdout


def test_no_tls_configured(imapd_factory):
    c = imapd_factory(tls=False).connect()
    assert "STARTTLS" not in c.line()
    assert c.cmd("a STARTTLS") == ([], "a BAD STARTTLS is not available: no certificate "
                                       "configured")


def test_tls_socket_without_certificate_fails_at_start(workdir):
    from conftest import BUILD, Daemon
    tmp_path = workdir
    conf = tmp_path / "msg.conf"
    write_conf(conf, {})
    d = Daemon(BUILD + "/src/imapd/imapd", ["imap", "imaps"], str(conf), str(tmp_path / "log"))
    d.start()
    assert d.proc.wait(timeout=10) != 0
    assert "local.tls.certfile" in d.log_text()
    d.stop()


def test_bad_config_refuses_to_start(workdir):
    from conftest import BUILD, Daemon
    tmp_path = workdir
    conf = tmp_path / "msg.conf"
    conf.write_text("service.imap.maxsessions = many\n")
    d = Daemon(BUILD + "/src/imapd/imapd", ["imap"], str(conf), str(tmp_path / "log"))
    d.start()
    assert d.proc.wait(timeout=10) != 0
    assert "service.imap.maxsessions" in d.log_text()
    d.stop()


def test_maxsessions_refusal(imapd_factory):
    d = imapd_factory({"service.imap.maxsessions": "2"})
    time.sleep(0.3)  # the start-up probe connection must be gone before we count
    a, b = d.connect(), d.connect()
    a.line(), b.line()
    third = d.connect()
    assert third.line() == "* BYE [UNAVAILABLE] Too many connections; try again later"
    assert third.closed()
    assert "service.imap.maxsessions (2) reached" in d.log_text()
    assert a.cmd("x NOOP")[1] == "x OK NOOP completed"
    a.cmd("y LOGOUT")
    assert a.closed()
    time.sleep(0.2)
    fourth = d.connect()
    assert fourth.line().startswith("* OK ")


def test_idle_connection_dropped(imapd_factory):
    d = imapd_factory({"service.imap.loginidletimeout": "5"})
    c = d.connect()
    c.line()
    t0 = time.time()
    c.sock.settimeout(15)
    assert c.line() == "* BYE Autologout; idle for too long"
    assert 4 <= time.time() - t0 <= 9
    assert c.closed()
    assert "idle timeout" in d.log_text()


def test_activity_rearms_idle_timer(imapd_factory):
    d = imapd_factory({"service.imap.loginidletimeout": "5"})
    c = d.connect()
    c.line()
    for i in range(4):
        time.sleep(2)
        assert c.cmd(f"k{i} NOOP")[1] == f"k{i} OK NOOP completed"


def test_sighup_reloads_banner_and_keeps_sessions(imapd_factory):
    d = imapd_factory({"service.imap.banner": "before"})
    old = d.connect()
    assert old.line().endswith("] before")
    text = open(d.conf_path).read().replace('"before"', '"after %h"')
    open(d.conf_path, "w").write(text)
    d.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "configuration reloaded" not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    assert d.connect().line().endswith("] after mail.test")
    assert old.cmd("o1 NOOP")[1] == "o1 OK NOOP completed"


def test_sighup_with_broken_config_keeps_running(imapd_factory):
    d = imapd_factory({"service.imap.banner": "stable"})
    d.connect().line()
    with open(d.conf_path, "a") as f:
        f.write("no.such.parameter = 1\n")
    d.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "reload failed" not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    assert "no.such.parameter" in d.log_text()
    assert d.connect().line().endswith("] stable")


def test_sigterm_drains(imapd_factory):
    d = imapd_factory()
    c = d.connect()
    c.line()
    d.signal(signal.SIGTERM)
    assert c.line() == "* BYE [UNAVAILABLE] Server shutting down"
    assert c.closed()
    assert d.proc.wait(timeout=15) == 0


def test_worker_processes(imapd_factory):
    d = imapd_factory({"service.imap.numprocesses": "3"})
    clients = [d.connect() for _ in range(12)]
    for c in clients:
        assert c.line().startswith("* OK ")
    deadline = time.time() + 5
    while d.log_text().count("worker processes started") == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert "3 worker processes started" in d.log_text()
    children = subprocess.run(["pgrep", "-P", str(d.proc.pid)], capture_output=True, text=True)
    assert len(children.stdout.split()) == 3
    d.signal(signal.SIGTERM)
    for c in clients:
        assert c.line() == "* BYE [UNAVAILABLE] Server shutting down"
    assert d.proc.wait(timeout=15) == 0


def test_literals(imapd_factory):
    """Synchronising literals get a continuation request, non-synchronising ones (RFC 7888)
    none; either way the literal is part of its command."""
    c = imapd_factory().connect()
    c.line()
    c.send("l1 NOOP {3}\r\n")
    assert c.line() == "+ Ready for literal data"
    c.send("abc\r\n")
    assert c.line() == "l1 BAD NOOP takes no arguments"
    c.send("l2 NOOP {3+}\r\nabc ~{2+}\r\n\x00\x01\r\nl3 NOOP\r\n")
    assert c.line() == "l2 BAD NOOP takes no arguments"
    assert c.line() == "l3 OK NOOP completed"
    c.send("l4 NOOP {0}\r\n")
    assert c.line() == "+ Ready for literal data"
    c.send("\r\n")
    assert c.line() == "l4 BAD NOOP takes no arguments"
    c.send('q1 NOOP "a\rb"\r\n')
    assert c.line() == "q1 BAD CR or LF in quoted string"
    c.send("q2 NOOP {3}\r\na\x00b\r\n")
    assert c.line() == "+ Ready for literal data"
    assert c.line() == "q2 BAD NUL octet in literal (use literal8)"
    assert c.cmd("q3 NOOP") == ([], "q3 OK NOOP completed")


def test_literal_after_error_is_not_a_command(imapd_factory):
    """A command that fails before its end still owns its non-synchronising literal: what the
    literal holds is data, never a command (RFC 7888 section 4)."""
    c = imapd_factory().connect()
    c.line()
    c.send("e1 NOOP \x01 {11+}\r\ne2 LOGOUT\r\n\r\ne3 NOOP\r\n")
    assert c.line() == "e1 BAD Invalid character in atom"
    assert c.line() == "e3 OK NOOP completed"
    # a synchronising one is never sent, so what follows is the next command
    c.send("e4 NOOP ) {5}\r\ne5 NOOP\r\n")
    assert c.line() == "e4 BAD Unexpected ')'"
    assert c.line() == "e5 OK NOOP completed"


def test_literal_too_big(imapd_factory):
    """Over the in-memory literal limit: a synchronising literal is refused before it is sent
    (NO [TOOBIG]), a non-synchronising one read, thrown away and refused (BAD [TOOBIG])."""
    d = imapd_factory()
    c = d.connect()
    c.line()
    c.send("b1 NOOP {65537}\r\nb2 NOOP\r\n")
    assert c.line() == "b1 NO [TOOBIG] Literal too big (limit 65536 octets)"
    assert c.line() == "b2 OK NOOP completed"
    c.send("b3 NOOP {70000+}\r\n" + "b4 NOOP\r\n" * 7000 + "x" * 7000 + "\r\nb5 NOOP\r\n")
    assert c.line() == "b3 BAD [TOOBIG] Literal too big (limit 65536 octets)"
    assert c.line() == "b5 OK NOOP completed"
    log = d.log_text()
    assert "literal of 65537 octets over the limit of 65536 refused" in log
    assert "literal of 70000 octets over the limit of 65536 read and discarded" in log
    # too big even to read and throw away: RFC 7888 section 4's other choice
    c.send("b6 NOOP {200000000+}\r\n")
    assert c.line() == "* BYE [TOOBIG] Literal too big to skip (limit 104857600 octets)"
    assert c.closed()


def test_nesting_and_argument_limits(imapd_factory):
    d = imapd_factory()
    c = d.connect()
    c.line()
    assert c.cmd("n1 NOOP " + "(" * 32 + ")" * 32) == ([], "n1 BAD NOOP takes no arguments")
    assert c.cmd("n2 NOOP " + "(" * 33 + ")" * 33) == ([], "n2 BAD Lists nested too deeply "
                                                           "(limit 32)")
    assert c.cmd("n3 NOOP" + " a" * 1024) == ([], "n3 BAD NOOP takes no arguments")
    assert c.cmd("n4 NOOP" + " a" * 1025) == ([], "n4 BAD Too many arguments (limit 1024)")
    assert c.cmd("n5 NOOP") == ([], "n5 OK NOOP completed")
    log = d.log_text()
    assert "lists nested deeper than 32" in log
    assert "more than 1024 arguments in a command" in log


def test_command_split_anywhere(imapd_factory):
    """The parser keeps its place across reads: a command sent one octet at a time works."""
    c = imapd_factory().connect()
    c.line()
    for b in b"s1 NOOP {2+}\r\nab (x \"y\")\r\ns2 CAPABILITY\r\n":
        c.send(bytes([b]))
        time.sleep(0.002)
    assert c.line() == "s1 BAD NOOP takes no arguments"
    assert c.line().startswith("* CAPABILITY ")
    assert c.line() == "s2 OK CAPABILITY completed"


def test_parser_limits_are_parameters(imapd_factory):
    """service.imap.max* set the parser's bounds (at start and on SIGHUP)."""
    d = imapd_factory({"service.imap.maxlinelength": "1024", "service.imap.maxliteral": "2048",
                       "service.imap.maxnesting": "4", "service.imap.maxdiscard": "4096"})
    c = d.connect()
    c.line()
    c.send("a1 NOOP " + "x" * 1100 + "\r\na2 NOOP\r\n")
    assert c.line() == "a1 BAD Command line too long (limit 1024 octets)"
    assert c.line() == "a2 OK NOOP completed"
    c.send("b1 NOOP {2049}\r\nb2 NOOP\r\n")
    assert c.line() == "b1 NO [TOOBIG] Literal too big (limit 2048 octets)"
    assert c.line() == "b2 OK NOOP completed"
    assert c.cmd("n1 NOOP " + "(" * 5 + ")" * 5)[1].startswith("n1 BAD Lists nested too deeply")
    c.send("b6 NOOP {5000+}\r\n")
    assert c.line() == "* BYE [TOOBIG] Literal too big to skip (limit 4096 octets)"
    assert c.closed()
