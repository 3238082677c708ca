# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""A threaded HTTP server on 127.0.0.1 for the probe tests: subclasses say how a GET is answered."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer(object):
    """Serves on a free port (self.port) until stop(); every GET goes to on_get(request).
    With tls (a PEM bundle: certificate chain and key), over HTTPS."""

    def __init__(self, tls=None):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.on_get(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            fd, path = tempfile.mkstemp(suffix='.pem')
            try:
                with os.fdopen(fd, 'w') as f:
                    f.write(tls)
                ctx.load_cert_chain(path)
            finally:
                os.unlink(path)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def on_get(self, request):
        raise NotImplementedError

    @staticmethod
    def answer(request, status):
        """An empty answer with this status."""
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
