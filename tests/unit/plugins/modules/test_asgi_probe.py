# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""asgi_probe against a small local server whose answers each test chooses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import asgi_probe as probe_utils
from ansible_collections.unitchannels.deploy.plugins.modules import asgi_probe
from ansible_collections.unitchannels.deploy.tests.unit.local_server import LocalServer


class Server(LocalServer):
    """Answers GET with the next status of `http` (the last one repeats) and WebSocket upgrades
    with `ws` (101 with a correct accept header, or that status)."""

    def __init__(self):
        self.http, self.ws, self.requests = [200], 101, []
        super(Server, self).__init__()

    def on_get(self, request):
        self.requests.append((request.path, request.headers.get("Origin")))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if self.ws != 101:
                self.answer(request, self.ws)
                return
            key = request.headers["Sec-WebSocket-Key"]
            accept = base64.b64encode(hashlib.sha1((key + probe_utils.WS_GUID).encode()).digest()).decode()
            request.send_response(101)
            request.send_header("Upgrade", "websocket")
            request.send_header("Connection", "Upgrade")
            request.send_header("Sec-WebSocket-Accept", accept)
            request.end_headers()
            request.close_connection = True
            return
        status = self.http.pop(0) if len(self.http) > 1 else self.http[0]
        self.answer(request, status() if callable(status) else status)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def probe(run_module, server, monkeypatch):
    monkeypatch.setattr(probe_utils, "RETRY_INTERVAL", 0)

    def run(**args):
        args.setdefault("url", "http://127.0.0.1:%d/rooms/" % server.port)
        args.setdefault("host", "localhost")
        args.setdefault("timeout", 5)
        return run_module(asgi_probe, args, check_mode=args.pop("check_mode", False))

    return run


def test_http_and_websocket_pass(probe, server):
    result = probe(websocket_path="/ws/rooms/health/")
    assert not result["failed"] and result["changed"] is False
    assert (result["http_status"], result["websocket_status"], result["failed_check"]) == (200, 101, "")
    assert server.requests[-1] == ("/ws/rooms/health/", "http://localhost")


def test_a_404_fails_at_once(probe, server):
    server.http = [404]
    result = probe()
    assert result["failed"] and result["failed_check"] == "http" and result["attempts"] == 1
    assert "answered 404, not 200" in result["msg"] and "not retried" in result["msg"]


def test_a_503_is_retried_until_the_app_answers(probe, server):
    server.http = [503, 503, 200]
    result = probe()
    assert not result["failed"] and result["attempts"] == 3


def test_a_503_that_stays_fails_after_the_timeout(probe, server):
    server.http = [503]
    result = probe(timeout=0)
    assert result["failed"] and result["failed_check"] == "http" and "after 1 attempts" in result["msg"]


def test_another_expected_status(probe, server):
    server.http = [302]
    assert not probe(status=[302])["failed"]
    assert probe()["failed"]


def test_a_refused_websocket_fails_at_once(probe, server):
    server.ws = 403
    result = probe(websocket_path="/ws/rooms/health/")
    assert result["failed"] and result["failed_check"] == "websocket" and result["attempts"] == 1
    assert result["websocket_status"] == 403


def test_no_server_is_retried_then_fails(probe, server):
    server.stop()
    result = probe(timeout=0)
    assert result["failed"] and result["failed_check"] == "http" and result["http_status"] == 0


def test_runs_in_check_mode(probe):
    assert not probe(check_mode=True)["failed"]


def test_url_must_be_http_with_a_port(probe):
    result = probe(url="https://example.org/")
    assert result["failed"] and "http://ADDR:PORT/PATH" in result["msg"]


def test_a_failure_shows_what_the_log_gained_even_across_a_rotation(probe, server, tmp_path):
    log = tmp_path / "unit.log"
    log.write_text("old line before the probe\n" * 50)

    def rotate_then_fail():
        # logrotate moved the log away and Unit opened a new, shorter one
        log.rename(tmp_path / "unit.log.1")
        log.write_text("2026/11/25 17:22:35 [alert] 1078#1078 Python failed to import module \"rooms\"\n")
        return 404

    server.http = [rotate_then_fail]
    result = probe(log_file=str(log))
    assert result["failed"]
    assert result["log"] == ['2026/11/25 17:22:35 [alert] 1078#1078 Python failed to import module "rooms"']
    assert "old line" not in result["msg"] and "failed to import" in result["msg"]


def test_a_websocket_503_that_unit_logs_as_a_routing_error_fails_at_once(probe, server, tmp_path):
    """Channels raises "No route found" for a path the app does not route and Unit answers 503:
    waiting does not mend that, so the probe stops at the first attempt and names it."""
    log = tmp_path / "unit.log"
    log.write_text("")

    def routing_error(request, status):
        with log.open("a") as handle:
            handle.write("ValueError: No route found for path 'ws/chat/health/'.\n")
        Server.answer(request, status)

    server.ws = 503
    server.answer = routing_error
    result = probe(websocket_path="/ws/chat/health/", log_file=str(log), timeout=30)
    assert result["failed"] and result["failed_check"] == "websocket" and result["attempts"] == 1
    assert 'the server logged "No route found for path": a 503 answer that waiting does not mend' in result["msg"]
    assert "No route found for path 'ws/chat/health/'" in "\n".join(result["log"])


def test_a_503_with_nothing_definite_in_the_log_is_still_retried(probe, server, tmp_path):
    log = tmp_path / "unit.log"
    log.write_text("")
    server.http = [503, 503, 200]
    assert not probe(log_file=str(log))["failed"]
