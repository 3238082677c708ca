#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: asgi_probe
short_description: Check that an ASGI app answers HTTP and a WebSocket handshake
description:
  - Sends an HTTP GET to O(url) until it answers with one of O(status) or O(timeout) runs out,
    then, when O(websocket_path) is set, opens a WebSocket on the same host and port and checks
    the C(101 Switching Protocols) answer and its C(Sec-WebSocket-Accept) header.
  - Only what can get better by waiting is retried, that is no connection or a 5xx answer (an app
    still starting answers 503). Any other answer (a 404 for a path the app does not have, a 403 for a
    refused WebSocket, a redirect) fails at once, and RV(failed_check) says which check it was.
  - Used after a deploy to decide whether a release serves, the way a browser would reach it.
  - On failure, when O(log_file) is set, the lines the server logged during the probe are part
    of the message (NGINX Unit writes app tracebacks there).
version_added: 0.1.0
author: unitchannels maintainers (@unitchannels)
options:
  url:
    description: URL of the HTTP check (C(http://ADDR:PORT/PATH)).
    type: str
    required: true
  status:
    description: HTTP status codes that count as healthy.
    type: list
    elements: int
    default: [200]
  websocket_path:
    description: Path of a WebSocket endpoint to open after the HTTP check.
    type: str
  host:
    description: Host header to send (Django checks it against ALLOWED_HOSTS, and WebSocket origins too).
    type: str
  origin:
    description: Origin header of the WebSocket handshake; defaults to C(http://HOST).
    type: str
  timeout:
    description: Seconds to keep trying before failing.
    type: int
    default: 30
  log_file:
    description: Log file whose new lines explain a failure.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The probe only reads; it runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Check the chat app through NGINX Unit
  unitchannels.deploy.asgi_probe:
    url: http://127.0.0.1:80/
    websocket_path: /ws/chat/health/
    host: chat.example.com
    log_file: /var/log/unit.log
"""

RETURN = r"""
http_status:
  description: Status of the last HTTP answer (0 when none came).
  returned: always
  type: int
  sample: 200
websocket_status:
  description: Status of the WebSocket handshake answer (0 when not tried or none came).
  returned: always
  type: int
  sample: 101
failed_check:
  description: C(http) or C(websocket), the check that failed; empty when both passed.
  returned: always
  type: str
  sample: http
attempts:
  description: Number of HTTP attempts made.
  returned: always
  type: int
  sample: 1
"""

import base64
import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def http_status(url, host, timeout):
    headers = {"Host": host} if host else {}
    try:
        response = open_url(url, headers=headers, timeout=timeout, follow_redirects="none")
        return response.status, ""
    except HTTPError as exc:
        return exc.code, ""
    except (URLError, OSError, socket.timeout) as exc:
        return 0, str(getattr(exc, "reason", exc))


def websocket_handshake(netloc, path, host, origin, timeout):
    """Open a WebSocket, check the 101 answer, close it cleanly. Returns (status, error)."""
    hostname, _sep, port = netloc.rpartition(":")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    ).format(path=path, host=host, key=key, origin=origin)
    try:
        with socket.create_connection((hostname.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.sendall(request.encode("latin-1"))
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            if status != 101:
                return status, "the WebSocket handshake got %r" % lines[0]
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            if headers.get("sec-websocket-accept") != expected:
                return status, "the WebSocket handshake answer has a wrong Sec-WebSocket-Accept"
            # A masked close frame (code 1000), as a client must send.
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8"))
            sock.sendall(b"\x88\x82" + mask + payload)
            return status, ""
    except (OSError, socket.timeout, ValueError) as exc:
        return 0, "the WebSocket connection failed: %s" % exc


def retryable(status):
    """No answer yet (0) or a server error may go away while the app starts; nothing else does."""
    return status == 0 or 500 <= status <= 599


def new_log_lines(path, offset, limit=40):
    if not path or not os.path.exists(path):
        return []
    with open(path, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    return lines[-limit:]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            status=dict(type="list", elements="int", default=[200]),
            websocket_path=dict(type="str"),
            host=dict(type="str"),
            origin=dict(type="str"),
            timeout=dict(type="int", default=30),
            log_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    parts = urlsplit(params["url"])
    if parts.scheme != "http" or not parts.port:
        module.fail_json(msg="url must be http://ADDR:PORT/PATH, got %s" % params["url"])
    host = params["host"] or parts.netloc
    origin = params["origin"] or "http://%s" % host
    log_offset = os.path.getsize(params["log_file"]) if params["log_file"] and os.path.exists(params["log_file"]) else 0

    deadline = time.monotonic() + params["timeout"]
    attempts, status, error, ws_status, failed_check = 0, 0, "", 0, ""
    while True:
        attempts += 1
        failed_check = "http"
        status, error = http_status(params["url"], host, timeout=5)
        if status in params["status"]:
            failed_check = ""
            if params["websocket_path"]:
                ws_status, error = websocket_handshake(parts.netloc, params["websocket_path"], host, origin, timeout=5)
                if ws_status != 101 or error:
                    failed_check = "websocket"
        elif not error:
            error = "GET %s answered %s, not %s" % (
                params["url"], status, " or ".join(str(code) for code in params["status"]))
        if not failed_check:
            break
        answer = status if failed_check == "http" else ws_status
        if not retryable(answer) or time.monotonic() >= deadline:
            log = new_log_lines(params["log_file"], log_offset)
            module.fail_json(
                msg="%s (%s)%s" % (
                    error,
                    "after %d attempts in %ss" % (attempts, params["timeout"]) if retryable(answer)
                    else "a %s answer does not change by waiting: not retried" % answer,
                    ("; the server logged:\n" + "\n".join(log)) if log else ""),
                http_status=status, websocket_status=ws_status, attempts=attempts, log=log,
                failed_check=failed_check)
        time.sleep(1)
    module.exit_json(changed=False, http_status=status, websocket_status=ws_status, attempts=attempts,
                     failed_check="")


if __name__ == "__main__":
    main()
