"""The control API (src/nxt_controller.c): /config, /status, /certificates,
/js_modules, /control/applications/NAME/restart and /.  Every reply is
pretty-printed JSON with "Connection: close", as Unit sends it."""

import asyncio
import copy

from . import SERVER
from . import confjson
from .certs import CertError
from .httpmsg import BadRequest, REASONS, http_date, normalize_path, parse_head, MAX_HEAD
from .log import log
from .validate import Invalid, int_parse, validate

OP_OK, OP_NOT_FOUND, OP_NOT_ALLOWED, OP_ERROR = range(4)


def _tokens(path):
    """nxt_conf_path_next_token() over "/a/b"."""
    return path[1:].split("/")


def get_path(root, path):
    """nxt_conf_get_path()"""
    value = root
    toks = _tokens(path)
    for i, tok in enumerate(toks):
        if tok == "":
            if i == len(toks) - 1:
                break
            return None
        if isinstance(value, dict):
            if tok not in value:
                return None
            value = value[tok]
        elif isinstance(value, list):
            idx = int_parse(tok)
            if idx < 0 or idx >= len(value):
                return None
            value = value[idx]
        else:
            return None
    return value


_MISSING = object()


def apply_op(root, path, value, post=False, delete=False):
    """nxt_conf_op_compile() + nxt_conf_clone(): (status, new_root)."""
    new = copy.deepcopy(root)
    node = new
    toks = _tokens(path)
    for i, tok in enumerate(toks):
        last = i == len(toks) - 1
        if isinstance(node, dict):
            child = node.get(tok, _MISSING)
        elif isinstance(node, list):
            idx = int_parse(tok)
            if idx < 0 or idx > 2147483647:
                return OP_NOT_FOUND, None
            child = node[idx] if idx < len(node) else _MISSING
        else:
            child = _MISSING
        if last:
            break
        if child is _MISSING:
            return OP_NOT_FOUND, None
        node = child
    if delete:
        if child is _MISSING:
            return OP_NOT_FOUND, None
        if isinstance(node, dict):
            del node[tok]
        else:
            del node[idx]
        return OP_OK, new
    if post:
        if child is _MISSING:
            return OP_NOT_FOUND, None
        if not isinstance(child, list):
            return OP_NOT_ALLOWED, None
        child.append(value)
        return OP_OK, new
    if isinstance(node, dict):
        node[tok] = value
    elif isinstance(node, list):
        if child is _MISSING:
            if idx > len(node):
                return OP_NOT_FOUND, None
            node.append(value)
        else:
            node[idx] = value
    else:
        # Unit fails to clone through a scalar: "Memory allocation failed."
        return OP_ERROR, None
    return OP_OK, new


class Reply:
    def __init__(self, status, body=None, title=None, detail=None, location=None):
        self.status = status
        self.body = body
        self.title = title
        self.detail = detail
        self.location = location

    def encode(self):
        if self.body is None:
            key = "success" if self.status < 400 else "error"
            obj = {key: self.title}
            if self.detail:
                obj["detail"] = self.detail
            if self.location is not None:
                obj["location"] = self.location
        else:
            obj = self.body
        body = confjson.to_bytes(confjson.pretty(obj))
        status = self.status if self.status in (200, 400, 404, 405) else 500
        return _head(status, body)


def _head(status, body):
    """Unit's controller header block, in its order."""
    line = "%d %s" % (status, REASONS[status])
    return ("HTTP/1.1 %s\r\nServer: %s\r\nDate: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (line, SERVER, http_date(), len(body))
            ).encode() + body


def not_found():
    return Reply(404, title="Value doesn't exist.")


class Controller:
    def __init__(self, rt):
        self.rt = rt
        self.lock = asyncio.Lock()

    async def handle(self, method, raw_path, body):
        try:
            path = normalize_path(raw_path)
        except BadRequest:
            return not_found()
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if path == "/config" or path.startswith("/config/"):
            return await self.config(method, path[7:] or "/", body)
        if path == "/status" or path.startswith("/status/"):
            if method != "GET":
                return Reply(405, title="Invalid method.")
            value = get_path(self.rt.status(), path[7:] or "/")
            if value is None:
                return Reply(404, title="Invalid path.")
            return Reply(200, value)
        if path == "/certificates" or path.startswith("/certificates/"):
            return await self.certificates(method, path[13:] or "/", body)
        if path == "/js_modules" or path.startswith("/js_modules/"):
            return self.js_modules(method, path[11:] or "/")
        if path.startswith("/control/"):
            return await self.control(method, path[9:])
        if path == "/":
            if method != "GET":
                return Reply(405, title="Invalid method.")
            return Reply(200, {"certificates": dict(self.rt.certs.info),
                               "js_modules": {},
                               "config": self.rt.conf,
                               "status": self.rt.status()})
        return not_found()

    async def config(self, method, path, body):
        if method == "GET":
            value = get_path(self.rt.conf, path)
            if value is None:
                return not_found()
            return Reply(200, value)
        post = method == "POST"
        if post and path == "/":
            return Reply(405, title="Method isn't allowed.")
        if method in ("PUT", "POST"):
            try:
                value = confjson.parse(body)
            except confjson.JSONError as e:
                loc = {"offset": e.pos}
                lc = confjson.position(body, e.pos)
                if lc is not None:
                    loc["line"], loc["column"] = lc
                return Reply(400, title="Invalid JSON.", detail=e.detail, location=loc)
            async with self.lock:
                if path == "/":
                    new = value
                else:
                    rc, new = apply_op(self.rt.conf, path, value, post=post)
                    if rc != OP_OK:
                        return self._op_error(rc)
                return await self._apply(new)
        if method == "DELETE":
            async with self.lock:
                if path == "/":
                    new = {}
                else:
                    rc, new = apply_op(self.rt.conf, path, None, delete=True)
                    if rc != OP_OK:
                        return self._op_error(rc)
                return await self._apply(new)
        return Reply(405, title="Method isn't allowed.")

    def _op_error(self, rc):
        if rc == OP_NOT_FOUND:
            return not_found()
        if rc == OP_NOT_ALLOWED:
            return Reply(405, title="Method isn't allowed.")
        return Reply(500, title="Memory allocation failed.")

    async def _apply(self, new):
        try:
            validate(new, self.rt.modules, self.rt.certs.names())
        except Invalid as e:
            return Reply(400, title="Invalid configuration.", detail=str(e))
        if await self.rt.apply(new):
            return Reply(200, title="Reconfiguration done.")
        return Reply(500, title="Failed to apply new configuration.")

    async def certificates(self, method, path, body):
        certs = self.rt.certs
        name, sep, rest = path[1:].partition("/")
        sub = "/" + rest if sep else None
        if method == "GET":
            if not name:
                return Reply(200, dict(certs.info))
            if name not in certs.info:
                return Reply(404, title="Certificate doesn't exist.")
            value = certs.info[name]
            if sub is not None:
                value = get_path(value, sub)
                if value is None:
                    return Reply(404, title="Invalid path.")
            return Reply(200, value)
        if not name or sub is not None:
            return Reply(400, title="Invalid certificate name.")
        async with self.lock:
            if method == "PUT":
                if name in certs.info:
                    return Reply(400, title="Certificate already exists.")
                try:
                    certs.save(name, body)
                except CertError as e:
                    log.alert(str(e))
                    return Reply(400, title="Invalid certificate.")
                except OSError:
                    return Reply(500, title="Failed to store certificate.")
                return Reply(200, title="Certificate chain uploaded.")
            if method == "DELETE":
                if self._cert_in_use(name):
                    return Reply(400, title="Certificate is used in the configuration.")
                if not certs.delete(name):
                    return Reply(404, title="Certificate doesn't exist.")
                return Reply(200, title="Certificate deleted.")
        return Reply(405, title="Invalid method.")

    def _cert_in_use(self, name):
        for lconf in (self.rt.conf.get("listeners") or {}).values():
            cert = ((lconf or {}).get("tls") or {}).get("certificate")
            if cert == name or (isinstance(cert, list) and name in cert):
                return True
        return False

    def js_modules(self, method, path):
        name, sep, rest = path[1:].partition("/")
        if method == "GET":
            if not name:
                return Reply(200, {})
            return Reply(404, title="JS module doesn't exist.")
        if not name or sep:
            return Reply(400, title="Invalid JS module name.")
        if method == "PUT":
            return Reply(400, title="Invalid JS module.",
                         detail="The test stand-in does not implement JS modules.")
        if method == "DELETE":
            return Reply(404, title="JS module doesn't exist.")
        return Reply(405, title="Invalid method.")

    async def control(self, method, path):
        if method != "GET":
            return Reply(405, title="Method isn't allowed.")
        if not path.startswith("applications/") or not path.endswith("/restart") \
                or len(path) < 13 + 8:
            return not_found()
        name = path[13:-8]
        apps = self.rt.conf.get("applications")
        if not isinstance(apps, dict) or name not in apps:
            return not_found()
        async with self.lock:
            await self.rt.apps.restart(name)
        return Reply(200, title="Ok")


class ControlConn(asyncio.Protocol):
    """One control API request per connection."""

    def __init__(self, controller):
        self.c = controller
        self.buf = bytearray()
        self.head = None
        self.transport = None
        self.need = None
        self.done = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.done:
            return
        self.buf += data
        if self.head is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._bad()
                return
            try:
                self.head = parse_head(bytes(self.buf[:end + 4]), False)
            except BadRequest:
                self._bad()
                return
            del self.buf[:end + 4]
            if self.head.expect_continue:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._body()
        if body is not None:
            self.done = True
            asyncio.get_running_loop().create_task(self._run(body))

    def _body(self):
        h = self.head
        if h.chunked:
            out, pos, buf = bytearray(), 0, self.buf
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                try:
                    size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                except ValueError:
                    return bytes(out)
                if size == 0:
                    return bytes(out)
                if len(buf) < eol + 2 + size + 2:
                    return None
                out += buf[eol + 2:eol + 2 + size]
                pos = eol + 2 + size + 2
        n = h.content_length or 0
        if len(self.buf) < n:
            return None
        return bytes(self.buf[:n])

    def _bad(self):
        self.done = True
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                             b"Content-Length: 0\r\n\r\n")
        self.transport.close()

    async def _run(self, body):
        try:
            reply = await self.c.handle(self.head.method, self.head.raw_path, body)
            data = reply.encode()
        except Exception as e:   # keep the control API answering
            log.alert("control API request failed: %r" % (e,))
            data = Reply(500, title="Memory allocation failed.").encode()
        if not self.transport.is_closing():
            self.transport.write(data)
            self.transport.close()
