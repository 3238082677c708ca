"""Router: listeners, routes, the "share" and "return" actions, and the
hand-over of requests to application processes.

Requests for an application leave the router right after the head is parsed:
the accepted socket (a dup of it) is sent to one application process over its
channel with the parsed head and the bytes already read.  TLS connections
cannot be handed over, so the router terminates TLS and relays the plaintext
through a socketpair instead.
"""

import asyncio
import base64
import grp
import ipaddress
import os
import pwd
import socket
import ssl
import stat
import time

from . import SERVER, SERVER_NO_VERSION
from . import static as st
from .httpmsg import BadRequest, error_page, http_date, parse_head, response, MAX_HEAD
from .log import log
from .validate import (decode_uri, pass_segments, parse_addr_pattern, parse_sockaddr,
                       template_vars)

HTTP_DEFAULTS = {
    "header_read_timeout": 30, "body_read_timeout": 30, "send_timeout": 30,
    "idle_timeout": 180, "max_body_size": 8 * 1024 * 1024,
    "discard_unsafe_fields": True, "server_version": True,
}
WS_DEFAULTS = {"read_timeout": 60, "keepalive_interval": 30,
               "max_frame_size": 1048576}


# Returned by handlers that already finished the request themselves (it
# went to an application, or failed there).
DONE = object()


class Stats:
    def __init__(self):
        self.accepted = 0
        self.closed = 0
        self.idle = 0
        self.requests = 0


# ---- variables and templates ------------------------------------------------

class Req:
    """What routing and templates look at."""

    def __init__(self, head, client, server, scheme):
        self.head = head
        self.client = client
        self.server = server
        self.scheme = scheme
        self.path = head.path
        self.query = head.query
        self.method = head.method
        host = (head.header("host") or "").lower()
        if host.startswith("["):
            host = host[:host.find("]") + 1]
        else:
            host = host.split(":", 1)[0]
        self.host = host.rstrip(".")
        self.status = 0
        self.bytes = 0
        self._args = None
        self._cookies = None

    def args(self):
        if self._args is None:
            out = []
            for part in self.query.split("&") if self.query else []:
                name, dummy, value = part.partition("=")
                n = decode_uri(name.replace("+", " "))
                v = decode_uri(value.replace("+", " "))
                out.append((n if n is not None else name, v if v is not None else value))
            self._args = out
        return self._args

    def cookies(self):
        if self._cookies is None:
            out = []
            for h in self.head.header_all("cookie"):
                for part in h.split(";"):
                    name, dummy, value = part.strip().partition("=")
                    if name:
                        out.append((name, value))
            self._cookies = out
        return self._cookies

    def var(self, name):
        h = self.head
        if name == "dollar":
            return "$"
        if name == "uri":
            return self.path
        if name == "host":
            return self.host
        if name == "method":
            return self.method
        if name == "request_uri":
            return h.target
        if name == "remote_addr":
            return self.client[0]
        if name == "request_line":
            return "%s %s HTTP/%s" % (h.method, h.target, h.version)
        if name == "time_local":
            return time.strftime("%d/%b/%Y:%H:%M:%S %z")
        if name == "status":
            return "%03d" % self.status
        if name == "body_bytes_sent":
            return str(self.bytes)
        if name.startswith("header_"):
            return h.header(name[7:].replace("_", "-"), "")
        if name.startswith("arg_"):
            for n, v in self.args():
                if n == name[4:]:
                    return v
            return ""
        if name.startswith("cookie_"):
            for n, v in self.cookies():
                if n == name[7:]:
                    return v
            return ""
        return ""


def render(template, req):
    """Expand $var / ${var} (names were checked by the validator)."""
    if "$" not in template:
        return template
    out, i = [], 0
    names = iter(template_vars(template))
    while True:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:j])
        name = next(names)
        if template.startswith("${", j):
            i = template.find("}", j) + 1
        else:
            i = j + 1 + len(name)
        out.append(req.var(name))


# ---- match conditions -------------------------------------------------------

def _glob(pattern, value):
    parts = pattern.split("*")
    if len(parts) == 1:
        return value == pattern
    if not value.startswith(parts[0]):
        return False
    pos = len(parts[0])
    for mid in parts[1:-1]:
        k = value.find(mid, pos)
        if k < 0:
            return False
        pos = k + len(mid)
    last = parts[-1]
    return len(value) - pos >= len(last) and value.endswith(last)


def compile_patterns(patterns, fold=None, decode=False):
    """Unit's semantics for a pattern or an array of them: a value matches
    if it matches any positive pattern and no negative one (only negative
    patterns: none of them)."""
    if not isinstance(patterns, list):
        patterns = [patterns]
    pos, neg = [], []
    for p in patterns:
        negate = p.startswith("!")
        if negate:
            p = p[1:]
        if decode:
            p = decode_uri(p)
        if fold:
            p = fold(p)
        (neg if negate else pos).append(p)

    def match(value):
        if value is None:
            return False
        if fold:
            value = fold(value)
        if any(_glob(p, value) for p in neg):
            return False
        return not pos or any(_glob(p, value) for p in pos)
    return match


def compile_sets(sets, getter, name_fold=None, value_fold=None, decode=False):
    """"headers"/"arguments"/"cookies": object = all members must match,
    array of objects = any object."""
    if not isinstance(sets, list):
        sets = [sets]
    compiled = []
    for obj in sets:
        conds = []
        for name, pats in obj.items():
            if decode:
                name = decode_uri(name)
            conds.append((name_fold(name) if name_fold else name,
                          compile_patterns(pats, value_fold, decode)))
        compiled.append(conds)

    def match(req):
        pairs = getter(req)
        for conds in compiled:
            ok = True
            for name, m in conds:
                vals = [v for n, v in pairs if (name_fold(n) if name_fold else n) == name]
                if not vals or not any(m(v) for v in vals):
                    ok = False
                    break
            if ok:
                return True
        return False
    return match


def compile_addrs(patterns, which):
    if not isinstance(patterns, list):
        patterns = [patterns]
    parsed = [parse_addr_pattern(p) for p in patterns]

    def match1(p, addr):
        neg, lo, hi, plo, phi = p
        host, port = addr
        if lo == "unix":
            return False
        if lo is not None:
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                return False
            if ip.version != lo.version or not (lo <= ip <= hi):
                return False
        return plo <= port <= phi

    def match(req):
        addr = req.client if which == "source" else req.server
        pos = [p for p in parsed if not p[0]]
        neg = [p for p in parsed if p[0]]
        if any(match1(p, addr) for p in neg):
            return False
        return not pos or any(match1(p, addr) for p in pos)
    return match


class Forwarded:
    """A listener's "forwarded": from a client in "source", the client's address from the
    "client_ip" header and the scheme from the "protocol" header (nxt_http_request_forward)."""

    def __init__(self, conf):
        self.source = compile_addrs(conf["source"], "source")
        self.client_ip = conf.get("client_ip")
        self.protocol = conf.get("protocol")
        self.recursive = conf.get("recursive", False)

    def trusted(self, addr):
        return self.source(_Peer(addr))

    def apply(self, req, head):
        if not self.trusted(req.client):
            return
        if self.client_ip:
            self._client_ip(req, [v for v in head.header_all(self.client_ip) if v])
        if self.protocol:
            value = next((v for v in head.header_all(self.protocol) if v), None)
            if value is not None:
                value = value.lower()
                if value == "http":
                    req.scheme = "http"
                elif value in ("https", "on"):
                    req.scheme = "https"

    def _client_ip(self, req, values):
        # Right to left over the fields and their comma or space separated addresses: the
        # last one, or (recursive) the first from the right that is not in "source".
        addresses = [a for value in values for a in value.replace(",", " ").split()]
        for index in range(len(addresses) - 1, -1, -1):
            addr = _client_addr(addresses[index])
            if addr is None:
                return  # an address Unit cannot parse leaves the one before it
            req.client = addr
            if not self.recursive or not self.trusted(addr):
                return


class _Peer:
    def __init__(self, addr):
        self.client = addr


def _client_addr(text):
    """(host, port) of an address in a forwarding header (a port optional), None when it is
    none or the unspecified address."""
    host, port = text, 0
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] or 0
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ip = ipaddress.ip_address(host)
        port = int(port)
    except ValueError:
        return None
    return None if ip.is_unspecified else (str(ip), port)


def compile_match(m):
    conds = []
    for key, val in m.items():
        if key == "uri":
            f = compile_patterns(val, decode=True)
            conds.append(lambda r, f=f: f(r.path))
        elif key == "method":
            f = compile_patterns(val, fold=str.upper)
            conds.append(lambda r, f=f: f(r.method))
        elif key == "host":
            f = compile_patterns(val, fold=str.lower)
            conds.append(lambda r, f=f: f(r.host))
        elif key == "scheme":
            conds.append(lambda r, v=val.lower(): r.scheme == v)
        elif key == "query":
            f = compile_patterns(val, decode=True)
            conds.append(lambda r, f=f: f(decode_uri(r.query) or r.query))
        elif key == "headers":
            conds.append(compile_sets(val, lambda r: r.head.headers,
                                      name_fold=str.lower, value_fold=str.lower))
        elif key == "arguments":
            conds.append(compile_sets(val, lambda r: r.args(), decode=True))
        elif key == "cookies":
            conds.append(compile_sets(val, lambda r: r.cookies()))
        elif key in ("source", "destination"):
            conds.append(compile_addrs(val, key))
    return lambda r: all(c(r) for c in conds)


# ---- compiled configuration --------------------------------------------------

class Action:
    def __init__(self, conf):
        self.conf = conf
        self.rewrite = conf.get("rewrite")
        rh = conf.get("response_headers") or {}
        self.response_headers = list(rh.items())
        if "pass" in conf:
            self.kind = "pass"
            self.target = parse_target(conf["pass"])
        elif "return" in conf:
            self.kind = "return"
        elif "share" in conf:
            self.kind = "share"
            s = conf["share"]
            self.shares = s if isinstance(s, list) else [s]
            self.index = conf.get("index", "index.html")
            self.types = (compile_patterns(conf["types"])
                          if "types" in conf else None)
            self.fallback = Action(conf["fallback"]) if "fallback" in conf else None
        else:
            self.kind = "none"


def parse_target(p):
    seg = pass_segments(p)
    return (seg[0], seg[1])


class Conf:
    def __init__(self, conf, rt):
        self.raw = conf
        settings = (conf.get("settings") or {}).get("http") or {}
        self.http = dict(HTTP_DEFAULTS)
        self.http.update({k: v for k, v in settings.items()
                          if k not in ("websocket", "static")})
        self.ws = dict(WS_DEFAULTS)
        self.ws.update(settings.get("websocket") or {})
        self.mime = st.mime_table((settings.get("static") or {}).get("mime_types"))
        self.server = SERVER if self.http.get("server_version", True) else SERVER_NO_VERSION
        routes = conf.get("routes")
        self.routes = {}
        if isinstance(routes, list):
            self.routes[""] = self._steps(routes)
        elif isinstance(routes, dict):
            for name, steps in routes.items():
                self.routes[name] = self._steps(steps)
        self.listeners = {}
        for key, lconf in (conf.get("listeners") or {}).items():
            if "pass" in lconf:
                target = parse_target(lconf["pass"])
            elif "application" in lconf:
                target = ("applications", lconf["application"])
            else:
                target = None
            self.listeners[key] = target
        self.forwarded = {key: Forwarded(lconf["forwarded"])
                          for key, lconf in (conf.get("listeners") or {}).items() if "forwarded" in lconf}
        al = conf.get("access_log")
        if isinstance(al, str):
            self.access_log = (al, None)
        elif isinstance(al, dict):
            self.access_log = (al["path"], al.get("format"))
        else:
            self.access_log = None

    def _steps(self, steps):
        out = []
        for s in steps:
            m = compile_match(s["match"]) if "match" in s else (lambda r: True)
            a = Action(s["action"]) if "action" in s else None
            out.append((m, a))
        return out


class Listener:
    def __init__(self, key, sock):
        self.key = key
        self.sock = sock
        self.server = None
        self.ssl_ctx = None
        self.family, self.host, self.port = parse_sockaddr(key)


class BindError(Exception):
    pass


class Router:
    def __init__(self, rt):
        self.rt = rt
        self.stats = Stats()
        self.conf = Conf({}, rt)
        self.listeners = {}
        self.pending = {}       # request id -> HttpConn handed to an app
        self.next_id = 1
        self.access_fd = -1
        self.access_path = None
        self.identity = None
        self._setup_identity()

    def _setup_identity(self):
        if os.geteuid() != 0:
            return
        try:
            pw = pwd.getpwnam(self.rt.user)
            gid = grp.getgrnam(self.rt.group).gr_gid if self.rt.group else pw.pw_gid
            self.identity = st.Identity(pw.pw_uid, gid,
                                        os.getgrouplist(self.rt.user, gid))
        except KeyError:
            self.identity = None

    # -- configuration --

    def bind_new(self, conf):
        """Bind listeners that are not bound yet; BindError (after closing
        what was bound here) when one fails."""
        new = {}
        for key in (conf.get("listeners") or {}):
            if key in self.listeners:
                continue
            family, host, port = parse_sockaddr(key)
            fam = socket.AF_INET6 if family == "inet6" else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
                backlog = (conf["listeners"][key].get("backlog") or 511)
                sock.listen(int(backlog) if backlog > 0 else 511)
            except OSError as e:
                sock.close()
                log.alert('bind(\\"%s\\") failed (%d: %s)'
                          % (key, e.errno, os.strerror(e.errno)))
                for lst in new.values():
                    lst.sock.close()
                raise BindError(key)
            sock.setblocking(False)
            new[key] = Listener(key, sock)
        return new

    def tls_contexts(self, conf, new):
        """ssl contexts per listener key; raise BindError on failure."""
        out = {}
        for key, lconf in (conf.get("listeners") or {}).items():
            tls = lconf.get("tls")
            if not tls:
                continue
            names = tls["certificate"]
            names = names if isinstance(names, list) else [names]
            try:
                ctx = self.rt.certs.context(names)
            except Exception as e:   # noqa: BLE001 - reported and refused
                log.alert('failed to set up TLS for listener "%s": %s' % (key, e))
                raise BindError(key)
            out[key] = ctx
        return out

    async def commit(self, conf, new_listeners, tls):
        loop = asyncio.get_running_loop()
        keys = set((conf.get("listeners") or {}).keys())
        for key, lst in list(self.listeners.items()):
            if key not in keys:
                lst.server.close()
                del self.listeners[key]
        for key, lst in new_listeners.items():
            lst.server = await loop.create_server(
                lambda lst=lst: HttpConn(self, lst), sock=lst.sock)
            self.listeners[key] = lst
        for key, lst in self.listeners.items():
            lst.ssl_ctx = tls.get(key)
        self.conf = Conf(conf, self.rt)
        self.open_access_log()

    def discard(self, new_listeners):
        for lst in new_listeners.values():
            lst.sock.close()

    def open_access_log(self, reopen=False):
        al = self.conf.access_log
        path = al[0] if al else None
        if path == self.access_path and not reopen:
            return
        if self.access_fd >= 0:
            os.close(self.access_fd)
            self.access_fd = -1
        self.access_path = path
        if path:
            try:
                self.access_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                         | os.O_CLOEXEC, 0o644)
            except OSError as e:
                log.alert('open("%s") failed (%d: %s)' % (path, e.errno, e.strerror))

    def access(self, req):
        if self.access_fd < 0:
            return
        fmt = self.conf.access_log[1]
        if fmt is None:
            line = '%s - - [%s] "%s" %d %d "%s" "%s"' % (
                req.client[0], req.var("time_local"), req.var("request_line"),
                req.status, req.bytes, req.head.header("referer", "-"),
                req.head.header("user-agent", "-"))
        else:
            line = render(fmt, req)
        try:
            os.write(self.access_fd, (line + "\n").encode("utf-8", "surrogateescape"))
        except OSError:
            pass

    async def close_all(self):
        for lst in self.listeners.values():
            lst.server.close()
        self.listeners = {}

    # -- routing --

    def route(self, req, target, resp_headers):
        """Returns ("app", name) | ("action", Action) | ("status", code)."""
        for dummy in range(16):
            if target is None:
                return ("status", 404)
            kind, name = target
            if kind == "applications":
                return ("app", name)
            steps = self.conf.routes.get(name)
            if steps is None:
                return ("status", 404)
            for match, action in steps:
                if not match(req):
                    continue
                if action is None:
                    return ("status", 404)
                if action.rewrite is not None:
                    rewritten = render(action.rewrite, req)
                    path, sep, query = rewritten.partition("?")
                    req.path = path
                    if sep:
                        req.query = query
                resp_headers.extend(
                    (n, render(v, req) if isinstance(v, str) else None)
                    for n, v in action.response_headers)
                if action.kind == "pass":
                    target = action.target
                    break
                return ("action", action)
            else:
                return ("status", 404)
        return ("status", 500)

    def app_request_done(self, cid, status, nbytes):
        conn = self.pending.pop(cid, None)
        if conn is None:
            return
        self.stats.closed += 1
        if conn.req is not None:
            conn.req.status = status
            conn.req.bytes = nbytes
            self.access(conn.req)

    def status(self):
        s = self.stats
        return {"accepted": s.accepted, "active": s.accepted - s.closed - s.idle,
                "idle": s.idle, "closed": s.closed}


class HttpConn(asyncio.Protocol):
    """One client connection until it is closed or handed to an app."""

    def __init__(self, router, listener):
        self.router = router
        self.listener = listener
        self.transport = None
        self.buf = bytearray()
        self.busy = False
        self.handed_off = False
        self.closed = False
        self.idle = False
        self.timer = None
        self.req = None
        self.can_write = None
        self.tls = False
        self.client = None
        self.server = None

    # -- transport callbacks --

    def connection_made(self, transport):
        self.transport = transport
        self.router.stats.accepted += 1
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.client = (peer[0], peer[1])
        self.server = (local[0], local[1])
        if self.listener.ssl_ctx is not None:
            self.busy = True
            asyncio.get_running_loop().create_task(self.start_tls())
        else:
            self.arm(self.router.conf.http["header_read_timeout"])

    async def start_tls(self):
        loop = asyncio.get_running_loop()
        try:
            self.transport = await loop.start_tls(
                self.transport, self, self.listener.ssl_ctx, server_side=True,
                ssl_handshake_timeout=self.router.conf.http["header_read_timeout"])
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
            self.close()
            return
        self.tls = True
        self.busy = False
        self.arm(self.router.conf.http["header_read_timeout"])
        if self.buf:
            self.process()

    def data_received(self, data):
        if self.handed_off:
            return
        self.buf += data
        if self.idle:
            self.set_idle(False)
            self.arm(self.router.conf.http["header_read_timeout"])
        if not self.busy:
            self.process()

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()
        if self.can_write is not None and not self.can_write.done():
            self.can_write.set_result(False)
        if self.closed or self.handed_off:
            return
        self.closed = True
        self.set_idle(False)
        self.router.stats.closed += 1

    def pause_writing(self):
        self.can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self):
        if self.can_write is not None and not self.can_write.done():
            self.can_write.set_result(True)
        self.can_write = None

    async def drain(self):
        if self.can_write is not None:
            await self.can_write

    # -- helpers --

    def arm(self, seconds):
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(seconds, self.timeout)

    def timeout(self):
        self.timer = None
        if not self.busy and not self.handed_off:
            self.close()

    def set_idle(self, idle):
        if idle != self.idle:
            self.idle = idle
            self.router.stats.idle += 1 if idle else -1

    def close(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def write(self, data):
        if not self.transport.is_closing():
            self.transport.write(data)

    # -- request processing --

    def process(self):
        end = self.buf.find(b"\r\n\r\n")
        sep = 4
        if end < 0:
            end = self.buf.find(b"\n\n")
            sep = 2
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self.fail(431)
            return
        if end + sep > MAX_HEAD:
            self.fail(431)
            return
        head_bytes = bytes(self.buf[:end + sep])
        del self.buf[:end + sep]
        self.busy = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.router.stats.requests += 1
        conf = self.router.conf
        try:
            head = parse_head(head_bytes, conf.http.get("discard_unsafe_fields", True))
        except BadRequest as e:
            self.fail(e.status)
            return
        self.req = Req(head, self.client, self.server, "https" if self.tls else "http")
        forwarded = conf.forwarded.get(self.listener.key)
        if forwarded is not None:
            forwarded.apply(self.req, head)
        asyncio.get_running_loop().create_task(self.handle(head))

    def fail(self, status):
        self.busy = True
        self.send(status, [("Content-Type", "text/html")], error_page(status), close=True)

    def send(self, status, headers, body=b"", close=False, head_only=False,
             length=None, extra_headers=()):
        req = self.req
        conf = self.router.conf
        keep = (not close and req is not None and req.head.keep_alive
                and status != 500)
        hdrs = list(headers) + list(extra_headers)
        data = response(status, hdrs, b"" if head_only else body, server=conf.server,
                        close=not keep,
                        content_length=len(body) if length is None else length,
                        keep_alive_10=keep and req.head.version == "1.0")
        self.write(data)
        if req is not None:
            req.status = status
            req.bytes = 0 if head_only else (len(body) if length is None else length)
        return keep

    def finish(self, keep):
        if keep is DONE:
            return
        if self.req is not None:
            self.router.access(self.req)
        self.req = None
        if self.handed_off:
            return
        if not keep:
            if not self.closed:
                self.closed = True
                self.router.stats.closed += 1
            self.close()
            return
        self.busy = False
        self.set_idle(True)
        self.arm(self.router.conf.http["idle_timeout"])
        if self.buf:
            self.set_idle(False)
            self.process()

    async def handle(self, head):
        req = self.req
        conf = self.router.conf
        target = conf.listeners.get(self.listener.key)
        resp_headers = []
        result = self.router.route(req, target, resp_headers)
        has_body = bool(head.content_length) or head.chunked
        if result[0] == "app":
            await self.to_app(result[1], head, resp_headers)
            return
        keep = not has_body     # the stand-in does not read bodies it ignores
        if result[0] == "status":
            keep = self.send(result[1], [("Content-Type", "text/html")],
                             error_page(result[1]), close=not keep,
                             head_only=head.method == "HEAD")
            self.finish(keep)
            return
        action = result[1]
        if action.kind == "return":
            keep = await self.do_return(action, keep, resp_headers)
        elif action.kind == "share":
            keep = await self.do_share(action, keep, resp_headers)
        else:
            keep = self.send(404, [("Content-Type", "text/html")], error_page(404),
                             close=not keep)
        self.finish(keep)

    async def do_return(self, action, keep, resp_headers):
        status = action.conf["return"]
        if 400 <= status <= 599:
            return self.send(status, [("Content-Type", "text/html")],
                             error_page(status), close=not keep,
                             head_only=self.req.head.method == "HEAD")
        headers = []
        if "location" in action.conf:
            headers.append(("Location", render(action.conf["location"], self.req)))
        headers += [(n, v) for n, v in resp_headers if v is not None]
        return self.send(status, headers, b"", close=not keep)

    async def do_share(self, action, keep, resp_headers):
        req = self.req
        head = req.head
        if head.method not in ("GET", "HEAD"):
            if action.fallback is not None:
                return await self.do_action(action.fallback, keep, resp_headers)
            return self.send(405, [("Content-Type", "text/html")], error_page(405),
                             close=not keep)
        chroot = action.conf.get("chroot")
        chroot = render(chroot, req) if chroot else None
        follow = action.conf.get("follow_symlinks", True)
        traverse = action.conf.get("traverse_mounts", True)
        status = 404
        for share in action.shares:
            path = render(share, req)
            mtype = None
            if path.endswith("/"):
                fname = path + action.index
            else:
                fname = path
                if action.types is not None:
                    mtype = self.router.conf.mime.get(st.extension(path).lower(), "")
                    if not action.types(mtype):
                        status = 403
                        continue
            try:
                fd, info = st.open_file(fname, chroot, follow, traverse,
                                        self.router.identity)
            except OSError as e:
                if e.errno in st.NOT_FOUND_ERRNOS:
                    status = 404
                    continue
                if e.errno in st.FORBIDDEN_ERRNOS:
                    log.error('opening "%s" failed (%d: %s)'
                              % (fname, e.errno, os.strerror(e.errno)))
                    status = 403
                    continue
                log.alert('opening "%s" failed (%d: %s)'
                          % (fname, e.errno, os.strerror(e.errno)))
                return self.send(500, [("Content-Type", "text/html")], error_page(500),
                                 close=True)
            try:
                if stat.S_ISREG(info.st_mode):
                    return await self.send_file(fd, info, fname, mtype, keep, resp_headers)
                if stat.S_ISDIR(info.st_mode) and not path.endswith("/"):
                    loc = req.path + "/"
                    if req.query:
                        loc += "?" + req.query
                    return self.send(301, [("Location", loc)] + [
                        (n, v) for n, v in resp_headers if v is not None], b"",
                        close=not keep)
                log.error('"%s" is not a regular file' % fname)
                status = 404
            finally:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if action.fallback is not None:
            return await self.do_action(action.fallback, keep, resp_headers)
        return self.send(status, [("Content-Type", "text/html")], error_page(status),
                         close=not keep, head_only=head.method == "HEAD")

    async def do_action(self, action, keep, resp_headers):
        if action.kind == "share":
            return await self.do_share(action, keep, resp_headers)
        if action.kind == "return":
            return await self.do_return(action, keep, resp_headers)
        if action.kind == "pass":
            result = self.router.route(self.req, action.target, resp_headers)
            if result[0] == "app":
                await self.to_app(result[1], self.req.head, resp_headers)
                return DONE
            if result[0] == "action":
                return await self.do_action(result[1], keep, resp_headers)
            return self.send(result[1], [("Content-Type", "text/html")],
                             error_page(result[1]), close=not keep)
        return self.send(404, [("Content-Type", "text/html")], error_page(404),
                         close=not keep)

    async def send_file(self, fd, info, fname, mtype, keep, resp_headers):
        if mtype is None:
            mtype = self.router.conf.mime.get(st.extension(fname).lower(), "")
        headers = [("Last-Modified", http_date(info.st_mtime)),
                   ("ETag", '"%x-%x"' % (int(info.st_mtime), info.st_size))]
        if mtype:
            headers.append(("Content-Type", mtype))
        headers += [(n, v) for n, v in resp_headers if v is not None]
        head_only = self.req.head.method == "HEAD"
        size = info.st_size
        if head_only or size <= 1 << 20:
            body = b"" if head_only else _pread_all(fd, size)
            return self.send(200, headers, body, close=not keep, head_only=head_only,
                             length=size)
        keep = self.send(200, headers, b"", close=not keep, length=size)
        sent = 0
        while sent < size:
            chunk = os.pread(fd, min(1 << 17, size - sent), sent)
            if not chunk:
                log.error('file "%s" has changed while sending response to a client'
                          % fname)
                return False
            self.write(chunk)
            sent += len(chunk)
            await self.drain()
            if self.transport.is_closing():
                return False
        self.req.bytes = size
        return keep

    # -- applications --

    async def to_app(self, name, head, resp_headers):
        router = self.router
        conf = router.conf
        app = router.rt.apps.apps.get(name)
        if app is None:
            self.finish(self.send(404, [("Content-Type", "text/html")], error_page(404),
                                  close=True))
            return
        if head.content_length and head.content_length > conf.http["max_body_size"]:
            self.finish(self.send(413, [("Content-Type", "text/html")], error_page(413),
                                  close=True))
            return
        self.transport.pause_reading()
        proc = await app.get_process()
        if proc is None or self.transport.is_closing():
            has_body = bool(head.content_length) or head.chunked
            self.transport.resume_reading()
            keep = self.send(503, [("Content-Type", "text/html")], error_page(503),
                             close=has_body, head_only=head.method == "HEAD")
            self.finish(keep)
            return
        if head.expect_continue and (head.content_length or head.chunked):
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        cid = router.next_id
        router.next_id += 1
        websocket = _is_websocket(head)
        msg = {
            "op": "conn", "id": cid, "method": head.method, "target": head.target,
            "raw_path": head.raw_path, "path": self.req.path, "query": self.req.query,
            "version": head.version, "headers": head.headers,
            "host": self.req.host,
            "client": list(self.req.client), "server": list(self.server),
            "scheme": self.req.scheme,
            "content_length": head.content_length, "chunked": head.chunked,
            "websocket": websocket,
            "extra": base64.b64encode(bytes(self.buf)).decode(),
            "server_header": conf.server,
            "response_headers": resp_headers,
            "max_body_size": conf.http["max_body_size"],
            "body_read_timeout": conf.http["body_read_timeout"],
            "send_timeout": conf.http["send_timeout"],
            "ws_read_timeout": conf.ws["read_timeout"],
            "ws_keepalive_interval": conf.ws["keepalive_interval"],
            "ws_max_frame_size": conf.ws["max_frame_size"],
        }
        self.buf.clear()
        if self.tls:
            fd = await self.relay()
        else:
            fd = os.dup(self.transport.get_extra_info("socket").fileno())
        try:
            ok = app.send_conn(proc, cid, msg, fd)
        finally:
            os.close(fd)
        if not ok:
            self.transport.resume_reading()
            self.finish(self.send(503, [("Content-Type", "text/html")], error_page(503),
                                  close=True))
            return
        self.handed_off = True
        router.pending[cid] = self
        if not self.tls:
            # The application process owns the connection now; dropping the
            # router's descriptor does not close it.
            self.transport.close()

    async def relay(self):
        """TLS: hand the application one end of a socketpair and copy the
        decrypted bytes both ways; returns the descriptor to hand over."""
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        tls = self.transport

        class Plain(asyncio.Protocol):
            """The router's end of the socketpair."""

            def data_received(self, data):
                if not tls.is_closing():
                    tls.write(data)

            def connection_lost(self, exc):
                if not tls.is_closing():
                    tls.close()

        plain, dummy = await asyncio.get_running_loop().connect_accepted_socket(
            Plain, sock=a)

        def from_client(data):
            if not plain.is_closing():
                plain.write(data)

        # From now on this connection object only relays.
        self.data_received = from_client
        self.connection_lost = lambda exc: plain.close()
        tls.resume_reading()
        fd = os.dup(b.fileno())
        b.close()
        return fd


def _pread_all(fd, size):
    out, pos = [], 0
    while pos < size:
        chunk = os.pread(fd, size - pos, pos)
        if not chunk:
            break
        out.append(chunk)
        pos += len(chunk)
    return b"".join(out)


def _is_websocket(head):
    if head.method != "GET" or head.version != "1.1":
        return False
    if (head.header("upgrade") or "").lower() != "websocket":
        return False
    conn = [t.strip().lower() for t in (head.header("connection") or "").split(",")]
    return ("upgrade" in conn and bool(head.header("sec-websocket-key"))
            and (head.header("sec-websocket-version") or "") == "13")
