"""build-repo.sh: the stand-in packages and the rebuild-only-on-change hash (scripts/unit_repo.py
indexes them: tests/test_unit_repo.py). Installing the packages in systemd containers (Debian 12
and 13) is what the molecule scenarios do."""

import os
import shutil
import subprocess
import time

import pytest

from standin_helpers import HERE

BUILD = HERE / "build-repo.sh"
VERSION = "1.34.2-1~standin"
STANDIN_LINE = ("==> NGINX Unit packages: offline TEST STAND-IN of Unit 1.34.2 "
                "(scripts/unit_repo.py takes real packages)\n")

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")


def build(out, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run(["bash", str(BUILD), str(out)], capture_output=True, text=True,
                          env=e, timeout=120, check=False)


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True,
                          text=True, check=True).stdout.strip()


def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                         check=True).stdout
    return {ln.split()[-1] if "->" not in ln else ln.split()[-3]: ln.split()[0]
            for ln in out.splitlines()}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    out = tmp_path_factory.mktemp("repo")
    r = build(out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == STANDIN_LINE and r.stderr == ""
    return out


def test_packages(repo):
    debs = sorted(p.name for p in repo.glob("*.deb"))
    assert debs == ["unit-python3.11_%s_all.deb" % VERSION,
                    "unit-python3.13_%s_all.deb" % VERSION, "unit_%s_all.deb" % VERSION]
    unit = repo / ("unit_%s_all.deb" % VERSION)
    assert field(unit, "Version") == VERSION and field(unit, "Architecture") == "all"
    # The real package depends on lsb-base, libc6, libpcre2-8-0 and libssl3 only: no curl (curl in
    # transcript 00-apt-install was named on that apt command line, not pulled in by unit). The
    # stand-in needs Python; nothing may lean on a dependency real Unit lacks.
    assert field(unit, "Depends").split(", ") == ["python3", "passwd"]
    assert "TEST STAND-IN" in field(unit, "Description")
    for short in ("3.11", "3.13"):
        deb = repo / ("unit-python%s_%s_all.deb" % (short, VERSION))
        assert field(deb, "Depends") == "unit (= %s), python%s" % (VERSION, short)
        files = contents(deb)
        assert "./usr/lib/unit/modules/python%s.unit.so" % short in files
    files = contents(unit)
    for path in ("./usr/sbin/unitd", "./lib/systemd/system/unit.service",
                 "./etc/logrotate.d/unit", "./usr/lib/unit/standin/unitstandin/worker.py",
                 "./usr/share/doc/unit/README.standin.md", "./var/lib/unit/"):
        assert path in files, path
    assert files["./usr/sbin/unitd"] == "-rwxr-xr-x"
    assert not any("etc/default" in p for p in files)          # Unit ships none


def test_service_unit_matches_units_semantics(repo, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(repo / ("unit_%s_all.deb" % VERSION)),
                    str(tmp_path)], check=True)
    svc = (tmp_path / "lib/systemd/system/unit.service").read_text()
    for line in ("Type=forking", "PIDFile=/var/run/unit.pid",
                 "EnvironmentFile=-/etc/default/unit",
                 "ExecStart=/usr/sbin/unitd $DAEMON_ARGS", "ExecReload=",
                 "WantedBy=multi-user.target", "After=network-online.target"):
        assert line + "\n" in svc
    rot = (tmp_path / "etc/logrotate.d/unit").read_text()
    assert "kill -SIGUSR1 `cat /var/run/unit.pid`" in rot and "su root root" in rot
    out = subprocess.run(["/usr/bin/python3", str(tmp_path / "usr/sbin/unitd"), "--version"],
                         capture_output=True, text=True, check=False)
    assert out.stderr.startswith("unit version: 1.34.2\n")


def test_rebuild_only_when_sources_change(repo):
    deb = repo / ("unit_%s_all.deb" % VERSION)
    before = deb.stat().st_mtime_ns
    time.sleep(0.01)
    r = build(repo)
    assert r.returncode == 0 and r.stdout == STANDIN_LINE
    assert deb.stat().st_mtime_ns == before
