"""configutil's command line: show, set, clear, list, import, refusals, quoting, comments kept,
concurrent runs, drop-ins under --root, and the generated msg.conf and parameter list."""
import os
import pathlib
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("HALYARD_BUILD", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
CONFIGUTIL = BUILD / "src" / "configutil" / "configutil"


def cu(*args, check=True, stdin=None):
    r = subprocess.run([str(CONFIGUTIL), *map(str, args)], capture_output=True, text=True,
                       input=stdin, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"configutil {args}: {r.returncode}\n{r.stderr}")
    return r


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "msg.conf"


def default_path(root):
    """Where --root DIR puts msg.conf: DIR + the build's configured path."""
    out = cu("--root", root, "-o", "service.imap.port", "-H").stdout
    assert out  # the command works with an empty root
    for line in (BUILD / "halyard-build.h").read_text().splitlines():
        if line.startswith("#define SYSCONFDIR "):
            return pathlib.Path(str(root) + line.split('"')[1] + "/halyard/msg.conf")
    raise AssertionError("SYSCONFDIR not in halyard-build.h")


def test_set_show_clear(conf):
    assert cu("-f", conf, "-o", "service.imap.port").stdout == "143\n"
    cu("-f", conf, "-o", "service.imap.port", "-v", "1143")
    assert cu("-f", conf, "-o", "service.imap.port").stdout == "1143\n"
    assert conf.read_text() == "service.imap.port = 1143\n"
    cu("-f", conf, "-o", "service.imap.port", "-v", "")
    assert cu("-f", conf, "-o", "service.imap.port").stdout == "143\n"
    assert conf.read_text() == ""
    # Clearing what is not set is not an error.
    cu("-f", conf, "-o", "service.pop.port", "-v", "")


@pytest.mark.parametrize("name,value,message", [
    ("service.imap.port", "99999", 'service.imap.port: "99999" is not an integer in 1..65535'),
    ("service.imap.idletimeout", "5",
     'service.imap.idletimeout: "5" is not an integer in 30..1440'),
    ("service.imap.enable", "maybe",
     'service.imap.enable: "maybe" is not a boolean (yes/no, 1/0, true/false, on/off)'),
    ("service.imap.prot", "1", "service.imap.prot: unknown parameter"),
    ("local.enpd.access", "+10.0.0.1", 'local.enpd.access: "+10.0.0.1": an item needs addr|mask'),
    ("store.partition.primary.path", "relative", 'is not an absolute path'),
])
def test_refused_values_write_nothing(conf, name, value, message):
    cu("-f", conf, "-o", "service.pop.port", "-v", "1110")
    before = conf.read_bytes()
    r = cu("-f", conf, "-o", name, "-v", value, check=False)
    assert r.returncode == 1
    assert message in r.stderr
    assert r.stderr.startswith("configutil: ")
    assert conf.read_bytes() == before


def test_refused_value_creates_no_file(conf):
    assert cu("-f", conf, "-o", "service.imap.port", "-v", "x", check=False).returncode == 1
    assert not conf.exists()


def test_usage_errors(conf):
    assert cu("-f", conf, "-v", "1", check=False).returncode == 1
    assert cu("-f", conf, "-o", "no.such", check=False).returncode == 1
    assert cu("-f", conf, "extra", check=False).returncode == 1
    assert cu("--help").stdout.startswith("usage: configutil")


@pytest.mark.parametrize("value,written", [
    ("%h ready", '"%h ready"'),
    ("a#b", '"a#b"'),
    ('say "hi"', '"say \\"hi\\""'),
    (" padded ", '" padded "'),
    ("back\\slash", "back\\slash"),
    ("plain", "plain"),
])
def test_quoting_round_trip(conf, value, written):
    cu("-f", conf, "-o", "service.imap.banner", "-v", value)
    assert conf.read_text() == f"service.imap.banner = {written}\n"
    assert cu("-f", conf, "-o", "service.imap.banner").stdout == value + "\n"


def test_comments_and_layout_kept(conf):
    conf.write_text("# site settings\n\nservice.imap.port   =  1143\n"
                    "# banner below\nservice.imap.banner = old\n")
    cu("-f", conf, "-o", "service.imap.banner", "-v", "new one")
    cu("-f", conf, "-o", "service.pop.port", "-v", "1110")
    assert conf.read_text() == ("# site settings\n\nservice.imap.port   =  1143\n"
                                "# banner below\nservice.imap.banner = \"new one\"\n"
                                "service.pop.port = 1110\n")


def test_listing(conf):
    conf.write_text("service.pop.port = 1110\nservice.imap.banner = \"hi there\"\n"
                    "local.service.proxy.adminpass.Store2 = s3cret\n"
                    "local.ugldapbindcred = pw\n")
    out = cu("-f", conf).stdout
    assert out == ("local.service.proxy.adminpass.store2 = ********\n"
                   "local.ugldapbindcred = ********\n"
                   "service.imap.banner = \"hi there\"\n"
                   "service.pop.port = 1110\n")
    assert "s3cret" not in out
    # One value on request is the value itself.
    assert cu("-f", conf, "-o", "local.service.proxy.adminpass.store2").stdout == "s3cret\n"
    assert cu("-f", conf, "-p", "service.pop").stdout == "service.pop.port = 1110\n"
    assert cu("-f", conf, "-m", "-p", "service.").stdout == (
        "service.imap.banner = \"hi there\" [REFRESHABLE]\n"
        "service.pop.port = 1110 [NOT REFRESHABLE]\n")


def test_listing_defaults(conf):
    conf.write_text("service.pop.idletimeout = 20\n")
    out = cu("-f", conf, "-H", "-m", "-p", "service.pop.").stdout.splitlines()
    # The seed's sample lines, unchanged for parameters left at their defaults.
    for line in ["service.pop.allowanonymouslogin = no [REFRESHABLE]",
                 "service.pop.banner = \"%h %p service (%P %V)\" [REFRESHABLE]",
                 "service.pop.enable = yes [NOT REFRESHABLE]",
                 "service.pop.enablesslport = no [NOT REFRESHABLE]",
                 "service.pop.maxsessions = 600 [NOT REFRESHABLE]",
                 "service.pop.maxthreads = 250 [NOT REFRESHABLE]",
                 "service.pop.idletimeout = 20 (default 10) [REFRESHABLE]"]:
        assert line in out
    assert out == sorted(out)
    full = cu("-f", conf, "-H").stdout.splitlines()
    assert len(full) > 80 and "local.enpd.access = +127.0.0.1|255.255.255.255" in full
    detail = cu("-f", conf, "-o", "service.pop.port", "-H").stdout
    assert "default: 110" in detail and "ListenStream= of halyard-pop.socket" in detail


def test_per_host_values(conf):
    cu("-f", conf, "-o", "local.service.proxy.imapport", "-v", "1143")
    cu("-f", conf, "-o", "local.service.proxy.imapport.store2.example.com", "-v", "2143")
    assert cu("-f", conf, "-o", "local.service.proxy.imapport.store2.example.com").stdout == "2143\n"
    assert cu("-f", conf, "-o", "local.service.proxy.imapport.store3").stdout == "1143\n"
    r = cu("-f", conf, "-o", "local.service.proxy.imapssl.store2", "-v", "yes", check=False)
    assert r.returncode == 1 and "unknown parameter" in r.stderr


def test_import_all_or_nothing(conf, tmp_path):
    conf.write_text("service.imap.port = 1143\n")
    bad = tmp_path / "bad"
    bad.write_text("service.pop.port = 1110\nservice.http.port = 0\nno.such = 1\n")
    r = cu("-f", conf, "-i", bad, check=False)
    assert r.returncode == 1
    assert f"configutil: {bad}:2: service.http.port" in r.stderr
    assert f"configutil: {bad}:3: no.such: unknown parameter" in r.stderr
    assert conf.read_text() == "service.imap.port = 1143\n"
    good = tmp_path / "good"
    good.write_text("# from the old server\nservice.pop.port = 1110\n"
                    "service.imap.banner = \"a b\"\nservice.imap.port =\n")
    cu("-f", conf, "-i", good)
    assert conf.read_text() == "service.pop.port = 1110\nservice.imap.banner = \"a b\"\n"
    cu("-f", conf, "-i", "-", stdin="service.http.port = 8080\n")
    assert cu("-f", conf, "-o", "service.http.port").stdout == "8080\n"


def test_broken_file_is_reported_and_repairable(conf):
    conf.write_text("service.imap.port = 99999\nservice.pop.port = 1110\n")
    r = cu("-f", conf)
    assert "warning:" in r.stderr and ":1: service.imap.port" in r.stderr
    assert "service.pop.port = 1110" in r.stdout
    cu("-f", conf, "-o", "service.imap.port", "-v", "")
    assert conf.read_text() == "service.pop.port = 1110\n"
    assert cu("-f", conf).stderr == ""


# Twenty parameters, each with a value different from its default.
CONCURRENT = [(f"local.service.proxy.admin.host{i}", f"admin{i}") for i in range(14)] + [
    ("service.imap.banner", "b1"), ("service.pop.banner", "b2"), ("service.http.port", "8080"),
    ("service.imap.maxsessions", "10"), ("service.pop.maxthreads", "9"),
    ("local.hostname", "mail.example.com")]


def test_concurrent_runs_lose_nothing(conf):
    assert len(CONCURRENT) == 20
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda nv: cu("-f", conf, "-o", nv[0], "-v", nv[1], check=False),
                                CONCURRENT))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    for name, value in CONCURRENT:
        assert cu("-f", conf, "-o", name).stdout == value + "\n"
    assert len(conf.read_text().splitlines()) == 20
    # No temporary file is left behind (only msg.conf and its lock).
    assert sorted(p.name for p in conf.parent.iterdir()) == [".msg.conf.lock", "msg.conf"]


def test_root_dropins(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    units = root / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(ROOT / "units/halyard-imap.socket", units)
    path = default_path(root)
    dropins = root / "etc/systemd/system"
    cu("--root", root, "-o", "service.imap.port", "-v", "1143")
    assert path.read_text() == "service.imap.port = 1143\n"
    assert (dropins / "halyard-imap.socket.d/50-configutil.conf").read_text() == (
        "# written by configutil from msg.conf; do not edit\n"
        "[Socket]\nListenStream=\nListenStream=1143\n")
    cu("--root", root, "-o", "local.enpd.access", "-v", "+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0")
    assert (dropins / "halyard-enpd.service.d/50-configutil.conf").read_text().endswith(
        '[Service]\nEnvironment="ENS_ACCESS=+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0"\n')
    cu("--root", root, "-o", "store.partition.primary.path", "-v", "/srv/mail store")
    for unit in ["halyard-imapd.service", "halyard-popd.service", "halyard-lmtpd.service"]:
        assert (dropins / f"{unit}.d/50-configutil.conf").read_text().endswith(
            '[Service]\nReadWritePaths="/srv/mail store"\n')
    cu("--root", root, "-o", "service.imap.port", "-v", "")
    assert not (dropins / "halyard-imap.socket.d").exists()
    # enable/disable become `systemctl --root` symlinks for units the image has...
    wants = dropins / "sockets.target.wants/halyard-imap.socket"
    cu("--root", root, "-o", "service.imap.enable", "-v", "no")
    assert not wants.exists()
    cu("--root", root, "-o", "service.imap.enable", "-v", "yes")
    assert wants.is_symlink()
    cu("--root", root, "-o", "service.imap.enable", "-v", "")
    # ...and are skipped for units it does not have yet.
    cu("--root", root, "-o", "service.pop.enablesslport", "-v", "yes")
    assert not (dropins / "sockets.target.wants/halyard-pops.socket").exists()


def test_no_apply_still_writes_dropins(tmp_path):
    cu("--root", tmp_path, "--no-apply", "-o", "service.pop.port", "-v", "1110")
    assert "ListenStream=1110" in (
        tmp_path / "etc/systemd/system/halyard-pop.socket.d/50-configutil.conf").read_text()


def test_other_file_touches_no_dropins(tmp_path):
    """-f edits that file alone: drop-ins follow the system msg.conf only."""
    cu("--root", tmp_path, "-f", tmp_path / "other.conf", "-o", "service.imap.port", "-v", "1143")
    assert (tmp_path / "other.conf").exists()
    assert not (tmp_path / "etc").exists()


def test_template_is_all_defaults(tmp_path):
    text = cu("--template").stdout
    assert (BUILD / "src/configutil/msg.conf").read_text() == text
    settings = [line[1:] for line in text.splitlines()
                if line.startswith("#") and " = " in line and not line.startswith("# ")]
    assert len(settings) == len(cu("-f", tmp_path / "none", "-H").stdout.splitlines())
    # Every commented line, uncommented, is accepted and changes nothing but the file.
    imp = tmp_path / "all"
    imp.write_text("\n".join(settings) + "\n")
    conf = tmp_path / "msg.conf"
    cu("-f", conf, "-i", imp)
    listed = cu("-f", conf).stdout.splitlines()
    defaults = cu("-f", tmp_path / "none", "-H").stdout.splitlines()
    # An empty value in an import clears, so the rows whose default is empty stay unset.
    assert listed == [line for line in defaults if not line.endswith(' = ""')]
    assert len(listed) > 60


def test_docs_match_the_table():
    doc = (ROOT / "docs/parameters.md").read_text()
    assert cu("--markdown").stdout in doc, "docs/parameters.md is stale: regenerate the table " \
        "with configutil --markdown"


def test_man_page_lists_every_parameter(tmp_path):
    page = cu("--man").stdout
    assert (BUILD / "src/configutil/configutil.8").read_text() == page
    assert page.startswith(".TH CONFIGUTIL 8")
    names = [line.split(" = ")[0] for line in
             cu("-f", tmp_path / "none", "-H").stdout.splitlines()]
    for name in names:
        assert "\n.B " + name.replace("-", "\\-") + "\n" in page or \
            "\n.B " + name + "\\fR[.\\fIhost\\fR]\n" in page, name
