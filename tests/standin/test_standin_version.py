"""The stand-in built as Unit 1.35.0: the version it reports everywhere, and
the request-body fix of 1.35.0 (unit#1563: no extra http.request after the
body, which 1.34.2 hands out)."""

import json
import shutil
import subprocess

import pytest

from standin_helpers import (TARGET_PYTHON, Unit, free_port, http_get, make_app, module_python,
                             needs_root)
from test_standin_packaging import BUILD, build

VERSION = "1.35.0-1~standin"

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The 1.35.0 repository and its unit package unpacked (unitd runs from there)."""
    repo = tmp_path_factory.mktemp("repo-1.35.0")
    r = subprocess.run(["bash", str(BUILD), str(repo), "1.35.0"], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("==> NGINX Unit packages: offline TEST STAND-IN of Unit 1.35.0 ")
    root = tmp_path_factory.mktemp("unit-1.35.0")
    subprocess.run(["dpkg-deb", "-x", str(repo / ("unit_%s_all.deb" % VERSION)), str(root)], check=True)
    return repo, root


def test_packages_say_1_35_0(unpacked):
    repo, root = unpacked
    fields = "".join(subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                                    check=True).stdout for deb in sorted(repo.glob("*.deb")))
    assert "Package: unit\nVersion: %s\n" % VERSION in fields
    assert "Provides: unit-r1.35.0\n" in fields
    assert "Depends: unit (= %s), python3.11\n" % VERSION in fields
    assert "1.34.2" not in fields


def test_unitd_reports_1_35_0(unpacked):
    repo, root = unpacked
    out = subprocess.run([TARGET_PYTHON, str(root / "usr/sbin/unitd"), "--version"],
                         capture_output=True, text=True, check=False)
    assert out.stderr.startswith("unit version: 1.35.0\n")


def test_unknown_version_is_refused(tmp_path):
    r = subprocess.run(["bash", str(BUILD), str(tmp_path), "1.36.0"], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 2
    assert "1.34.2 or 1.35.0, not '1.36.0'" in r.stderr


def test_default_build_is_still_1_34_2(tmp_path):
    r = build(tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "unit_1.34.2-1~standin_all.deb").exists()


@needs_root
def test_no_extra_http_request_after_the_body(unpacked, workdir):
    repo, root = unpacked
    short, dummy = module_python()
    unit = Unit(workdir, short, unitd=root / "usr/sbin/unitd").start()
    try:
        app = make_app(workdir)
        port = free_port()
        conf = {"listeners": {"127.0.0.1:%d" % port: {"pass": "applications/chat"}},
                "applications": {"chat": {"type": "python %s" % short, "path": str(app),
                                          "home": str(app / "venv"), "module": "mysite.asgi"}}}
        r = unit.api("PUT", "/config", json.dumps(conf))
        assert r.status == 200, r.raw
        assert http_get(port, "/").header("Server") == "Unit/1.35.0 (test stand-in)"
        # 1.34.2 answers [body, {"type": "http.request", "body": ""...}, "blocked"].
        r = http_get(port, "/receive", method="POST", body="abc")
        assert r.json == [{"type": "http.request", "body": "abc"}, "blocked"]
        assert "unit 1.35.0 started" in unit.log()
    finally:
        unit.stop()
