"""Sample WSGI application of the NGINX Unit TEST STAND-IN module package."""

import sys


def application(environ, start_response):
    body = ("Hello from the NGINX Unit TEST STAND-IN\nPython: %s\n" % sys.version).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
