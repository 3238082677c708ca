"""Helpers for the NGINX Unit stand-in's own tests: start unitd from the
source tree with --no-daemon and temporary paths, talk to its control socket,
lay out the test application, run a broadcast server for WebSocket rooms.
(A module of its own: "from conftest import" is ambiguous next to
tests/unit/conftest.py.)"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
UNITD = SRC / "unitd"
TESTAPP = HERE / "testapp"
FIXTURES = HERE.parent / "fixtures"
# What the packages run unitd with; STANDIN_UNITD_PYTHON overrides it and
# STANDIN_APP_PYTHON picks another interpreter for the application processes
# (e.g. to try Python 3.13 on a Debian 12 host).
TARGET_PYTHON = os.environ.get("STANDIN_UNITD_PYTHON", "/usr/bin/python3")
APP_PYTHON = os.environ.get("STANDIN_APP_PYTHON")
# --user/--group for unitd (the packages default to unit:unit).
APP_USER = os.environ.get("STANDIN_TEST_USER", "nobody")
APP_GROUP = os.environ.get("STANDIN_TEST_GROUP", "nogroup")

needs_root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="the stand-in tests need Linux and root (app users, fd passing)")


def app_python():
    """Interpreter of the application processes: python3.X of the module
    marker the tests install (3.11 first, like the recorded transcripts)."""
    if APP_PYTHON:
        return APP_PYTHON
    for short in ("3.11", "3.13", "3.12"):
        if os.access("/usr/bin/python" + short, os.X_OK):
            return "/usr/bin/python" + short
    pytest.skip("no /usr/bin/python3.X for the application processes")


def module_python():
    """(short, full) version of the application interpreter."""
    out = subprocess.run([app_python(), "-c",
                          "import sys;print('%d.%d.%d'%sys.version_info[:3])"],
                         capture_output=True, text=True, check=True)
    full = out.stdout.strip()
    return full.rsplit(".", 1)[0], full


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw.decode())

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None


def request(conn, method, path, body=None, headers=None):
    if isinstance(body, str):
        body = body.encode()
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    raw = r.read()
    resp = Resp(r.status, r.getheaders(), raw)
    conn.close()
    return resp


def http_get(port, path, method="GET", body=None, headers=None, timeout=30):
    return request(http.client.HTTPConnection("127.0.0.1", port, timeout=timeout),
                   method, path, body, headers)


def read_until_closed(sock):
    """Everything the server sends on a raw socket, until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


class Unit:
    """A unitd started from the source tree (or the given unitd, e.g. one
    unpacked from a built package) with temporary paths."""

    def __init__(self, root, short, extra_args=(), unitd=UNITD):
        self.root = Path(root)
        self.unitd = Path(unitd)
        self.short = short
        self.ctl = self.root / "control.unit.sock"
        self.pidfile = self.root / "unit.pid"
        self.logfile = self.root / "unit.log"
        self.moddir = self.root / "modules"
        self.statedir = self.root / "state"
        self.moddir.mkdir(exist_ok=True)
        self.statedir.mkdir(exist_ok=True)
        (self.moddir / ("python%s.unit.so" % short)).write_text(
            "# NGINX Unit TEST STAND-IN module marker\ninterpreter=%s\n" % app_python())
        self.extra = list(extra_args)
        self.proc = None
        self.main_pid = None
        self.seen = set()

    def args(self, daemon=False):
        a = [TARGET_PYTHON, str(self.unitd)]
        if not daemon:
            a.append("--no-daemon")
        return a + ["--control", "unix:%s" % self.ctl, "--pid", str(self.pidfile),
                    "--log", str(self.logfile), "--modulesdir", str(self.moddir),
                    "--statedir", str(self.statedir), "--tmpdir", str(self.root),
                    "--user", APP_USER, "--group", APP_GROUP] + self.extra

    def start(self):
        self.proc = subprocess.Popen(self.args(), cwd=str(self.root),
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("unitd exited: %s" % self.log())
            if self.pidfile.exists():
                self.main_pid = self.proc.pid
                return self
            time.sleep(0.02)
        raise AssertionError("unitd did not start: %s" % self.log())

    def api(self, method, path, body=None, headers=None):
        return request(UnixHTTPConnection(str(self.ctl)), method, path, body, headers)

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, start=0, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()[start:]
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.05)
        raise AssertionError("log never matched %r:\n%s" % (pattern, self.log()[start:]))

    def children(self):
        """ps lines ("pid ppid user args") of the processes unitd started:
        the descendants of its main process, and after a stop those seen
        before that are still alive."""
        out = subprocess.run(["ps", "-eo", "pid=,ppid=,user=,args="],
                             capture_output=True, text=True, check=False).stdout
        procs = {}
        for ln in out.splitlines():
            f = ln.split(None, 3)
            procs[int(f[0])] = (int(f[1]), ln.strip())
        found = set(p for p in self.seen if p in procs)
        if self.main_pid:
            grew = True
            tree = {self.main_pid}
            while grew:
                grew = False
                for pid, (ppid, dummy) in procs.items():
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        grew = True
            found |= tree - {self.main_pid}
        self.seen |= found
        return [procs[p][1] for p in sorted(found)]

    def stop(self):
        if self.proc is None:
            return
        self.children()           # remember what has to be gone afterwards
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.main_pid = None
        deadline = time.monotonic() + 5
        while self.children() and time.monotonic() < deadline:
            time.sleep(0.05)


def make_app(root, name="srv"):
    """<root>/srv/djapp: the test app, its static files and a venv (so that
    "home" resolves to a real home/bin/python3.X)."""
    base = Path(root) / name
    app = base / "djapp"
    shutil.copytree(TESTAPP, app)
    subprocess.run([app_python(), "-m", "venv", "--without-pip", str(app / "venv")],
                   check=True)
    for p in [base] + list(base.rglob("*")):
        if p.is_dir():
            p.chmod(0o755)
        elif not p.is_symlink():
            p.chmod(0o644)
    return app


class Broadcast(socketserver.ThreadingTCPServer):
    """Relays every line from any client to all clients (what Redis pub/sub
    does for channels_redis)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.clients = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), BroadcastHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.server_address[1]


class BroadcastHandler(socketserver.StreamRequestHandler):
    def handle(self):
        with self.server.lock:
            self.server.clients.add(self.wfile)
            # tell the subscriber it is registered (no message can be missed)
            self.wfile.write(b'{"subscribed": true}\n')
            self.wfile.flush()
        try:
            for line in self.rfile:
                with self.server.lock:
                    for w in list(self.server.clients):
                        try:
                            w.write(line)
                            w.flush()
                        except OSError:
                            self.server.clients.discard(w)
        finally:
            with self.server.lock:
                self.server.clients.discard(self.wfile)
