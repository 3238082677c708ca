"""Control API details beyond the recorded cases: sub-path operations, POST,
405/404 variants, Unit's validation messages, and what the stand-in refuses
instead of ignoring."""

import json

import pytest

from standin_helpers import free_port, needs_root

pytestmark = needs_root


def test_subpath_operations(unit):
    port = free_port()
    conf = {"listeners": {"127.0.0.1:%d" % port: {"pass": "routes"}},
            "routes": [{"action": {"return": 200}}]}
    assert unit.api("PUT", "/config", json.dumps(conf)).status == 200
    r = unit.api("POST", "/config/routes", '{"action": {"return": 201}}')
    assert r.json == {"success": "Reconfiguration done."}
    assert unit.api("GET", "/config/routes/1/action/return").json == 201
    assert unit.api("PUT", "/config/routes/2", '{"action": {"return": 202}}').status == 200
    assert unit.api("PUT", "/config/routes/9", '{"action": {"return": 202}}').json == {
        "error": "Value doesn't exist."}
    assert unit.api("POST", "/config/listeners", "{}").json == {
        "error": "Method isn't allowed."}
    assert unit.api("POST", "/config", "{}").json == {"error": "Method isn't allowed."}
    assert unit.api("PATCH", "/config").json == {"error": "Method isn't allowed."}
    assert unit.api("GET", "/config/routes/x").json == {"error": "Value doesn't exist."}
    assert unit.api("GET", "/config/routes/").status == 200          # trailing slash
    assert unit.api("GET", "/nope").json == {"error": "Value doesn't exist."}
    assert unit.api("PUT", "/").json == {"error": "Invalid method."}
    assert unit.api("GET", "/status/nope").json == {"error": "Invalid path."}
    assert unit.api("POST", "/control/applications/x/restart").json == {
        "error": "Method isn't allowed."}
    assert unit.api("GET", "/js_modules").json == {}
    assert unit.api("GET", "/certificates").json == {}
    assert unit.api("PUT", "/certificates").json == {"error": "Invalid certificate name."}
    listener = "/config/listeners/127.0.0.1:%d" % port
    assert unit.api("GET", listener + "/pass").json == "routes"
    assert unit.api("GET", listener.replace(":", "%3A")).json == {"pass": "routes"}
    # Unit stores what it was given, in order; identical re-uploads are no-ops.
    raw = unit.api("GET", "/config").raw
    assert unit.api("PUT", "/config", raw).json == {"success": "Reconfiguration done."}
    assert unit.api("DELETE", "/config").status == 200
    assert unit.api("GET", "/config").json == {}
    assert unit.api("PUT", "/config", "[]").json == {
        "error": "Invalid configuration.",
        "detail": "The configuration must be an object, but not an array."}


@pytest.mark.parametrize("conf, detail", [
    ({"listeners": {"127.0.0.1:80": {"pass": "routes/x/y/z"}}},
     'Request "pass" value "routes/x/y/z" is invalid.'),
    ({"listeners": {"127.0.0.1:99999": {"pass": "routes"}}},
     'The listener address "127.0.0.1:99999" is invalid.'),
    ({"listeners": {"localhost:80": {}}},
     'The listener address "localhost:80" is invalid.'),
    ({"listeners": {"*:80": "routes"}},
     'The "*:80" value must be an object, but not a string.'),
    ({"routes": [{"action": {}}]},
     'The "action" object must have either "pass", "return", "share", or '
     '"proxy" option set.'),
    ({"routes": [{"action": {"return": 200, "share": "/x"}}]},
     'The "action" object must have just one of "pass", "return", "share", or '
     '"proxy" options set.'),
    ({"routes": [{"action": {"return": 1000}}]},
     'The "return" value is out of allowed HTTP status code range 0-999.'),
    ({"routes": [{"match": {"uri": "/a**"}, "action": {"return": 200}}]},
     'The "match" pattern must not contain double "*" markers.'),
    ({"routes": [{"action": {"share": "/x$nosuch"}}]},
     'Unknown variable "nosuch" in the "share" value.'),
    ({"applications": {"a": {"type": "python"}}},
     'Required parameter "module" is missing.'),
    ({"applications": {"a": {"module": "m"}}},
     'Application must have the "type" property set.'),
    ({"applications": {"a": {"type": "python", "module": "m", "processes": "2"}}},
     'The "processes" value must be either an integer number or an object, but '
     'not a string.'),
    ({"applications": {"a": {"type": "python", "module": "m", "processes": 0}}},
     'The "processes" number must be equal to or greater than 1.'),
    ({"applications": {"a": {"type": "python", "module": "m",
                             "processes": {"max": 1, "spare": 2}}}},
     'The "spare" number must be less than or equal to "max".'),
    ({"applications": {"a": {"type": "python", "module": "m", "protocol": "x"}}},
     'The "protocol" can either be "wsgi" or "asgi".'),
    ({"applications": {"a": {"type": "python", "module": "m", "path": [1]}}},
     'The "path" array must contain only string values.'),
    ({"applications": {"a": {"type": "python 3.1", "module": "m"}}},
     'The module to run "python 3.1" is not found among the available '
     'application modules.'),
    ({"applications": {"a": {"type": "php", "root": "/x"}}},
     'The module to run "php" is not found among the available application '
     'modules.'),
    ({"settings": {"http": {"idle_timeout": "1"}}},
     'The "idle_timeout" value must be an integer number, but not a string.'),
    ({"settings": {"telemetry": {}}}, 'Unknown parameter "telemetry".'),
])
def test_validation_messages_as_unit(unit, conf, detail):
    r = unit.api("PUT", "/config", json.dumps(conf))
    assert r.status == 400
    assert r.json == {"error": "Invalid configuration.", "detail": detail}


@pytest.mark.parametrize("conf, what", [
    ({"applications": {"a": {"type": "python", "module": "m", "isolation": {}}}},
     "isolation"),
    ({"applications": {"a": {"type": "python", "targets": {}}}}, "targets"),
    ({"routes": [{"action": {"proxy": "http://127.0.0.1:1"}}]}, "proxy"),
    ({"upstreams": {}}, "upstreams"),
    ({"listeners": {"*:80": {"pass": "routes", "client_ip": {"source": "*", "header": "X-Real-IP"}}},
      "routes": []}, "client_ip"),
    ({"routes": [{"match": {"if": "$host"}, "action": {"return": 200}}]}, "if"),
    ({"settings": {"js_module": "x"}}, "js_module"),
])
def test_unimplemented_options_are_refused(unit, conf, what):
    r = unit.api("PUT", "/config", json.dumps(conf))
    assert r.status == 400
    assert r.json == {"error": "Invalid configuration.",
                      "detail": 'The test stand-in does not implement "%s".' % what}


def test_other_refusals_say_test_stand_in(unit):
    for conf in ({"listeners": {"unix:/tmp/x.sock": {"pass": "routes"}}, "routes": []},
                 {"routes": [{"match": {"uri": "~^/a"}, "action": {"return": 200}}]},
                 {"routes": [{"action": {"share": "/x$request_time"}}]},
                 {"listeners": {"*:80": {"pass": "$host"}}}):
        r = unit.api("PUT", "/config", json.dumps(conf))
        assert r.status == 400 and "test stand-in does not implement" in r.json["detail"]


def test_module_type_variants_resolve(unit):
    from standin_helpers import module_python
    short, version = module_python()
    for t in ("python", "python 3", "python " + short, "python" + short,
              "python " + version):
        r = unit.api("PUT", "/config/applications",
                     json.dumps({"a": {"type": t, "module": "m"}}))
        # validation passes; starting fails (no module "m"): 500, not 400
        assert r.status == 500, (t, r.raw)


def test_invalid_json_locations(unit):
    r = unit.api("PUT", "/config", '{\n  "a": tru\n}')
    assert r.json["location"] == {"offset": 9, "line": 2, "column": 8}
    r = unit.api("PUT", "/config", "")
    assert r.json["detail"].startswith("An empty JSON payload isn't allowed.")
    r = unit.api("PUT", "/config", '{"a": 1, "a": 2}')
    assert r.json["detail"] == ("Duplicate object member.  All JSON object members "
                                "must have unique names.")


def test_control_api_over_tcp(workdir):
    import http.client
    from standin_helpers import Unit, module_python, request
    short, dummy = module_python()
    port = free_port()
    u = Unit(workdir, short, extra_args=["--control", "127.0.0.1:%d" % port]).start()
    try:
        r = request(http.client.HTTPConnection("127.0.0.1", port), "GET", "/config")
        assert r.status == 200 and r.json == {"listeners": {}, "routes": [],
                                              "applications": {}}
    finally:
        u.stop()


def test_identical_reupload_keeps_processes(unit, workdir):
    from standin_helpers import http_get, make_app, module_python
    short, dummy = module_python()
    app = make_app(workdir)
    port = free_port()
    conf = json.dumps({"listeners": {"127.0.0.1:%d" % port: {"pass": "applications/a"}},
                       "applications": {"a": {"type": "python " + short, "path": str(app),
                                              "module": "mysite.asgi"}}})
    assert unit.api("PUT", "/config", conf).status == 200
    pid = http_get(port, "/pid").raw
    start = len(unit.log())
    assert unit.api("PUT", "/config", conf).json == {"success": "Reconfiguration done."}
    assert http_get(port, "/pid").raw == pid
    assert "started" not in unit.log()[start:]
    # a changed application is replaced: new process, the old one exits
    conf2 = conf.replace('"module"', '"environment": {"X": "1"}, "module"')
    assert unit.api("PUT", "/config", conf2).status == 200
    assert http_get(port, "/pid").raw != pid
    unit.wait_log(r"app process %s exited with code 0" % pid.decode(), start)
