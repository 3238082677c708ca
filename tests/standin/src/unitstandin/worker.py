"""Application side of the NGINX Unit TEST STAND-IN (not NGINX Unit).

This file runs under the application's own interpreter (home/bin/python3.X or
/usr/bin/python3.X) as the application user, so it uses the standard library
only and imports nothing from the unitd package.  unitd does not exec it by
path: it passes the source through an inherited descriptor, so the file need
not be readable by the application user.

Two roles, like Unit's processes:
  prototype  - one per application; forks the application processes and
               reports their exit codes ("app process N exited with code C").
  application- imports the module once, runs one asyncio loop, and serves the
               client connections the router hands over (the accepted socket
               travels over a unix socketpair with SCM_RIGHTS together with the
               request head the router already parsed).  It writes the response
               itself and closes the connection (no keep-alive after an
               application response: a documented simplification).

Behaviour copied from Unit 1.34.2's Python module (src/python/*.c): ASGI 3 and
legacy ASGI 2 detection, lifespan with "ASGI Lifespan processing exception" at
info level, the extra http.request message after the request body (the 1.34.2
bug that breaks Django 5; not when built as 1.35.0, which fixed it), scope fields (client port 0, server port 80),
"Python failed to call 'future.result()'" + 503, WSGI for apps that are not
ASGI.
"""

import asyncio
import base64
import hashlib
import inspect
import io
import json
import os
import posixpath
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback

MAX_MSG = 1 << 18
LOG_FD = 2            # replaced by the descriptor unitd passes
REQ_BODY_CHUNK = 32 * 1024 * 1024   # nxt_py_asgi_http_body_buf_size
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
    205: "Reset Content", 206: "Partial Content", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Found", 303: "See Other",
    304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed",
    413: "Payload Too Large", 414: "URI Too Long",
    415: "Unsupported Media Type", 416: "Range Not Satisfiable",
    417: "Expectation Failed", 422: "Unprocessable Entity",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


# ---- logging (Unit's two log formats) ---------------------------------------

_OWN_FILE = (lambda: None).__code__.co_filename


def _write_log(text):
    data = text.encode("utf-8", "surrogateescape")
    try:
        os.write(LOG_FD, data)
    except OSError:
        pass


def log_core(level, msg):
    """nxt_log() format, used by Unit before libunit is initialised."""
    pid = os.getpid()
    _write_log("%s [%s] %d#%d %s\n" % (time.strftime("%Y/%m/%d %H:%M:%S"),
                                       level, pid, pid, msg))


def log_unit(level, msg, req_id=None):
    """nxt_unit_log() / nxt_unit_req_log() format."""
    now = time.time()
    pid = os.getpid()
    tid = threading.get_native_id() if hasattr(threading, "get_native_id") else pid
    prefix = "%s.%03d [%s] %d#%d [unit] " % (
        time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now)),
        int(now * 1000) % 1000, level, pid, tid)
    if req_id is not None:
        prefix += "#%d: " % req_id
    _write_log(prefix + msg + "\n")


def _own_frame(tb):
    fn = tb.tb_frame.f_code.co_filename
    return fn == _OWN_FILE or "/asyncio/" in fn or fn.startswith("<frozen")


def print_exception(exc):
    """PyErr_Print() to stderr.  Frames of this file and of asyncio at the
    top of the traceback are dropped, so that the output starts at the
    application's code as it does under Unit."""
    tb = exc.__traceback__
    while tb is not None and _own_frame(tb):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:
        pass


# ---- channel to unitd: SOCK_SEQPACKET, one JSON message (+fds) each ---------

def send_msg(sock, msg, fds=()):
    data = json.dumps(msg).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def recv_msg(sock):
    """Returns (msg, fds); msg None on EOF."""
    data, fds, flags, dummy = socket.recv_fds(sock, MAX_MSG, 8)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(data.decode()), fds


# ---- prototype --------------------------------------------------------------

def prototype_main(ctl_fd, log_fd, cfg_fd):
    global LOG_FD
    LOG_FD = log_fd
    with os.fdopen(cfg_fd, "rb") as f:
        cfg = json.loads(f.read().decode())
    name = cfg["name"]
    ctl = socket.socket(fileno=ctl_fd)
    log_core("info", '"%s" prototype started' % name)

    children = {}
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.signal(signal.SIGTERM, lambda *a: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    sel = selectors.DefaultSelector()
    sel.register(ctl, selectors.EVENT_READ, "ctl")
    sel.register(rfd, selectors.EVENT_READ, "sig")
    quitting = False

    def reap():
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.pop(pid, None)
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                log_core("alert", "app process %d exited on signal %d" % (pid, sig))
                code, sig_ = None, sig
            else:
                code, sig_ = os.WEXITSTATUS(status), None
                log_core("notice", "app process %d exited with code %d" % (pid, code))
            try:
                send_msg(ctl, {"op": "exited", "pid": pid, "code": code,
                               "signal": sig_})
            except OSError:
                pass

    while True:
        if quitting and not children:
            os._exit(0)
        for key, dummy in sel.select(1.0 if quitting else None):
            if key.data == "sig":
                try:
                    os.read(rfd, 512)
                except OSError:
                    pass
                reap()
                continue
            try:
                msg, fds = recv_msg(ctl)
            except OSError:
                msg, fds = None, []
            if msg is None:
                # unitd went away: take the application processes with us.
                quitting = True
                sel.unregister(ctl)
                for pid in list(children):
                    _kill(pid, signal.SIGTERM)
                continue
            op = msg.get("op")
            if op == "spawn":
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                pid = os.fork()
                if pid == 0:
                    try:
                        sel.close()
                        os.close(rfd)
                        os.close(wfd)
                        ctl.close()
                        a.close()
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        signal.signal(signal.SIGTERM, signal.SIG_DFL)
                        app_main(b, cfg)
                    except SystemExit as e:
                        os._exit(e.code if isinstance(e.code, int) else 1)
                    except BaseException as e:   # never return into the loop
                        print_exception(e)
                        os._exit(1)
                    os._exit(0)
                b.close()
                children[pid] = True
                send_msg(ctl, {"op": "spawned", "pid": pid}, [a.fileno()])
                a.close()
            elif op == "logfd":
                if fds:
                    os.dup2(fds[0], LOG_FD)
                    os.dup2(fds[0], 2)
            elif op == "quit":
                quitting = True
                # A graceful quit lets each process drain on its own.
                if not msg.get("graceful"):
                    for pid in list(children):
                        _kill(pid, signal.SIGTERM)
            for fd in fds:
                os.close(fd)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---- application process ----------------------------------------------------

BAD_HOME_DUMP = """Python path configuration:
  PYTHONHOME = '{home}'
  PYTHONPATH = (not set)
  program name = 'python3'
  isolated = 1
  environment = 0
  user site = 0
  safe_path = 1
  import site = 1
  is in build tree = 0
  stdlib dir = '{stdlib}'
  sys._base_executable = '/usr/bin/python3'
  sys.base_prefix = '{home}'
  sys.base_exec_prefix = '{home}'
  sys.platlibdir = 'lib'
  sys.executable = '/usr/bin/python3'
  sys.prefix = '{home}'
  sys.exec_prefix = '{home}'
  sys.path = [
    '{zip}',
    '{stdlib}',
    '{stdlib}/lib-dynload',
  ]
"""


def app_main(chan, cfg):
    name = cfg["name"]
    log_core("info", '"%s" application started' % name)

    if cfg.get("bad_home"):
        # What libpython prints when PYTHONHOME does not hold a stdlib;
        # Unit then gives up with "Failed to initialise config".
        home, short = cfg["home"], cfg["short_version"]
        os.write(2, BAD_HOME_DUMP.format(
            home=home,
            stdlib=posixpath.join(home, "lib", "python" + short),
            zip=posixpath.join(home, "lib", "python%s.zip" % short.replace(".", ""))
        ).encode())
        log_core("alert", "Failed to initialise config")
        os._exit(1)

    # stdout/stderr options (honoured in daemon mode, like Unit).
    for key, fd in (("stdout", 1), ("stderr", 2)):
        path = cfg.get(key)
        if path:
            try:
                f = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as e:
                log_core("alert", 'open("%s") failed (%d: %s)' % (path, e.errno, e.strerror))
                os._exit(1)
            os.dup2(f, fd)
            os.close(f)

    wd = cfg.get("working_directory")
    if wd:
        try:
            os.chdir(wd)
        except OSError as e:
            log_core("alert", 'chdir(%s) failed %d' % (wd, e.errno))
            os._exit(1)

    for k, v in (cfg.get("environment") or {}).items():
        os.environ[k] = v

    paths = cfg.get("path")
    if isinstance(paths, str):
        paths = [paths]
    for p in reversed(paths or []):
        sys.path.insert(0, p)
    if cfg.get("thread_stack_size"):
        try:
            threading.stack_size(cfg["thread_stack_size"])
        except (ValueError, RuntimeError):
            pass

    module_name = cfg["module"]
    callable_name = cfg.get("callable") or "application"
    try:
        __import__(module_name)
        module = sys.modules[module_name]
    except BaseException as e:
        log_core("alert", 'Python failed to import module "%s"' % module_name)
        print_exception(e)
        os._exit(1)

    obj = getattr(module, callable_name, None)
    if obj is None:
        log_core("alert", 'Python failed to get "%s" from module "%s"'
                 % (callable_name, module_name))
        os._exit(1)
    if cfg.get("factory"):
        try:
            obj = obj()
        except BaseException as e:
            log_core("alert", 'Python failed to call the factory "%s" of module "%s"'
                     % (callable_name, module_name))
            print_exception(e)
            os._exit(1)
    if not callable(obj):
        log_core("alert", '"%s" in module "%s" is not a callable object'
                 % (callable_name, module_name))
        os._exit(1)

    protocol = cfg.get("protocol")
    if protocol is None:
        protocol = "asgi" if asgi_check(obj) else "wsgi"

    server = AppServer(chan, cfg, obj, protocol)
    code = server.run()
    os._exit(code)


def _asgi_func(obj):
    """nxt_python_asgi_get_func()"""
    if inspect.isfunction(obj):
        return obj
    if inspect.ismethod(obj):
        return obj.__func__
    call = getattr(obj, "__call__", None)
    if call is None:
        return None
    if inspect.isfunction(call):
        return call
    if inspect.ismethod(call) and inspect.isfunction(call.__func__):
        return call.__func__
    return None


def asgi_check(obj):
    func = _asgi_func(obj)
    if func is None:
        return False
    code = func.__code__
    return bool(code.co_flags & inspect.CO_COROUTINE) or code.co_argcount == 1


def asgi_legacy(obj):
    func = _asgi_func(obj)
    if func is None:
        return False
    return not (func.__code__.co_flags & inspect.CO_COROUTINE)


def http_date(t=None):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def error_page(status):
    return ("<!DOCTYPE html><title>Error %03d</title><p>Error %03d.\r\n"
            % (status, status)).encode()


class ClientGone(Exception):
    pass


class Conn:
    """One handed-over client connection."""

    def __init__(self, server, msg, sock):
        self.server = server
        self.msg = msg
        self.sock = sock
        self.id = msg["id"]
        self.reader = None
        self.writer = None
        self.extra = base64.b64decode(msg.get("extra") or "")
        self.status = 0
        self.bytes_sent = 0
        self.closed = False

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(sock=self.sock)
        if self.extra:
            # Bytes the router read past the request head come first.
            buf = self.reader._buffer
            buf[0:0] = self.extra
            self.extra = b""

    async def read(self, n):
        data = await self.reader.read(n)
        return data

    async def readexactly(self, n):
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise ClientGone()

    async def readline(self):
        line = await self.reader.readline()
        if not line.endswith(b"\n"):
            raise ClientGone()
        return line

    def write(self, data):
        if self.closed:
            raise ClientGone()
        self.writer.write(data)
        self.bytes_sent += len(data)

    async def drain(self):
        try:
            await asyncio.wait_for(self.writer.drain(),
                                   self.msg.get("send_timeout", 30))
        except (ConnectionError, asyncio.TimeoutError):
            self.closed = True
            raise ClientGone()

    def header_block(self, status, headers, extra=()):
        """Status line, the application's headers, then Server and Date the
        way Unit's router adds them."""
        self.status = status
        headers = list(headers)
        # "response_headers" of the route action replace (null: remove).
        for n, v in self.msg.get("response_headers") or []:
            headers = [h for h in headers if h[0].lower() != n.lower()]
            if v is not None:
                headers.append((n, v))
        out = ["HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, ""))]
        names = set()
        for n, v in headers:
            out.append("%s: %s\r\n" % (n, v))
            names.add(n.lower())
        if "server" not in names:
            out.append("Server: %s\r\n" % self.msg["server_header"])
        if "date" not in names:
            out.append("Date: %s\r\n" % http_date())
        out.extend("%s: %s\r\n" % hv for hv in extra)
        return "".join(out).encode("latin-1", "replace")

    async def send_error(self, status):
        body = error_page(status)
        head = ("HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nServer: %s\r\n"
                "Date: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (status, REASONS.get(status, ""), self.msg["server_header"],
                   http_date(), len(body))).encode()
        self.status = status
        try:
            self.write(head + body)
            await self.drain()
        except ClientGone:
            pass

    def close(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                pass
        else:
            self.sock.close()
        self.closed = True


class AppServer:
    def __init__(self, chan, cfg, app, protocol):
        self.chan = chan
        self.cfg = cfg
        self.app = app
        self.protocol = protocol
        self.legacy = protocol == "asgi" and asgi_legacy(app)
        self.conns = {}
        self.loop = None
        self.quit = None
        self.lifespan = None
        self.requests_done = 0
        self.retiring = False
        self.hard_quit = False
        limits = cfg.get("limits") or {}
        self.max_requests = limits.get("requests")
        self.timeout = limits.get("timeout")
        self.executor = None
        self.prefix = cfg.get("prefix")

    def run(self):
        try:
            return asyncio.run(self.main())
        except KeyboardInterrupt:
            return 0

    async def main(self):
        self.loop = asyncio.get_running_loop()
        self.quit = self.loop.create_future()
        self.chan.setblocking(False)
        self.loop.add_signal_handler(signal.SIGTERM, self.stop)
        self.loop.add_signal_handler(signal.SIGINT, self.stop)
        if self.protocol == "wsgi":
            import concurrent.futures
            self.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(1, self.cfg.get("threads") or 1))
        else:
            self.lifespan = Lifespan(self)
            await self.lifespan.startup()
            if self.lifespan.failed:
                return 1
        self.loop.add_reader(self.chan.fileno(), self.on_chan)
        send_msg(self.chan, {"op": "ready"})
        graceful = await self.quit
        if graceful:
            # Reconfiguration or restart: serve every request in progress,
            # open WebSockets included, to its end (as libunit's graceful
            # quit does), while unitd sends new requests elsewhere.
            while self.conns and not self.hard_quit:
                await asyncio.sleep(0.1)
        self.loop.remove_reader(self.chan.fileno())
        # Shutting down: let plain HTTP requests finish; WebSockets are closed.
        deadline = time.monotonic() + 3
        while self.conns and time.monotonic() < deadline:
            for c in list(self.conns.values()):
                if getattr(c, "ws", None) is not None:
                    c.ws.going_away()
            await asyncio.sleep(0.05)
        for c in list(self.conns.values()):
            c.close()
        if self.lifespan is not None:
            await self.lifespan.shutdown()
        return 0

    def stop(self):
        self.hard_quit = True
        if not self.quit.done():
            self.quit.set_result(False)

    def drain(self):
        if not self.quit.done():
            self.quit.set_result(True)

    def on_chan(self):
        while True:
            try:
                msg, fds = recv_msg(self.chan)
            except BlockingIOError:
                return
            except OSError:
                msg, fds = None, []
            if msg is None:
                self.stop()
                return
            op = msg.get("op")
            if op == "conn" and fds:
                sock = socket.socket(fileno=fds[0])
                sock.setblocking(False)
                conn = Conn(self, msg, sock)
                self.conns[conn.id] = conn
                self.loop.create_task(self.handle(conn))
                fds = fds[1:]
            elif op == "logfd" and fds:
                os.dup2(fds[0], LOG_FD)
                if self.cfg.get("stderr_is_log", True):
                    os.dup2(fds[0], 2)
            elif op == "quit":
                if msg.get("graceful"):
                    self.drain()
                else:
                    self.stop()
            for fd in fds:
                os.close(fd)

    async def handle(self, conn):
        try:
            await conn.open()
            if self.protocol == "wsgi":
                await WsgiRequest(self, conn).run()
            elif conn.msg.get("websocket"):
                await WebSocketRequest(self, conn).run()
            else:
                await HttpRequest(self, conn).run()
        except ClientGone:
            pass
        except Exception as e:   # a bug in the stand-in, not in the app
            log_unit("alert", "stand-in worker error: %r" % (e,), conn.id)
            print_exception(e)
        finally:
            conn.close()
            self.conns.pop(conn.id, None)
            self.requests_done += 1
            try:
                send_msg(self.chan, {"op": "done", "id": conn.id,
                                     "status": conn.status,
                                     "bytes": conn.bytes_sent})
            except OSError:
                pass
            if (self.max_requests and self.requests_done >= self.max_requests
                    and not self.retiring):
                # limits.requests: unitd stops dispatching to this process and
                # answers with "quit", after any request already on its way.
                self.retiring = True
                try:
                    send_msg(self.chan, {"op": "retire"})
                except OSError:
                    self.stop()

    def scope_base(self, conn, type_, scheme):
        m = conn.msg
        scope = {
            "type": type_,
            "asgi": {"version": "3.0", "spec_version": "2.1"},
            "http_version": m["version"],
            "scheme": scheme,
            "path": m["path"],
            "raw_path": m["raw_path"].encode("latin-1"),
            "query_string": m["query"].encode("latin-1"),
            # Unit reports port 0 for the client and 80 for the server.
            "client": (m["client"][0], 0),
            "server": (m["server"][0], 80),
            "headers": tuple((n.lower().encode("latin-1"), v.encode("latin-1"))
                             for n, v in m["headers"]),
        }
        if type_ == "http":
            scope["method"] = m["method"]
        p = self.prefix
        if p and (m["path"] == p or m["path"].startswith(p + "/")):
            scope["root_path"] = p
        if self.lifespan is not None:
            scope["state"] = dict(self.lifespan.state)
        return scope

    async def call_app(self, scope, receive, send):
        if self.legacy:
            inst = self.app(scope)
            return await inst(receive, send)
        return await self.app(scope, receive, send)


class Lifespan:
    def __init__(self, server):
        self.server = server
        self.state = {}
        self.failed = False
        self.disabled = False
        self.startup_done = None
        self.shutdown_done = None
        self.task = None
        self.queue = None

    async def startup(self):
        loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()
        self.startup_done = loop.create_future()
        self.shutdown_done = loop.create_future()
        scope = {"type": "lifespan",
                 "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        self.queue.put_nowait({"type": "lifespan.startup"})
        self.task = loop.create_task(self.server.call_app(scope, self.receive, self.send))
        self.task.add_done_callback(self.done)
        await self.startup_done

    async def receive(self):
        return await self.queue.get()

    async def send(self, msg):
        t = msg.get("type")
        if t == "lifespan.startup.complete":
            _set(self.startup_done, None)
        elif t == "lifespan.startup.failed":
            self.failed = True
            log_unit("alert", "Application startup failed: %s" % msg.get("message", ""))
            _set(self.startup_done, None)
        elif t in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            _set(self.shutdown_done, None)
        else:
            raise RuntimeError("Got invalid state transition on lifespan protocol")

    def done(self, task):
        if not self.startup_done.done():
            self.disabled = True
        if not task.cancelled() and task.exception() is not None:
            log_unit("info", "ASGI Lifespan processing exception")
            print_exception(task.exception())
        _set(self.startup_done, None)
        _set(self.shutdown_done, None)

    async def shutdown(self):
        if self.disabled or self.task is None or self.task.done():
            return
        self.queue.put_nowait({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(asyncio.shield(self.shutdown_done), 5)
        except asyncio.TimeoutError:
            self.task.cancel()


def _set(fut, value):
    if fut is not None and not fut.done():
        fut.set_result(value)


# ---- HTTP over ASGI ---------------------------------------------------------

async def read_body(conn):
    """Unit's router reads the whole request body before the application
    sees the request; so does the stand-in."""
    m = conn.msg
    limit = m.get("max_body_size", 8 * 1024 * 1024)
    timeout = m.get("body_read_timeout", 30)
    if m.get("chunked"):
        parts, total = [], 0
        while True:
            line = await asyncio.wait_for(conn.readline(), timeout)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await asyncio.wait_for(conn.readline(), timeout)).strip():
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                raise BodyTooLarge()
            parts.append(await asyncio.wait_for(conn.readexactly(size), timeout))
            await asyncio.wait_for(conn.readexactly(2), timeout)
    length = m.get("content_length") or 0
    if length > limit:
        raise BodyTooLarge()
    if not length:
        return b""
    return await asyncio.wait_for(conn.readexactly(length), timeout)


class BodyTooLarge(Exception):
    pass


class HttpRequest:
    def __init__(self, server, conn):
        self.server = server
        self.conn = conn
        self.body = b""
        self.body_pos = 0
        self.had_body = False
        self.extra_sent = False
        self.first_sent = False
        self.started = False
        self.headers_sent = False
        self.complete = False
        self.disconnected = False
        self.receive_waiter = None
        self.status = None
        self.headers = []
        self.content_length = None
        self.chunked = False
        self.head_only = conn.msg["method"] == "HEAD"
        self.watch = None

    async def run(self):
        conn = self.conn
        try:
            self.body = await read_body(conn)
        except BodyTooLarge:
            await conn.send_error(413)
            return
        except (asyncio.TimeoutError, ValueError):
            await conn.send_error(408)
            return
        self.had_body = len(self.body) > 0
        self.watch = asyncio.get_running_loop().create_task(self.watch_disconnect())
        scope = self.server.scope_base(conn, "http", conn.msg["scheme"])
        app = self.server.call_app(scope, self.receive, self.send)
        try:
            if self.server.timeout:
                await asyncio.wait_for(app, self.server.timeout)
            else:
                await app
        except ClientGone:
            return
        except asyncio.TimeoutError:
            log_unit("error", "application request timed out", conn.id)
            if not self.headers_sent:
                await conn.send_error(503)
            return
        except Exception as e:
            log_unit("error", "Python failed to call 'future.result()'", conn.id)
            print_exception(e)
            if not self.headers_sent:
                await conn.send_error(503)
            return
        finally:
            self.watch.cancel()
        if not self.started:
            await conn.send_error(503)
            return
        if not self.complete:
            await self.finish()

    async def watch_disconnect(self):
        try:
            while True:
                data = await self.conn.read(65536)
                if not data:
                    break
        except (ConnectionError, OSError):
            pass
        self.disconnected = True
        self.conn.closed = True
        self.wake({"type": "http.disconnect"})

    def wake(self, msg):
        w, self.receive_waiter = self.receive_waiter, None
        if w is not None and not w.done():
            w.set_result(msg)

    async def receive(self):
        if self.disconnected or self.complete:
            return {"type": "http.disconnect"}
        total = len(self.body)
        if self.body_pos < total or not self.first_sent:
            self.first_sent = True
            chunk = self.body[self.body_pos:self.body_pos + REQ_BODY_CHUNK]
            self.body_pos += len(chunk)
            msg = {"type": "http.request"}
            if chunk:
                msg["body"] = chunk
            if self.body_pos < total:
                msg["more_body"] = True
            return msg
        if self.had_body and not self.extra_sent and self.server.cfg.get("unit_vernum", 13402) < 13500:
            # NGINX Unit 1.34.2 hands out one more empty http.request after
            # the body (unit#1561, fixed in 1.35.0 by unit#1563); Django >= 5
            # asserts on it, Django 4.2, Daphne and Uvicorn-based apps do not
            # notice.
            self.extra_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        fut = asyncio.get_running_loop().create_future()
        self.receive_waiter = fut
        return await fut

    async def send(self, msg):
        t = msg.get("type")
        if not isinstance(t, str):
            log_unit("error", "asgi_http_send: 'type' is not a unicode string",
                     self.conn.id)
            raise TypeError("'type' is not a unicode string")
        if self.started:
            if t != "http.response.body":
                raise RuntimeError("Expected ASGI message 'http.response.body', "
                                   "but got '%s'" % t)
            return await self.response_body(msg)
        if t != "http.response.start":
            raise RuntimeError("Expected ASGI message 'http.response.start', "
                               "but got '%s'" % t)
        status = msg.get("status")
        if not isinstance(status, int):
            log_unit("error", "asgi_http_response_start: 'status' is not an integer",
                     self.conn.id)
            raise TypeError("'status' is not an integer")
        headers = []
        for i, h in enumerate(msg.get("headers") or ()):
            h = list(h)
            if len(h) < 1 or not isinstance(h[0], bytes):
                raise TypeError("'headers' item #%d 'name' is not a byte string" % i)
            if len(h) < 2 or not isinstance(h[1], bytes):
                raise TypeError("'headers' item #%d 'value' is not a byte string" % i)
            name, value = h[0].decode("latin-1"), h[1].decode("latin-1")
            if name.lower() == "content-length":
                try:
                    self.content_length = int(value)
                except ValueError:
                    raise ValueError("Failed to parse Content-Length: '%s'" % value)
            headers.append((name, value))
        self.status = status
        self.headers = headers
        self.started = True

    def send_headers(self):
        extra = []
        if self.status in (204, 304) or self.status < 200:
            self.head_only = True          # these never carry a body
        elif self.content_length is None and self.conn.msg["version"] == "1.1":
            # Unit sends the headers before it knows the body length.
            self.chunked = True
            extra.append(("Transfer-Encoding", "chunked"))
        extra.append(("Connection", "close"))
        self.conn.write(self.conn.header_block(self.status, self.headers, extra) + b"\r\n")
        self.headers_sent = True

    async def response_body(self, msg):
        if self.complete:
            raise RuntimeError("Unexpected ASGI message 'http.response.body' sent, "
                               "after response already completed")
        more = msg.get("more_body", False)
        if not isinstance(more, bool):
            raise TypeError("'more_body' is not a bool")
        body = msg.get("body", b"")
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError("'body' is not a byte string or bytearray")
        if self.content_length is not None:
            sent = getattr(self, "_sent", 0) + len(body)
            if sent > self.content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self._sent = sent
        if not self.headers_sent:
            self.send_headers()
        if body and not self.head_only:
            if self.chunked:
                self.conn.write(b"%x\r\n%s\r\n" % (len(body), bytes(body)))
            else:
                self.conn.write(bytes(body))
        if not more:
            await self.finish()
        else:
            await self.conn.drain()

    async def finish(self):
        if not self.headers_sent:
            self.send_headers()
        if self.chunked and not self.head_only:
            self.conn.write(b"0\r\n\r\n")
        self.complete = True
        await self.conn.drain()
        self.wake({"type": "http.disconnect"})


# ---- WebSocket over ASGI ----------------------------------------------------

WS_CONNECT, WS_ACCEPTED, WS_DISCONNECTED, WS_CLOSED = range(4)


class WebSocketRequest:
    def __init__(self, server, conn):
        self.server = server
        self.conn = conn
        conn.ws = self
        self.state = None          # None = before websocket.connect
        self.queue = asyncio.Queue()
        self.close_code = None
        self.close_sent = False
        m = conn.msg
        self.max_frame = m.get("ws_max_frame_size", 1048576)
        self.read_timeout = m.get("ws_read_timeout", 60)
        self.keepalive = m.get("ws_keepalive_interval", 30)
        self.last_rx = time.monotonic()
        self.reader_task = None

    async def run(self):
        conn = self.conn
        scope = self.server.scope_base(conn, "websocket",
                                       "wss" if conn.msg["scheme"] == "https" else "ws")
        protos = None
        for n, v in conn.msg["headers"]:
            if n.lower() == "sec-websocket-protocol" and v:
                protos = tuple(p.strip() for p in v.split(",") if p.strip())
        if protos:
            scope["subprotocols"] = protos
        try:
            await self.server.call_app(scope, self.receive, self.send)
            ok = True
        except ClientGone:
            ok = True
        except Exception as e:
            log_unit("error", "Python failed to call 'future.result()'", conn.id)
            print_exception(e)
            ok = False
        if self.state == WS_ACCEPTED and not self.close_sent:
            await self.send_close(1000 if ok else 1011)
        elif self.state in (None, WS_CONNECT) and not conn.closed:
            await conn.send_error(503 if not ok else 403)
        if self.reader_task is not None:
            if self.close_sent and not self.reader_task.done():
                # give the client a moment to answer our close frame
                try:
                    await asyncio.wait_for(asyncio.shield(self.reader_task), 1)
                except (asyncio.TimeoutError, Exception):
                    pass
            self.reader_task.cancel()

    def going_away(self):
        if self.state == WS_ACCEPTED and not self.close_sent:
            asyncio.get_running_loop().create_task(self.send_close(1001))

    async def receive(self):
        if self.state is None:
            self.state = WS_CONNECT
            return {"type": "websocket.connect"}
        if self.state == WS_CLOSED and self.queue.empty():
            log_unit("error", "receive() called for closed WebSocket", self.conn.id)
            raise RuntimeError("WebSocket already closed")
        return await self.queue.get()

    async def send(self, msg):
        t = msg.get("type")
        if not isinstance(t, str):
            raise TypeError("'type' is not a unicode string")
        if t == "websocket.accept":
            if self.state is None:
                raise RuntimeError("WebSocket connect not received")
            if self.state == WS_ACCEPTED:
                raise RuntimeError("WebSocket already accepted")
            if self.state == WS_DISCONNECTED:
                raise RuntimeError("WebSocket disconnected")
            if self.state == WS_CLOSED:
                raise RuntimeError("WebSocket already closed")
            key = ""
            for n, v in self.conn.msg["headers"]:
                if n.lower() == "sec-websocket-key":
                    key = v.strip()
            accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
            c = self.conn
            c.status = 101
            out = ["HTTP/1.1 101 Switching Protocols\r\n",
                   "Server: %s\r\n" % c.msg["server_header"],
                   "Date: %s\r\n" % http_date(),
                   "Upgrade: websocket\r\n", "Connection: Upgrade\r\n",
                   "Sec-WebSocket-Accept: %s\r\n" % accept]
            for h in msg.get("headers") or ():
                out.append("%s: %s\r\n" % (h[0].decode("latin-1"), h[1].decode("latin-1")))
            sub = msg.get("subprotocol")
            if isinstance(sub, str) and sub:
                out.append("Sec-WebSocket-Protocol: %s\r\n" % sub)
            out.append("\r\n")
            c.write("".join(out).encode("latin-1"))
            await c.drain()
            self.state = WS_ACCEPTED
            self.reader_task = asyncio.get_running_loop().create_task(self.read_frames())
            return
        if t == "websocket.close":
            if self.state is None:
                raise RuntimeError("WebSocket connect not received")
            if self.state == WS_DISCONNECTED:
                raise RuntimeError("WebSocket disconnected")
            if self.state == WS_CLOSED:
                raise RuntimeError("WebSocket already closed")
            code = msg.get("code", 1000)
            if not isinstance(code, int):
                raise TypeError("'code' is not integer")
            if self.state == WS_ACCEPTED:
                await self.send_close(code)
            else:
                # Closing before accept: Unit answers 403.
                c = self.conn
                c.write(c.header_block(403, [], [("Content-Length", "0"),
                                                 ("Connection", "close")]) + b"\r\n")
                await c.drain()
            self.state = WS_CLOSED
            return
        if t == "websocket.send":
            if self.state is None:
                raise RuntimeError("WebSocket connect not received")
            if self.state == WS_CONNECT:
                raise RuntimeError("WebSocket not accepted yet")
            if self.state == WS_DISCONNECTED:
                raise RuntimeError("WebSocket disconnected")
            if self.state == WS_CLOSED:
                raise RuntimeError("WebSocket already closed")
            data, text = msg.get("bytes"), msg.get("text")
            if data is not None and not isinstance(data, bytes):
                raise TypeError("'bytes' is not a byte string")
            if text is not None and not isinstance(text, str):
                raise TypeError("'text' is not a unicode string")
            if (data is None) == (text is None):
                raise ValueError("Exactly one of 'bytes' or 'text' must be non-None")
            if data is not None:
                await self.send_frame(0x2, data)
            else:
                await self.send_frame(0x1, text.encode("utf-8"))
            return
        log_unit("error", "asgi_websocket_send: unexpected 'type': '%s'" % t, self.conn.id)
        raise AssertionError("unexpected 'type': '%s'" % t)

    async def send_frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        self.conn.write(head + payload)
        await self.conn.drain()

    async def send_close(self, code):
        if self.close_sent:
            return
        self.close_sent = True
        try:
            await self.send_frame(0x8, struct.pack("!H", code))
        except ClientGone:
            pass

    def disconnect(self, code):
        if self.state in (WS_DISCONNECTED,):
            return
        if self.state == WS_ACCEPTED:
            self.state = WS_DISCONNECTED
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code})

    async def read_frames(self):
        keep = asyncio.get_running_loop().create_task(self.keepalive_loop())
        fragments, frag_op = [], None
        try:
            while True:
                b1, b2 = await self.conn.readexactly(2)
                self.last_rx = time.monotonic()
                fin, op = b1 & 0x80, b1 & 0x0F
                masked, n = b2 & 0x80, b2 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await self.conn.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await self.conn.readexactly(8))[0]
                if n > self.max_frame:
                    await self.send_close(1009)
                    self.disconnect(1009)
                    return
                mask = await self.conn.readexactly(4) if masked else None
                payload = await self.conn.readexactly(n) if n else b""
                if mask:
                    payload = _unmask(payload, mask)
                if op == 0x9:      # ping: the router answers, like Unit's
                    await self.send_frame(0xA, payload)
                    continue
                if op == 0xA:
                    continue
                if op == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    await self.send_close(code if code != 1005 else 1000)
                    self.disconnect(code)
                    return
                if op in (0x1, 0x2):
                    frag_op, fragments = op, [payload]
                elif op == 0x0:
                    fragments.append(payload)
                else:
                    await self.send_close(1002)
                    self.disconnect(1002)
                    return
                if fin:
                    data = b"".join(fragments)
                    if frag_op == 0x1:
                        self.queue.put_nowait({"type": "websocket.receive",
                                               "text": data.decode("utf-8", "replace")})
                    else:
                        self.queue.put_nowait({"type": "websocket.receive",
                                               "bytes": data})
                    fragments = []
        except (ClientGone, ConnectionError, OSError):
            self.disconnect(1006)
        finally:
            keep.cancel()

    async def keepalive_loop(self):
        while True:
            await asyncio.sleep(1)
            idle = time.monotonic() - self.last_rx
            if self.read_timeout and idle > self.read_timeout:
                self.conn.close()
                self.disconnect(1006)
                return
            if self.keepalive and idle > self.keepalive and int(idle) % self.keepalive == 0:
                try:
                    await self.send_frame(0x9, b"")
                except ClientGone:
                    return


def _unmask(payload, mask):
    n = len(payload)
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


# ---- WSGI -------------------------------------------------------------------

class WsgiRequest:
    def __init__(self, server, conn):
        self.server = server
        self.conn = conn

    async def run(self):
        conn = self.conn
        m = conn.msg
        try:
            body = await read_body(conn)
        except BodyTooLarge:
            await conn.send_error(413)
            return
        except (asyncio.TimeoutError, ValueError):
            await conn.send_error(408)
            return
        environ = {
            "REQUEST_METHOD": m["method"],
            "SCRIPT_NAME": "",
            "PATH_INFO": m["path"].encode("utf-8", "surrogateescape").decode("latin-1"),
            "QUERY_STRING": m["query"],
            "REQUEST_URI": m["target"],
            "SERVER_NAME": m.get("host") or m["server"][0],
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/" + m["version"],
            "SERVER_SOFTWARE": m["server_header"],
            "REMOTE_ADDR": m["client"][0],
            "SERVER_ADDR": m["server"][0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": m["scheme"],
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": (self.server.cfg.get("threads") or 1) > 1,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        p = self.server.prefix
        if p and (m["path"] == p or m["path"].startswith(p + "/")):
            environ["SCRIPT_NAME"] = p
            environ["PATH_INFO"] = environ["PATH_INFO"][len(p):]
        for n, v in m["headers"]:
            key = n.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = v
            else:
                key = "HTTP_" + key
                environ[key] = environ[key] + "," + v if key in environ else v
        loop = asyncio.get_running_loop()
        result = {}

        def call():
            status_headers = {}

            def start_response(status, headers, exc_info=None):
                status_headers["status"] = status
                status_headers["headers"] = headers
                return lambda data: result.setdefault("writes", []).append(data)

            it = self.server.app(environ, start_response)
            try:
                chunks = list(result.pop("writes", [])) + [bytes(c) for c in it]
            finally:
                if hasattr(it, "close"):
                    it.close()
            return status_headers, chunks

        try:
            sh, chunks = await loop.run_in_executor(self.server.executor, call)
        except Exception as e:
            log_unit("error", "Python failed to call the application", conn.id)
            print_exception(e)
            await conn.send_error(503)
            return
        if "status" not in sh:
            await conn.send_error(503)
            return
        status = int(sh["status"].split(" ", 1)[0])
        headers = list(sh["headers"])
        body = b"".join(chunks)
        extra = []
        if not any(n.lower() == "content-length" for n, v in headers):
            extra.append(("Content-Length", str(len(body))))
        extra.append(("Connection", "close"))
        conn.write(conn.header_block(status, headers, extra) + b"\r\n")
        if m["method"] != "HEAD":
            conn.write(body)
        await conn.drain()


# ---- entry point used by the bootstrap in unitd -----------------------------

def main(args):
    """args: ["prototype", ctl_fd, log_fd, cfg_fd] (see apps.BOOTSTRAP)."""
    sys.argv[:] = ["unit"]
    if args[0] == "prototype":
        prototype_main(int(args[1]), int(args[2]), int(args[3]))
