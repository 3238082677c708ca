"""A WSGI application: Unit runs it when the callable is not ASGI."""


def application(environ, start_response):
    body = ("wsgi %s %s" % (environ["REQUEST_METHOD"], environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
