# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Check that an ASGI app answers HTTP and a WebSocket handshake, the way a browser reaches it.

Shared by the asgi_probe module (a probe on its own) and unit_release (the probe that decides
whether a release stays live).  Only what can get better by waiting is retried: no answer yet,
or a 5xx (an app still starting answers 503).  A 404, a 403 or a redirect does not change by
waiting and fails at once, and so does a 5xx whose cause the server's log names as one that
waiting cannot mend (a WebSocket path the app does not route, a channel layer it cannot load).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import os
import socket
import ssl
import time

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_log import LogTail

WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
# What an app logs when its answer (Unit's 503) is not a start-up that waiting would end.
DEFINITE_CAUSES = ('No route found for path', 'InvalidChannelLayerError', "Apps aren't loaded yet")
ATTEMPT_TIMEOUT = 5
RETRY_INTERVAL = 1.0


def http_status(url, host, timeout):
    """(status, error) of a GET; status 0 when no answer came. Over https the certificate is not
    verified: the probe asks whether the app serves, not whether clients trust the certificate."""
    headers = {'Host': host} if host else {}
    try:
        response = open_url(url, headers=headers, timeout=timeout, follow_redirects='none',
                            use_proxy=False, validate_certs=False)
        return response.status, ''
    except HTTPError as exc:
        return exc.code, ''
    except (URLError, OSError, socket.timeout) as exc:
        return 0, str(getattr(exc, 'reason', exc))


def sni_name(host):
    """The name a TLS client sends (SNI) for a Host header: without the port, none for an IPv6 literal."""
    if host.startswith('['):
        return None
    return host.rsplit(':', 1)[0] if host.count(':') == 1 else host


def _client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def websocket_handshake(address, port, path, host, origin, timeout, tls=False):
    """Open a WebSocket (over TLS with tls), check the 101 answer, close it cleanly.
    Returns (status, error)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        'GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n'
    ).format(path=path, host=host, key=key, origin=origin)
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            sock = _client_tls().wrap_socket(raw, server_hostname=sni_name(host)) if tls else raw
            sock.sendall(request.encode('latin-1'))
            head = b''
            while b'\r\n\r\n' not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
            lines = head.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')
            parts = lines[0].split(' ', 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            if status != 101:
                return status, 'the WebSocket handshake got %r' % lines[0]
            headers = dict(line.split(':', 1) for line in lines[1:] if ':' in line)
            headers = dict((k.strip().lower(), v.strip()) for k, v in headers.items())
            expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            if headers.get('sec-websocket-accept') != expected:
                return status, 'the WebSocket handshake answer has a wrong Sec-WebSocket-Accept'
            # A masked close frame (code 1000), as a client must send.
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b'\x03\xe8'))
            sock.sendall(b'\x88\x82' + mask + payload)
            return status, ''
    except (OSError, socket.timeout, ValueError) as exc:
        return 0, 'the WebSocket connection failed: %s' % exc


def retryable(status):
    """No answer yet (0) or a server error may go away while the app starts; nothing else does."""
    return status == 0 or 500 <= status <= 599


def url_host(address):
    return '[%s]' % address if ':' in address else address


def probe(address, port, path='/', status=(200,), websocket_path=None, host=None, origin=None,
          timeout=30, log_file=None, sleep=time.sleep, tls=False):
    """Probe http://ADDRESS:PORT/PATH (https:// with tls), then the WebSocket (ws://, wss://).

    Returns a dict: ok, msg ('' when ok), http_status, websocket_status, attempts,
    failed_check ('', 'http' or 'websocket') and log (what log_file gained meanwhile, on failure).
    """
    netloc = '%s:%d' % (url_host(address), port)
    scheme = 'https' if tls else 'http'
    url = '%s://%s%s' % (scheme, netloc, path)
    host = host or netloc
    origin = origin or '%s://%s' % (scheme, host)
    log = LogTail(log_file) if log_file else None
    if log:
        log.mark()
    deadline = time.monotonic() + timeout
    attempts, ws_status, seen = 0, 0, []
    while True:
        attempts += 1
        failed_check = 'http'
        code, error = http_status(url, host, timeout=ATTEMPT_TIMEOUT)
        if code in status:
            failed_check = ''
            if websocket_path:
                ws_status, error = websocket_handshake(address, port, websocket_path, host, origin,
                                                       timeout=ATTEMPT_TIMEOUT, tls=tls)
                if ws_status != 101 or error:
                    failed_check = 'websocket'
        elif not error:
            error = 'GET %s answered %s, not %s' % (url, code, ' or '.join(str(c) for c in status))
        result = dict(ok=not failed_check, msg='', http_status=code, websocket_status=ws_status,
                      attempts=attempts, failed_check=failed_check, log=[])
        if not failed_check:
            return result
        answer = code if failed_check == 'http' else ws_status
        # A server error: what the app logged meanwhile may say it will not get better.
        if log and answer:
            seen += log.read_new(wait=0.3)
        cause = next((c for c in DEFINITE_CAUSES if any(c in line for line in seen)), None) if answer else None
        if cause or not retryable(answer) or time.monotonic() >= deadline:
            lines = (seen + (log.read_new(wait=0.5) if log else []))[-80:]
            result['log'] = lines
            result['msg'] = '%s (%s)%s' % (
                error,
                'the server logged "%s": a %s answer that waiting does not mend, not retried' % (cause, answer) if cause
                else 'after %d attempts in %ss' % (attempts, timeout) if retryable(answer)
                else 'a %s answer does not change by waiting: not retried' % answer,
                ('; the server logged:\n' + '\n'.join(lines)) if lines else '')
            return result
        sleep(RETRY_INTERVAL)
