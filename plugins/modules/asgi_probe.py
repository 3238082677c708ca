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

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.asgi_probe import probe


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
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    result = probe(parts.hostname, parts.port, path=path, status=params["status"],
                   websocket_path=params["websocket_path"], host=params["host"] or parts.netloc,
                   origin=params["origin"], timeout=params["timeout"], log_file=params["log_file"])
    fields = dict((key, result[key]) for key in ("http_status", "websocket_status", "attempts", "failed_check"))
    if not result["ok"]:
        module.fail_json(msg=result["msg"], log=result["log"], **fields)
    module.exit_json(changed=False, **fields)


if __name__ == "__main__":
    main()
