"""Replays every recorded control-API case of NGINX Unit 1.34.2
(tests/fixtures/unit-1.34.2-control-api.json) against the stand-in, in the
recorded order, and checks status and body of each.

What is substituted, and why:
  * "/srv/..." (app path, home) -> <tmp>/srv/..., "*:80" -> "*:<free port>",
    "127.0.0.1:6379" -> a port this test keeps busy, the module's lib path and
    version -> this machine's: environment-specific values, swapped in the
    requests and swapped back in the responses before comparing.
  * GET /status and GET / : "connections" and "requests.total" are counters
    of everything the recording session did (curl checks, WebSocket probes);
    they are compared for shape and consistency only.  Process counts are
    compared exactly.
Everything else must match exactly, including the bytes of the pretty
printed JSON for the fresh-install replies.

The log lines Unit wrote for each failing PUT
(tests/fixtures/unit-1.34.2-log-on-failures.txt) are compared after
normalising timestamps, PIDs and the substituted paths.
"""

import json
import re
import socket
import time


from standin_helpers import FIXTURES, Unit, free_port, http_get, make_app, module_python, needs_root

pytestmark = needs_root

CASES = json.loads((FIXTURES / "unit-1.34.2-control-api.json").read_text())["cases"]


def load_log_fixture():
    text = (FIXTURES / "unit-1.34.2-log-on-failures.txt").read_text()
    sections = {}
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        title, dummy, body = block.partition("\n")
        m = re.match(r"/var/log/unit.log lines written during (.*)$", title)
        if m:
            sections[m.group(1).strip()] = [ln for ln in body.splitlines() if ln.strip()]
    return sections


def subst(obj, pairs):
    if isinstance(obj, dict):
        return {subst(k, pairs): subst(v, pairs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [subst(v, pairs) for v in obj]
    if isinstance(obj, str):
        for a, b in pairs:
            obj = obj.replace(a, b)
    return obj


def normalise_log(lines, back, short):
    out = []
    for ln in lines:
        ln = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)? ", "", ln)
        ln = re.sub(r"\b\d+#\d+\b", "PID#PID", ln)
        ln = re.sub(r"(app process|process) \d+", r"\1 PID", ln)
        for a, b in back:
            ln = ln.replace(a, b)
        if short != "3.11" and re.fullmatch(r"\s*\^+\s*", ln):
            continue          # caret lines differ between Python versions
        if "[unit] ASGI Lifespan processing exception" in ln:
            continue
        out.append(ln)
    return out


def mask_counters(body, expected):
    """Counters of connections/requests: shape and consistency only."""
    status = body.get("status", body) if isinstance(body, dict) else body
    exp = expected.get("status", expected)
    if isinstance(status, dict) and "connections" in status:
        c = status["connections"]
        assert set(c) == {"accepted", "active", "idle", "closed"}
        assert c["accepted"] == c["active"] + c["idle"] + c["closed"]
        assert status["requests"]["total"] >= 0
        status["connections"] = exp["connections"]
        status["requests"] = exp["requests"]
    return body


def ws_roundtrip(port):
    from websockets.sync.client import connect
    url = "ws://127.0.0.1:%d/ws/chat/lobby/" % port
    with connect(url, open_timeout=10) as a, connect(url, open_timeout=10) as b:
        ja, jb = json.loads(a.recv(10)), json.loads(b.recv(10))
        a.send(json.dumps({"message": "hello from A"}))
        assert json.loads(a.recv(10)) == {"message": "hello from A"}
        assert json.loads(b.recv(10)) == {"message": "hello from A"}
    return ja["pid"], jb["pid"]


def quiesce(unit):
    """Wait until the app reports no active request (closed WebSockets are
    accounted asynchronously)."""
    for dummy in range(100):
        apps = unit.api("GET", "/status/applications").json
        if all(a["requests"]["active"] == 0 and a["processes"]["starting"] == 0
               for a in apps.values()):
            return
        time.sleep(0.05)


def settle(unit):
    """Wait until the log stops growing: application processes retired by an
    earlier reconfiguration exit on their own (as with Unit), and their exit
    lines must not land in the log window of the next case."""
    size, quiet_since = len(unit.log()), time.monotonic()
    deadline = quiet_since + 10
    while time.monotonic() - quiet_since < 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
        if len(unit.log()) != size:
            size, quiet_since = len(unit.log()), time.monotonic()


def test_recorded_control_api_cases(workdir, broadcast):
    short, version = module_python()
    app = make_app(workdir)
    (app / "broadcast.addr").write_text(broadcast.addr)
    asgi = app / "mysite" / "asgi.py"
    good_asgi = asgi.read_text()
    unit = Unit(workdir, short).start()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = free_port()
    srv = str(workdir / "srv") + "/"
    lib = str(unit.moddir / ("python%s.unit.so" % short))
    forward = [("/srv/", srv), ("*:80", "*:%d" % port),
               ("127.0.0.1:6379", "127.0.0.1:%d" % busy.getsockname()[1])]
    back = [(srv, "/srv/"), ("*:%d" % port, "*:80"),
            ("127.0.0.1:%d" % busy.getsockname()[1], "127.0.0.1:6379"),
            (lib, "/usr/lib/unit/modules/python3.11.unit.so"),
            ('"version": "%s"' % version, '"version": "3.11.2"')]
    if short != "3.11":
        forward.append(("python 3.11", "python " + short))
        back += [("python%s.zip" % short.replace(".", ""), "python311.zip"),
                 ("lib/python" + short, "lib/python3.11"),
                 ("python " + short, "python 3.11"),
                 ("python" + short, "python3.11"), (version, "3.11.2")]
    logs = load_log_fixture()
    checked_logs = 0
    try:
        for i, case in enumerate(CASES):
            title = case["title"]
            if "AFTER making" in title:
                asgi.write_text('"""Broken on purpose."""\n\n'
                                'raise RuntimeError("boom: simulated import-time failure")\n')
            if "after restoring" in title:
                asgi.write_text(good_asgi)
            body = case["request_body"]
            if body is not None:
                try:
                    body = json.dumps(subst(json.loads(body), forward))
                except ValueError:
                    pass              # invalid JSON is sent as recorded
            before_conf = unit.api("GET", "/config").json
            log_key = next((k for k in logs if title.startswith(k)), None)
            if log_key is not None:
                settle(unit)
            log_start = len(unit.log())
            if case["path"].startswith("/status") or case["path"] == "/":
                quiesce(unit)
            resp = unit.api(case["method"], case["path"], body)
            got = subst(resp.json, back) if resp.raw else None
            assert resp.status == case["status"], (i, title, resp.raw)
            expected = case["response"]
            if (case["path"].startswith("/status") or case["path"] == "/") \
                    and case["status"] == 200 and not case["source"].startswith("01"):
                got = mask_counters(got, expected)
            assert got == expected, (i, title)
            assert resp.header("Server") == "Unit/1.34.2 (test stand-in)"
            assert resp.header("Content-Type") == "application/json"
            assert resp.header("Connection") == "close"

            if case["source"].startswith("01"):
                # Content-Length as recorded, corrected for the lib path and
                # version of this machine (the bytes are checked in
                # test_standin_confjson.py).
                extra = 0 if case["path"] == "/config" else (
                    len(lib) - len("/usr/lib/unit/modules/python3.11.unit.so")
                    + len(version) - len("3.11.2"))
                recorded = {"/config": 62, "/": 430, "/status": 274}[case["path"]]
                assert int(resp.header("Content-Length")) == len(resp.raw) == \
                    recorded + extra

            if log_key is not None:
                expected_log = logs[log_key]
                written = unit.log()[log_start:].splitlines()
                assert normalise_log(written, back, short) == \
                    normalise_log(expected_log, [], short), log_key
                checked_logs += 1

            if "previous_config_kept" in case:
                assert unit.api("GET", "/config").json == before_conf, title
                assert http_get(port, "/").status == 200
                if "WS_ROUNDTRIP_OK" in case["previous_config_kept"]:
                    ws_roundtrip(port)

            if i == 3:
                acceptance_checks(port, app)
            if "AFTER making" in title:
                check_broken_restart(unit, port, log_start)
            if "after restoring" in title:
                quiesce(unit)
                assert http_get(port, "/").status == 200
                ws_roundtrip(port)
            if title.startswith("GET /control/applications/djangochannels/restart") \
                    and case["source"].startswith("06"):
                assert http_get(port, "/").status == 200
        assert checked_logs == len([k for k in logs if k.startswith("PUT")])
    finally:
        busy.close()
        unit.stop()
    assert not unit.children()


def acceptance_checks(port, app):
    """03-acceptance-http-ws.txt"""
    r = http_get(port, "/")
    assert r.status == 200
    assert b"<title>Chat Rooms</title>" in r.raw
    # application headers first, then Server and Date as Unit adds them;
    # "Connection: close" is the stand-in's (documented) addition.
    assert [n for n, v in r.headers] == ["content-type", "content-length",
                                         "Server", "Date", "Connection"]
    assert http_get(port, "/chat/lobby/").status == 200
    r = http_get(port, "/static/site.css")
    assert r.status == 200
    assert r.raw == b"body{font-family:sans-serif}\n"
    st = (app / "static" / "site.css").stat()
    assert r.header("ETag") == '"%x-%x"' % (int(st.st_mtime), st.st_size)
    assert [n for n, v in r.headers] == ["Last-Modified", "ETag", "Content-Type",
                                         "Server", "Date", "Content-Length"]
    assert r.header("Content-Type") == "text/css"
    ws_roundtrip(port)


def check_broken_restart(unit, port, log_start):
    """07-restart-with-broken-code.txt: requests get 503, the log has the
    traceback, /status shows no running process."""
    r = http_get(port, "/")
    assert r.status == 503
    assert r.raw == b"<!DOCTYPE html><title>Error 503</title><p>Error 503.\r\n"
    assert [n for n, v in r.headers] == ["Content-Type", "Server", "Date",
                                         "Content-Length"]
    text = unit.wait_log(r"RuntimeError: boom: simulated import-time failure", log_start)
    assert re.search(r'\[alert\] \d+#\d+ Python failed to import module "mysite.asgi"\n'
                     r'Traceback \(most recent call last\):\n'
                     r'  File ".*/mysite/asgi.py", line 3, in <module>\n', text)
    assert re.search(r"\[notice\] \d+#\d+ app process \d+ exited with code 1", text)
