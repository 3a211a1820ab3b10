"""enpd: the event notification daemon, socket-activated. Subscribe, publish,
unsubscribe; errors; ENS_ACCESS allowing 127.0.0.1 and refusing 127.0.0.2; a subscriber that
does not read its events is dropped while publishing goes on; over-long lines."""
import socket
import time

from conftest import LineClient

KEY = "enp://127.0.0.1/store/alice"
EVENT = ("enp://127.0.0.1/store?evtType=NewMsg&timestamp=1047488403000&hostname=mail1"
         "&process=lmtpd&pid=476&mailboxName=alice&numMsgs=16&uidValidity=1046993605"
         "&imapUid=62&size=877&hdrLen=814")


def connect(d, source=None, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    if rcvbuf:  # before connect, so the window stays small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", d.ports["ens"]))
    c = LineClient(s)
    return c


def greeted(d, source=None, rcvbuf=None):
    c = connect(d, source, rcvbuf)
    greeting = c.line()
    assert greeting.startswith("+OK mail.test ENP service"), greeting
    return c


def test_subscribe_publish_unsubscribe(enpd_factory):
    d = enpd_factory()
    sub, other, pub = greeted(d), greeted(d), greeted(d)
    sub.send(f"SUBSCRIBE {KEY}\r\n")
    assert sub.line() == "+OK Subscribed"
    sub.send(f"subscribe {KEY}\r\n")
    assert sub.line() == "+OK Already subscribed"
    other.send(f"SUBSCRIBE {KEY}/Sent\r\n")
    assert other.line() == "+OK Subscribed"
    pub.send(f"PUBLISH {KEY} {EVENT}\r\nPUBLISH {KEY}/Sent second\r\nPUBLISH nobody-listens x\r\n")
    assert sub.line() == f"EVENT {KEY} {EVENT}"
    assert other.line() == f"EVENT {KEY}/Sent second"
    sub.send("PING\r\n")
    assert sub.line() == "+OK Pong"  # no second event reached sub
    sub.send(f"UNSUBSCRIBE {KEY}\r\nUNSUBSCRIBE {KEY}\r\n")
    assert sub.line() == "+OK Unsubscribed"
    assert sub.line() == "-ERR Not subscribed to that key"
    pub.send(f"PUBLISH {KEY} third\r\nPING\r\n")
    assert pub.line() == "+OK Pong"  # publishing gets no reply
    sub.send("PING\r\n")
    assert sub.line() == "+OK Pong"
    sub.send("QUIT\r\n")
    assert sub.line() == "+OK Bye"
    assert sub.closed()


def test_errors(enpd_factory):
    d = enpd_factory()
    c = greeted(d)
    for line, reply in (("HELLO", "-ERR unknown command"), ("SUBSCRIBE", "-ERR missing event key"),
                        ("SUBSCRIBE a b", "-ERR unexpected argument after the event key"),
                        ("PING now", "-ERR unexpected argument"), ("", "-ERR empty line"),
                        ("PUBLISH k a\x01b", "-ERR control character in line")):
        c.send(line + "\r\n")
        assert c.line() == reply
    c.send("SUBSCRIBE " + "k" * 9000 + "\r\nPING\r\n")
    assert c.line() == "-ERR Line too long"
    assert c.line() == "+OK Pong"
    c.send("SUBSCRIBE " + "k" * 1025 + "\r\n")
    assert c.line() == "-ERR event key too long"


def test_ens_access(enpd_factory):
    d = enpd_factory(access="+127.0.0.1|255.255.255.255;-127.0.0.2|255.255.255.255;"
                            "+127.0.0.0|255.0.0.0")
    greeted(d, "127.0.0.1").send("PING\r\n")
    c = connect(d, "127.0.0.2")
    assert c.line() == "-ERR Access denied by ENS_ACCESS"
    assert c.closed()
    greeted(d, "127.0.0.3")
    assert "refused by ENS_ACCESS" in d.log_text()


def test_ens_access_default_is_localhost_only(enpd_factory):
    d = enpd_factory()
    greeted(d, "127.0.0.1")
    c = connect(d, "127.0.0.2")
    assert c.line().startswith("-ERR Access denied")


def test_bad_ens_access_stops_enpd(enpd_factory):
    d = enpd_factory(access="+127.0.0.1")
    deadline = time.time() + 10
    while d.proc.poll() is None and time.time() < deadline:
        try:
            connect(d).line()
        except (OSError, EOFError):
            pass
        time.sleep(0.1)
    assert "ENS_ACCESS" in d.log_text()


def test_slow_subscriber_is_dropped(enpd_factory):
    d = enpd_factory({"service.enp.maxqueue": "65536"})
    slow = greeted(d, rcvbuf=4096)
    slow.send(f"SUBSCRIBE {KEY}\r\n")
    assert slow.line() == "+OK Subscribed"
    fast = greeted(d)
    fast.send(f"SUBSCRIBE {KEY}\r\n")
    assert fast.line() == "+OK Subscribed"
    pub = greeted(d)
    body = "x" * 1000
    received = 0
    n = 12000  # 12 MB of events, more than the kernel's socket buffers hold; slow never reads
    for i in range(n):
        pub.send(f"PUBLISH {KEY} {i} {body}\r\n")
        if i % 100 == 99:  # fast keeps up
            while received <= i - 50:
                assert fast.line().startswith(f"EVENT {KEY} {received} ")
                received += 1
    pub.send("PING\r\n")
    assert pub.line() == "+OK Pong"
    while received < n:
        assert fast.line().startswith(f"EVENT {KEY} {received} ")
        received += 1
    assert "dropping subscriber" in d.log_text()
    assert slow.closed(timeout=30)
