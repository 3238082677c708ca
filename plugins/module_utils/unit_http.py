# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""NGINX Unit's control API for the scripts the roles install on a host, with the standard
library only (certbot's deploy hook, the app restart after unitd starts); installed there with
unit_address.py beside it. The modules use ``unit_control`` instead, which has Ansible's
transport and error texts.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client
import json
import socket

try:
    from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import socket_endpoint
except ImportError:  # on a host, beside unit_address.py
    from unit_address import socket_endpoint  # pylint: disable=import-error

# What a request can fail with besides an answer of 300 or more (RuntimeError).
REQUEST_ERRORS = (OSError, http.client.HTTPException)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Unit(object):
    """Unit's control API at unitd's --control address (unix:/PATH, ADDR:PORT or http://ADDR:PORT;
    a wildcard host is reached on loopback)."""

    def __init__(self, control, timeout=30):
        self.control, self.timeout = control, timeout
        self.endpoint = socket_endpoint(control.replace('http://', '', 1).rstrip('/'))
        if self.endpoint is None:
            raise ValueError('%r is not a control address of unitd (unix:/PATH or ADDR:PORT)' % (control,))

    def request(self, method, path, body=None, timeout=None):
        """The answer's JSON (or text); RuntimeError naming the path for an answer of 300 or more."""
        family, address = self.endpoint
        timeout = self.timeout if timeout is None else timeout
        if family == socket.AF_UNIX:
            conn = UnixHTTPConnection(address, timeout)
        else:
            conn = http.client.HTTPConnection(address[0], address[1], timeout=timeout)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            text = resp.read().decode('utf-8', 'replace')
        finally:
            conn.close()
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        if resp.status >= 300:
            error = data.get('error', text) if isinstance(data, dict) else text
            detail = data.get('detail', '') if isinstance(data, dict) else ''
            raise RuntimeError('%s %s answered HTTP %s: %s %s' % (method, path, resp.status, error, detail))
        return data
