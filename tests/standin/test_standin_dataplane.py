"""Data plane of the stand-in: routes, ASGI scope and receive() semantics,
static files, return, WebSocket across two application processes,
restarts, failures, WSGI, TLS."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from standin_helpers import (Unit, free_port, http_get, make_app, module_python, needs_root,
                             read_until_closed)

pytestmark = needs_root


def put_config(unit, conf):
    r = unit.api("PUT", "/config", json.dumps(conf))
    assert r.status == 200, r.raw
    return r


def app_conf(app, short, **extra):
    conf = {"type": "python %s" % short, "path": str(app), "home": str(app / "venv"),
            "module": "mysite.asgi"}
    conf.update(extra)
    return conf


@pytest.fixture
def site(unit, workdir, broadcast):
    short, dummy = module_python()
    app = make_app(workdir)
    (app / "broadcast.addr").write_text(broadcast.addr)
    port = free_port()
    put_config(unit, {
        "listeners": {"127.0.0.1:%d" % port: {"pass": "routes"}},
        "routes": [
            {"match": {"uri": "/static/*"}, "action": {"share": str(app) + "$uri"}},
            {"match": {"uri": ["/r/*", "!/r/skip"]},
             "action": {"return": 301, "location": "https://example.test$uri"}},
            {"match": {"uri": "/gone"}, "action": {"return": 410}},
            {"match": {"host": "other.test"}, "action": {"return": 204}},
            {"match": {"method": "DELETE", "headers": {"X-Block": "y*"}},
             "action": {"return": 403}},
            {"action": {"pass": "applications/chat"}},
        ],
        "applications": {"chat": app_conf(app, short, processes=2)},
    })
    return unit, app, port


def test_http_to_asgi_scope_as_unit_sets_it(site):
    unit, app, port = site
    r = http_get(port, "/scope?a=1&b=%20x", headers={"X-Test": "Yes", "Host": "example.test:8080"})
    assert r.status == 200
    s = r.json
    assert s["type"] == "http"
    assert s["asgi"] == {"version": "3.0", "spec_version": "2.1"}
    assert s["http_version"] == "1.1" and s["method"] == "GET" and s["scheme"] == "http"
    assert s["path"] == "/scope" and s["raw_path"] == "/scope"
    assert s["query_string"] == "a=1&b=%20x"
    # Unit reports client port 0 and server port 80, whatever the listener.
    assert s["client"] == ["127.0.0.1", 0] and s["server"] == ["127.0.0.1", 80]
    assert "root_path" not in s          # only set with "prefix"
    assert ["x-test", "Yes"] in s["headers"] and ["host", "example.test:8080"] in s["headers"]
    assert s["state"] == {}
    assert r.header("Server") == "Unit/1.34.2 (test stand-in)"


def test_routes_return_and_matching(site):
    unit, app, port = site
    r = http_get(port, "/r/x")
    assert r.status == 301 and r.header("Location") == "https://example.test/r/x"
    assert r.raw == b"" and r.header("Content-Length") == "0"
    assert http_get(port, "/r/skip").raw == b"not found"  # negated: the app answers
    r = http_get(port, "/gone")
    assert r.status == 410
    assert r.raw == b"<!DOCTYPE html><title>Error 410</title><p>Error 410.\r\n"
    assert http_get(port, "/", headers={"Host": "OTHER.test."}).status == 204
    assert http_get(port, "/x", method="DELETE", headers={"X-Block": "yes"}).status == 403
    assert http_get(port, "/x", method="DELETE").status == 404   # the app's 404


def test_static_share(site, workdir):
    unit, app, port = site
    st = (app / "static" / "site.css").stat()
    r = http_get(port, "/static/site.css")
    assert r.status == 200 and r.raw == b"body{font-family:sans-serif}\n"
    assert r.header("ETag") == '"%x-%x"' % (int(st.st_mtime), st.st_size)
    assert r.header("Content-Type") == "text/css"
    r = http_get(port, "/static/site.css", method="HEAD")
    assert r.status == 200 and r.raw == b"" and r.header("Content-Length") == str(st.st_size)
    assert http_get(port, "/static/missing.css").status == 404
    conn = __import__("http.client").client.HTTPConnection("127.0.0.1", port)
    for dummy in range(3):                      # keep-alive for router responses
        conn.request("GET", "/static/site.css")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"body{font-family:sans-serif}\n"
        assert resp.getheader("Connection") is None
    conn.close()
    (app / "static" / "sub").mkdir(mode=0o755)
    r = http_get(port, "/static/sub?x=1")
    assert r.status == 301 and r.header("Location") == "/static/sub/?x=1"
    assert http_get(port, "/static/site.css", method="POST", body="x").status == 405
    secret = app / "static" / "secret.txt"
    secret.write_text("root only")
    secret.chmod(0o600)
    # Unit's router runs as the unprivileged user: unreadable means 403.
    from standin_helpers import APP_USER
    if APP_USER == "root":
        return
    assert http_get(port, "/static/secret.txt").status == 403
    assert re.search(r'\[error\] \d+#\d+ opening ".*secret.txt" failed \(13: ',
                     unit.log())


def test_static_options(unit, workdir):
    www = workdir / "www"
    (www / "sub").mkdir(parents=True)
    (www / "index.html").write_text("<p>index</p>")
    (www / "sub" / "a.txt").write_text("a")
    (www / "sub" / "b.log").write_text("b")
    outside = workdir / "outside.txt"
    outside.write_text("outside")
    os.symlink(str(outside), str(www / "link.txt"))
    for p in [www, www / "sub"]:
        p.chmod(0o755)
    port = free_port()
    put_config(unit, {
        "settings": {"http": {"static": {"mime_types": {"text/x-log": [".log"]}}}},
        "listeners": {"127.0.0.1:%d" % port: {"pass": "routes"}},
        "routes": [
            {"match": {"uri": "/t/*"},
             "action": {"share": str(www) + "/sub/${uri}", "types": ["text/*", "!text/x-log"],
                        "fallback": {"return": 404}}},
            {"match": {"uri": "/chroot/*"},
             "action": {"share": str(www) + "$uri", "chroot": str(www) + "/sub"}},
            {"match": {"uri": "/nofollow/*"},
             "action": {"share": str(www) + "/link.txt", "follow_symlinks": False}},
            {"action": {"share": [str(www) + "/nope$uri", str(www) + "$uri"]}},
        ],
        "applications": {},
    })
    assert http_get(port, "/").raw == b"<p>index</p>"                # index.html
    assert http_get(port, "/link.txt").raw == b"outside"            # symlinks followed
    assert http_get(port, "/nofollow/x").status == 403
    assert http_get(port, "/chroot/x").status == 403                # outside the chroot
    assert http_get(port, "/t/a.txt").status == 404                 # share path /sub//t/a.txt
    r = http_get(port, "/sub/b.log")
    assert r.header("Content-Type") == "text/x-log"                 # settings mime_types


def test_receive_extra_http_request_after_body(site):
    """NGINX Unit 1.34.2 bug (unit#1561): after the request body, receive()
    hands out one more empty http.request before it blocks."""
    unit, app, port = site
    r = http_get(port, "/receive", method="POST", body="abc")
    assert r.json == [{"type": "http.request", "body": "abc"},
                      {"type": "http.request", "body": "", "more_body": False},
                      "blocked"]
    # Without a body there is no extra message.
    assert http_get(port, "/receive").json == [{"type": "http.request"}, "blocked"]
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /receive HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    data = read_until_closed(s)
    s.close()
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert body[0] == {"type": "http.request", "body": "abcdefg"}
    assert body[1] == {"type": "http.request", "body": "", "more_body": False}


def test_streaming_response_is_chunked(site):
    unit, app, port = site
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    data = read_until_closed(s)
    s.close()
    head, dummy, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"


def test_app_exception_is_503_with_traceback(site):
    unit, app, port = site
    start = len(unit.log())
    r = http_get(port, "/raise")
    assert r.status == 503
    assert r.raw == b"<!DOCTYPE html><title>Error 503</title><p>Error 503.\r\n"
    text = unit.wait_log(r"RuntimeError: application failed", start)
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} \[error\] \d+#\d+ \[unit\] #\d+: "
                     r"Python failed to call 'future.result\(\)'\n"
                     r"Traceback \(most recent call last\):\n"
                     r'  File ".*/mysite/asgi.py", line \d+, in application\n', text)


def test_websocket_two_processes_need_a_shared_layer(site):
    """processes: 2 -> two real processes; the two clients land on different
    ones, the room only works through the cross-process broadcast."""
    from websockets.sync.client import connect
    unit, app, port = site
    url = "ws://127.0.0.1:%d/ws/chat/lobby/" % port
    with connect(url, open_timeout=10) as a, connect(url, open_timeout=10) as b:
        pa, pb = json.loads(a.recv(10))["pid"], json.loads(b.recv(10))["pid"]
        assert pa != pb
        a.send(json.dumps({"message": "hello from A"}))
        assert json.loads(a.recv(10)) == {"message": "hello from A"}
        assert json.loads(b.recv(10)) == {"message": "hello from A"}
        b.send(b"\x00\x01")                       # binary frames round-trip
        assert b.recv(10) == b"\x00\x01"
        b.ping().wait(5)
    status = unit.api("GET", "/status/applications/chat").json
    assert status["processes"]["running"] == 2


def test_websocket_handshake_bytes(site):
    unit, app, port = site
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /ws/chat/raw/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    s.close()
    lines = data.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"
    assert [ln.split(b":")[0] for ln in lines[1:]] == [
        b"Server", b"Date", b"Upgrade", b"Connection", b"Sec-WebSocket-Accept"]
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines


def test_restart_replaces_processes_and_broken_code_gives_503(site):
    unit, app, port = site
    pids = {int(http_get(port, "/pid").raw) for dummy in range(4)}
    assert len(pids) == 2
    asgi = app / "mysite" / "asgi.py"
    good = asgi.read_text()
    asgi.write_text("raise RuntimeError('boom')\n")
    start = len(unit.log())
    r = unit.api("GET", "/control/applications/chat/restart")
    assert r.status == 200 and r.json == {"success": "Ok"}
    assert http_get(port, "/").status == 503
    unit.wait_log(r"RuntimeError: boom", start)
    st = unit.api("GET", "/status/applications/chat").json
    assert st["processes"] == {"running": 0, "starting": 0, "idle": 0}
    asgi.write_text(good)
    assert unit.api("GET", "/control/applications/chat/restart").json == {"success": "Ok"}
    new = {int(http_get(port, "/pid").raw) for dummy in range(4)}
    assert len(new) == 2 and not new & pids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("change", ["reconfigure", "restart"])
def test_open_websocket_survives_reconfiguration_and_restart(site, change):
    """Unit's router quits an application process only once its requests
    in progress have finished: an open WebSocket keeps its old process,
    new connections get the new ones, and the room still joins both."""
    from websockets.sync.client import connect
    unit, app, port = site
    url = "ws://127.0.0.1:%d/ws/chat/drain/" % port
    with connect(url, open_timeout=10) as old:
        old_pid = json.loads(old.recv(10))["pid"]
        if change == "reconfigure":
            r = unit.api("PUT", "/config/applications/chat/environment",
                         '{"GENERATION": "2"}')
        else:
            r = unit.api("GET", "/control/applications/chat/restart")
        assert r.status == 200, r.raw
        new_pids = {int(http_get(port, "/pid").raw) for dummy in range(4)}
        assert old_pid not in new_pids
        with connect(url, open_timeout=10) as new:
            assert json.loads(new.recv(10))["pid"] in new_pids
            new.send(json.dumps({"message": "from the new release"}))
            assert json.loads(old.recv(10)) == {"message": "from the new release"}
            old.send(json.dumps({"message": "from the old release"}))
            assert json.loads(new.recv(10)) == {"message": "from the new release"}
            assert json.loads(new.recv(10)) == {"message": "from the old release"}
        assert _alive(old_pid)
    deadline = time.monotonic() + 10
    while _alive(old_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(old_pid)


def test_put_with_import_failure_keeps_running_config(site):
    unit, app, port = site
    before = unit.api("GET", "/config").raw
    start = len(unit.log())
    r = unit.api("PUT", "/config/applications/chat/module", '"mysite.no_such"')
    assert r.status == 500 and r.json == {"error": "Failed to apply new configuration."}
    assert unit.api("GET", "/config").raw == before
    text = unit.log()[start:]
    assert 'Python failed to import module "mysite.no_such"' in text
    assert "ModuleNotFoundError: No module named 'mysite.no_such'" in text
    assert re.search(r'\[warn\] \d+#\d+ failed to start application "chat"\n'
                     r'.*\[alert\] \d+#\d+ failed to apply new conf', text)
    assert http_get(port, "/").status == 200
    conf = json.loads((unit.statedir / "conf.json").read_text())
    assert conf["applications"]["chat"]["module"] == "mysite.asgi"


def test_app_processes_run_as_the_app_user(site):
    unit, app, port = site
    import pwd
    from standin_helpers import APP_USER
    env = http_get(port, "/env").json
    assert env["uid"] == pwd.getpwnam(APP_USER).pw_uid   # --user (packages: unit)
    users = {ln.split()[2] for ln in unit.children()}
    assert users == {APP_USER}


def test_wsgi_application(unit, workdir):
    short, dummy = module_python()
    app = make_app(workdir)
    port = free_port()
    put_config(unit, {
        "listeners": {"127.0.0.1:%d" % port: {"pass": "applications/w"}},
        "applications": {"w": {"type": "python", "path": str(app),
                               "module": "mysite.wsgi", "threads": 2}},
    })
    r = http_get(port, "/hello", method="POST", body="x")
    assert r.status == 200 and r.raw == b"wsgi POST /hello"


def test_dynamic_processes_and_prefix(unit, workdir):
    short, dummy = module_python()
    app = make_app(workdir)
    port = free_port()
    put_config(unit, {
        "listeners": {"127.0.0.1:%d" % port: {"pass": "applications/a"}},
        "applications": {"a": app_conf(app, short, prefix="/pre",
                                       processes={"max": 3, "spare": 0,
                                                  "idle_timeout": 1})},
    })
    s = http_get(port, "/pre/scope").json
    assert s["root_path"] == "/pre" and s["path"] == "/pre/scope"


def test_tls_listener_and_certificates(unit, workdir):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    short, dummy = module_python()
    app = make_app(workdir)
    key, crt = workdir / "k.pem", workdir / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=unit.test/O=Stand-in", "-addext",
                    "subjectAltName=DNS:unit.test,DNS:www.unit.test"],
                   check=True, capture_output=True)
    bundle = crt.read_bytes() + key.read_bytes()
    r = unit.api("PUT", "/certificates/bundle", bundle)
    assert r.status == 200 and r.json == {"success": "Certificate chain uploaded."}
    assert unit.api("PUT", "/certificates/bundle", bundle).json == {
        "error": "Certificate already exists."}
    assert unit.api("PUT", "/certificates/bad", b"nope").json == {
        "error": "Invalid certificate."}
    info = unit.api("GET", "/certificates/bundle").json
    assert info["key"] == "RSA (2048 bits)"
    assert info["chain"][0]["subject"] == {"common_name": "unit.test",
                                           "alt_names": ["unit.test", "www.unit.test"],
                                           "organization": "Stand-in"}
    assert info["chain"][0]["validity"]["until"].endswith(" GMT")
    assert unit.api("GET", "/certificates/bundle/key").json == "RSA (2048 bits)"
    assert unit.api("GET", "/certificates/bundle/nope").json == {"error": "Invalid path."}
    assert (unit.statedir / "certs" / "bundle").stat().st_mode & 0o777 == 0o600
    port = free_port()
    r = unit.api("PUT", "/config", json.dumps({
        "listeners": {"127.0.0.1:%d" % port: {"pass": "applications/a",
                                              "tls": {"certificate": "missing"}}},
        "applications": {"a": app_conf(app, short)}}))
    assert r.json == {"error": "Invalid configuration.",
                      "detail": 'Certificate "missing" is not found.'}
    put_config(unit, {
        "listeners": {"127.0.0.1:%d" % port: {"pass": "applications/a",
                                              "tls": {"certificate": "bundle"}}},
        "applications": {"a": app_conf(app, short)}})
    ctx = ssl.create_default_context(cafile=str(crt))
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="unit.test") as s:
            s.sendall(b"GET /scope HTTP/1.1\r\nHost: unit.test\r\n\r\n")
            data = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["scheme"] == "https"
    assert unit.api("DELETE", "/certificates/bundle").json == {
        "error": "Certificate is used in the configuration."}
    assert unit.api("DELETE", "/config/listeners").status == 200
    assert unit.api("DELETE", "/certificates/bundle").json == {
        "success": "Certificate deleted."}
    assert unit.api("DELETE", "/certificates/bundle").json == {
        "error": "Certificate doesn't exist."}


def test_state_survives_a_restart(workdir):
    short, dummy = module_python()
    app = make_app(workdir)
    port = free_port()
    u = Unit(workdir, short).start()
    try:
        put_config(u, {"listeners": {"127.0.0.1:%d" % port: {"pass": "applications/a"}},
                       "applications": {"a": app_conf(app, short)}})
        conf = u.statedir / "conf.json"
        assert conf.stat().st_mode & 0o777 == 0o600
        assert (u.statedir / "certs").stat().st_mode & 0o777 == 0o700
        assert (u.statedir / "scripts").is_dir()
        saved = u.api("GET", "/config").raw
    finally:
        u.stop()
    assert not u.children()
    u = Unit(workdir, short).start()
    try:
        assert u.api("GET", "/config").raw == saved
        assert http_get(port, "/").status == 200
    finally:
        u.stop()


def test_daemon_mode_pidfile_signals(workdir):
    short, dummy = module_python()
    u = Unit(workdir, short)
    out = subprocess.run(u.args(daemon=True), capture_output=True, text=True,
                         timeout=30, cwd=str(workdir), check=False)
    assert out.returncode == 0, out.stderr
    assert re.search(r"\[info\] \d+#\d+ unit 1\.34\.2 started", out.stderr)
    pid = int(u.pidfile.read_text())
    os.kill(pid, 0)
    assert (u.ctl.stat().st_mode & 0o777) == 0o600
    assert (u.logfile.stat().st_mode & 0o777) == 0o600
    os.rename(u.logfile, str(u.logfile) + ".1")
    os.kill(pid, 10)                  # SIGUSR1 reopens the log
    deadline = time.monotonic() + 5
    while not u.logfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert u.logfile.exists()
    assert u.api("GET", "/config").status == 200
    os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("unitd did not stop on SIGTERM")
    assert not u.pidfile.exists() and not u.ctl.exists()


def test_version_and_help():
    from standin_helpers import TARGET_PYTHON, UNITD
    out = subprocess.run([TARGET_PYTHON, str(UNITD), "--version"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0
    lines = out.stderr.splitlines()
    assert lines[0] == "unit version: 1.34.2"
    assert "TEST STAND-IN" in lines[1]
    out = subprocess.run([TARGET_PYTHON, str(UNITD), "--help"], capture_output=True,
                         text=True, check=False)
    assert "--control-mode MODE" in out.stdout and "--statedir DIR" in out.stdout
    out = subprocess.run([TARGET_PYTHON, str(UNITD), "--bogus"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 1 and out.stderr == 'unknown option "--bogus"\n'


def test_more_match_options_rewrite_headers_access_log(unit, workdir):
    short, dummy = module_python()
    app = make_app(workdir)
    (workdir / "wd").mkdir(mode=0o755)
    port = free_port()
    access = workdir / "access.log"
    put_config(unit, {
        "access_log": str(access),
        "listeners": {"127.0.0.1:%d" % port: {"pass": "routes/main"}},
        "routes": {"main": [
            {"match": {"arguments": {"q": "a*"}}, "action": {"return": 201}},
            {"match": {"cookies": {"c": "v"}}, "action": {"return": 202}},
            {"match": {"source": "10.0.0.0/8"}, "action": {"return": 403}},
            {"match": {"uri": "/old/*"},
             "action": {"rewrite": "/env", "pass": "routes/app"}},
            {"match": {"uri": "/hdr"},
             "action": {"return": 204, "response_headers": {"X-Host": "$host"}}},
            {"action": {"pass": "routes/app"}},
        ], "app": [
            {"action": {"pass": "applications/a",
                        "response_headers": {"X-Via": "stand-in $method"}}},
        ]},
        "applications": {"a": app_conf(app, short, working_directory=str(workdir / "wd"),
                                       environment={"CHANNEL_LAYER": "x"},
                                       callable="make_application", factory=True,
                                       limits={"requests": 2})},
    })
    assert http_get(port, "/?q=abc").status == 201
    assert http_get(port, "/", headers={"Cookie": "a=b; c=v"}).status == 202
    r = http_get(port, "/old/thing")
    assert r.header("X-Via") == "stand-in GET"
    assert r.json == {"uid": r.json["uid"], "cwd": str(workdir / "wd"), "CHANNEL_LAYER": "x"}
    assert http_get(port, "/hdr", headers={"Host": "h.test"}).header("X-Host") == "h.test"
    # limits.requests: the process is replaced after two requests. The retirement reaches the
    # router asynchronously, so one more request may still land on the old process: only
    # "replaced at all, and not serving unboundedly" is asserted.
    pids = [http_get(port, "/pid").raw for dummy in range(6)]
    assert len(set(pids)) >= 2
    assert max(pids.count(pid) for pid in set(pids)) <= 3
    lines = access.read_text().splitlines()
    assert re.match(r'127\.0\.0\.1 - - \[.+\] "GET /\?q=abc HTTP/1\.1" 201 0 "-" "', lines[0])
    assert any('"GET /old/thing HTTP/1.1" 200' in ln for ln in lines)


def test_forwarded_headers_believed_from_its_source_only(unit, workdir):
    # As measured on Unit 1.34.2: from a client in "source", the rightmost X-Forwarded-For
    # address is the client's (routes match it too) and X-Forwarded-Proto the scheme; from any
    # other client, both headers are only headers.
    # IPv6 sources without brackets, as the role's default (loopback) has them: Unit reads two colons as IPv6.
    short, dummy = module_python()
    app = make_app(workdir)
    trusted, other = free_port(), free_port()
    forwarded = {"client_ip": "X-Forwarded-For", "protocol": "X-Forwarded-Proto"}
    put_config(unit, {
        "listeners": {"127.0.0.1:%d" % trusted: {"pass": "routes", "forwarded": dict(forwarded, source=["127.0.0.1", "::1", "fd00::/8"])},
                      "127.0.0.1:%d" % other: {"pass": "routes", "forwarded": dict(forwarded, source="10.0.0.1")}},
        "routes": [{"match": {"source": "10.9.9.9", "uri": "/by-source"}, "action": {"return": 204}},
                   {"action": {"pass": "applications/chat"}}],
        "applications": {"chat": app_conf(app, short)},
    })
    sent = {"X-Forwarded-For": "10.1.2.3, 10.9.9.9", "X-Forwarded-Proto": "https"}
    s = http_get(trusted, "/scope", headers=sent).json
    assert s["client"][0] == "10.9.9.9" and s["scheme"] == "https"
    assert http_get(trusted, "/by-source", headers=sent).status == 204
    s = http_get(other, "/scope", headers=sent).json
    assert s["client"][0] == "127.0.0.1" and s["scheme"] == "http"
    assert ["x-forwarded-for", "10.1.2.3, 10.9.9.9"] in s["headers"]
    # Neither header named: refused as Unit refuses it.
    r = unit.api("PUT", "/config/listeners/127.0.0.1:%d/forwarded" % other, json.dumps({"source": "10.0.0.1"}))
    assert r.status == 400
    assert 'The \\"forwarded\\" object must have either \\"client_ip\\" or \\"protocol\\" option set.' in r.raw.decode()
