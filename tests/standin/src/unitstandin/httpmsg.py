"""HTTP/1.x request heads and Unit-style responses, shared by the control API
and the router."""

import time

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 302: "Found", 303: "See Other",
    304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    411: "Length Required", 413: "Payload Too Large", 414: "URI Too Long",
    415: "Unsupported Media Type", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}

MAX_HEAD = 4 * 8192      # large_header_buffers * large_header_buffer_size


def http_date(t=None):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def error_page(status):
    """nxt_http_error.c's body."""
    return ("<!DOCTYPE html><title>Error %03d</title><p>Error %03d.\r\n"
            % (status, status)).encode()


class BadRequest(Exception):
    def __init__(self, status=400):
        Exception.__init__(self, status)
        self.status = status


class Head:
    """A parsed request head."""

    def __init__(self):
        self.method = ""
        self.target = ""
        self.version = "1.1"
        self.headers = []       # [(name, value)] as received (latin-1 str)
        self.path = "/"         # decoded, normalised (Unit's $uri)
        self.raw_path = "/"
        self.query = ""
        self.content_length = None
        self.chunked = False
        self.keep_alive = True
        self.expect_continue = False

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]


def _is_token(s):
    return s and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in s)


def normalize_path(raw):
    """Percent-decode and resolve ".", ".." and "//" like Unit's parser;
    BadRequest when ".." climbs above the root."""
    b = raw.encode("latin-1")
    out = bytearray()
    i = 0
    hexdigits = b"0123456789abcdefABCDEF"
    while i < len(b):
        c = b[i]
        if c == 0x25:
            pair = b[i + 1:i + 3]
            if len(pair) != 2 or any(x not in hexdigits for x in pair):
                raise BadRequest()
            out.append(int(pair, 16))
            i += 3
            continue
        out.append(c)
        i += 1
    path = bytes(out).decode("utf-8", "surrogateescape")
    if not path.startswith("/"):
        raise BadRequest()
    parts = []
    segs = path.split("/")
    for seg in segs[1:-1]:
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise BadRequest()
            parts.pop()
            continue
        parts.append(seg)
    last = segs[-1]
    trailing = ""
    if last == "..":
        if not parts:
            raise BadRequest()
        parts.pop()
        trailing = "/"
    elif last == ".":
        trailing = "/"
    elif last == "":
        trailing = "/" if len(segs) > 1 else ""
    else:
        parts.append(last)
    result = "/" + "/".join(parts)
    if trailing and not result.endswith("/"):
        result += "/"
    return result


def parse_head(data, discard_unsafe=True):
    """data: bytes up to and including the blank line."""
    text = data.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    while lines and lines[0] == "":
        lines.pop(0)           # stray CRLF before a request
    if not lines:
        raise BadRequest()
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest()
    h = Head()
    h.method, h.target, proto = parts
    if not _is_token(h.method) or not h.target:
        raise BadRequest()
    if not proto.startswith("HTTP/") or len(proto) != 8 or proto[6] != ".":
        raise BadRequest()
    if proto[5] != "1":
        raise BadRequest(505)
    h.version = proto[5:]
    for ln in lines[1:]:
        if ln == "":
            continue
        if ln[0] in " \t":
            raise BadRequest()
        name, sep, value = ln.partition(":")
        if not sep or not _is_token(name):
            raise BadRequest()
        if discard_unsafe and not all(c.isalnum() or c == "-" for c in name):
            continue            # settings.http.discard_unsafe_fields
        h.headers.append((name, value.strip(" \t")))
    target = h.target
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    if not target.startswith("/"):
        raise BadRequest()
    raw_path, dummy, query = target.partition("?")
    h.raw_path, h.query = raw_path, query
    h.path = normalize_path(raw_path)
    cl = h.header_all("content-length")
    te = h.header("transfer-encoding")
    if te is not None:
        if te.strip().lower() != "chunked" or h.version == "1.0":
            raise BadRequest(501 if te.strip().lower() != "chunked" else 400)
        h.chunked = True
    if cl:
        if len(set(cl)) > 1 or not cl[0].isdigit() or h.chunked:
            raise BadRequest()
        h.content_length = int(cl[0])
    conn = (h.header("connection") or "").lower()
    tokens = [t.strip() for t in conn.split(",")]
    if h.version == "1.0":
        h.keep_alive = "keep-alive" in tokens
    else:
        h.keep_alive = "close" not in tokens
    h.expect_continue = (h.header("expect") or "").lower() == "100-continue"
    return h


def response(status, headers, body=b"", server=None, close=False,
             content_length=True, keep_alive_10=False):
    """A Unit-ordered response: the given headers, then Server, Date,
    Content-Length and Connection."""
    out = ["HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, ""))]
    for n, v in headers:
        out.append("%s: %s\r\n" % (n, v))
    if server:
        out.append("Server: %s\r\n" % server)
    out.append("Date: %s\r\n" % http_date())
    if content_length is True:
        out.append("Content-Length: %d\r\n" % len(body))
    elif content_length is not None and content_length is not False:
        out.append("Content-Length: %d\r\n" % content_length)
    if close:
        out.append("Connection: close\r\n")
    elif keep_alive_10:
        out.append("Connection: keep-alive\r\n")
    out.append("\r\n")
    return "".join(out).encode("latin-1", "replace") + body
