"""unitd: command line, daemonisation, the control socket, state storage
(<statedir>/conf.json) and signals.  One asyncio process (root) holds what
Unit splits into main, controller and router processes; applications run in
their own processes (see apps.py, worker.py)."""

import asyncio
import grp
import os
import pwd
import re
import signal
import socket
import sys

from . import STANDIN_NOTE, VERNUM, VERSION, confjson
from .apps import AppManager, discover
from .certs import CertStore
from .controller import ControlConn, Controller
from .log import log, line as log_line
from .router import BindError, Router
from .validate import Invalid, parse_sockaddr, validate

DEFAULTS = {
    "control": "unix:/var/run/control.unit.sock",
    "control_mode": "0600",
    "control_user": None,
    "control_group": None,
    "pid": "/var/run/unit.pid",
    "log": "/var/log/unit.log",
    "modulesdir": "/usr/lib/unit/modules",
    "statedir": "/var/lib/unit",
    "tmpdir": "/var/tmp",
    "user": "unit",
    "group": "unit",
}

CONFIGURE = (" --prefix=/usr --statedir=/var/lib/unit "
             "--control=unix:/var/run/control.unit.sock --runstatedir=/var/run "
             "--pid=/var/run/unit.pid --logdir=/var/log --log=/var/log/unit.log "
             "--tmpdir=/var/tmp --user=unit --group=unit "
             "--modulesdir=/usr/lib/unit/modules")

DEFAULT_CONF = {"listeners": {}, "routes": [], "applications": {}}

HELP = """
unit options:

  --version            print unit version and configure options

  --no-daemon          run unit in non-daemon mode

  --control ADDRESS    set address of control API socket
                       default: "{control}"

  --control-mode MODE  set mode of the control API socket
                       default: 0600

  --control-user USER    set the owner of the control API socket

  --control-group GROUP  set the group of the control API socket

  --pid FILE           set pid filename
                       default: "{pid}"

  --log FILE           set log filename
                       default: "{log}"

  --modulesdir DIR     set modules directory name
                       default: "{modulesdir}"

  --statedir DIR       set state directory name
                       default: "{statedir}"

  --tmpdir DIR         set tmp directory name
                       default: "{tmpdir}"

  --modules DIR        [deprecated] synonym for --modulesdir
  --state DIR          [deprecated] synonym for --statedir
  --tmp DIR            [deprecated] synonym for --tmpdir

  --user USER          set non-privileged processes to run as specified user
                       default: "{user}"

  --group GROUP        set non-privileged processes to run as specified group
                       default: "{group}"

This unitd is a TEST STAND-IN, not NGINX Unit (see
/usr/share/doc/unit/README.standin.md).
"""

OPTIONS = {
    "--control": ("control", "socket address"),
    "--control-mode": ("control_mode", "mode"),
    "--control-user": ("control_user", "username"),
    "--control-group": ("control_group", "group name"),
    "--user": ("user", "username"),
    "--group": ("group", "group name"),
    "--pid": ("pid", "filename"),
    "--log": ("log", "filename"),
    "--modulesdir": ("modulesdir", "directory"),
    "--modules": ("modulesdir", "directory"),
    "--statedir": ("statedir", "directory"),
    "--state": ("statedir", "directory"),
    "--tmpdir": ("tmpdir", "directory"),
    "--tmp": ("tmpdir", "directory"),
}


def parse_args(argv):
    opts = dict(DEFAULTS)
    opts["daemon"] = True
    it = iter(argv)
    for arg in it:
        if arg in OPTIONS:
            key, what = OPTIONS[arg]
            val = next(it, None)
            if val is None:
                sys.stderr.write('option "%s" requires %s\n' % (arg, what))
                sys.exit(1)
            opts[key] = val
        elif arg == "--no-daemon":
            opts["daemon"] = False
        elif arg == "--version":
            sys.stderr.write("unit version: %s\n%s\nconfigured as ./configure%s\n"
                             % (VERSION, STANDIN_NOTE, CONFIGURE))
            sys.exit(0)
        elif arg == "--help":
            sys.stdout.write(HELP.format(**DEFAULTS))
            sys.exit(0)
        else:
            sys.stderr.write('unknown option "%s"\n' % arg)
            sys.exit(1)
    return opts


class Runtime:
    def __init__(self, opts):
        self.opts = opts
        self.daemon = opts["daemon"]
        self.user = opts["user"]
        self.group = opts["group"]
        self.statedir = opts["statedir"]
        self.log = log
        self.modules = []
        self.conf = dict(DEFAULT_CONF)
        self.certs = CertStore(self.statedir, opts["tmpdir"])
        self.apps = AppManager(self)
        self.router = Router(self)
        self.apps.router = self.router
        self.controller = Controller(self)
        self.control_server = None
        self.control_path = None
        self.stopping = None

    # -- state --

    def status(self):
        mods = {}
        for m in self.modules:
            entry = {"version": m.version, "lib": m.file}
            if m.type in mods:
                if not isinstance(mods[m.type], list):
                    mods[m.type] = [mods[m.type]]
                mods[m.type].append(entry)
            else:
                mods[m.type] = entry
        return {"modules": mods,
                "connections": self.router.status(),
                "requests": {"total": self.router.stats.requests},
                "applications": self.apps.status()}

    def store(self):
        """Compact JSON, 0600, like Unit's conf.json (written atomically)."""
        path = os.path.join(self.statedir, "conf.json")
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(confjson.to_bytes(confjson.dumps(self.conf)))
        os.rename(tmp, path)
        vpath = os.path.join(self.statedir, "version")
        fd = os.open(vpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(str(VERNUM))

    async def apply(self, new, store=True):
        """Router + applications, all or nothing (Unit's router answers the
        controller "failed to apply new conf" and keeps the old one)."""
        if confjson.dumps(new) == confjson.dumps(self.conf):
            return True
        try:
            new_listeners = self.router.bind_new(new)
        except BindError:
            log.alert("failed to apply new conf")
            return False
        try:
            tls = self.router.tls_contexts(new, new_listeners)
        except BindError:
            self.router.discard(new_listeners)
            log.alert("failed to apply new conf")
            return False
        new_apps, started, ok = await self.apps.prepare(new.get("applications"))
        if not ok:
            self.router.discard(new_listeners)
            log.alert("failed to apply new conf")
            await self.apps.rollback(started)
            return False
        await self.router.commit(new, new_listeners, tls)
        self.conf = new
        await self.apps.commit(new_apps)
        if store:
            try:
                self.store()
            except OSError as e:
                log.alert("failed to store configuration: %s" % e)
        return True

    async def restore(self):
        path = os.path.join(self.statedir, "conf.json")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        except OSError:
            log.alert("failed to restore previous configuration: cannot read the file")
            return
        try:
            conf = confjson.parse(data)
        except confjson.JSONError:
            log.alert("failed to restore previous configuration: "
                      "file is corrupted or not enough memory")
            return
        try:
            validate(conf, self.modules, self.certs.names())
        except Invalid as e:
            log.alert("the previous configuration is invalid: %s" % e)
            return
        if not await self.apply(conf, store=False):
            log.alert("failed to apply previous configuration")

    # -- control socket --

    def control_socket(self):
        addr = self.opts["control"]
        if addr.startswith("unix:"):
            path = addr[5:]
            if not path:
                raise SystemExit('unix domain socket "%s" name is invalid' % addr)
            if path.startswith("@"):
                path = "\0" + path[1:]
            else:
                if os.path.exists(path):
                    probe = socket.socket(socket.AF_UNIX)
                    try:
                        probe.connect(path)
                        probe.close()
                        raise SystemExit('control socket "%s" is in use' % path)
                    except (ConnectionRefusedError, FileNotFoundError):
                        os.unlink(path)
                    except OSError:
                        os.unlink(path)
                    finally:
                        probe.close()
                self.control_path = path
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o077)
            try:
                sock.bind(path)
            finally:
                os.umask(old)
            if not path.startswith("\0"):
                # strtoul(mode, NULL, 8), as unitd parses it ("600" = 0600)
                digits = re.match(r"\s*[0-7]*", self.opts["control_mode"]).group(0)
                os.chmod(path, int(digits.strip() or "0", 8))
                uid = gid = -1
                try:
                    if self.opts["control_user"]:
                        uid = pwd.getpwnam(self.opts["control_user"]).pw_uid
                    if self.opts["control_group"]:
                        gid = grp.getgrnam(self.opts["control_group"]).gr_gid
                except KeyError as e:
                    raise SystemExit("control socket owner not found: %s" % e)
                if uid != -1 or gid != -1:
                    os.chown(path, uid, gid)
        else:
            sa = parse_sockaddr(addr if ":" in addr else "*:" + addr)
            if sa is None or sa[0] == "unix":
                raise SystemExit('invalid control socket address "%s"' % addr)
            fam = socket.AF_INET6 if sa[0] == "inet6" else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((sa[1], sa[2]))
        sock.listen(128)
        sock.setblocking(False)
        return sock

    # -- lifecycle --

    async def run(self, ready_cb):
        loop = asyncio.get_running_loop()
        self.stopping = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGUSR1, self.reopen_logs)
        loop.add_signal_handler(signal.SIGCHLD, self.apps.reap)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)

        self.modules = discover(self.opts["modulesdir"])
        for sub in ("certs", "scripts"):
            os.makedirs(os.path.join(self.statedir, sub), mode=0o700, exist_ok=True)
        self.certs.load()
        sock = self.control_socket()
        log.info("controller started")
        self.control_server = await (
            loop.create_unix_server(lambda: ControlConn(self.controller), sock=sock)
            if sock.family == socket.AF_UNIX else
            loop.create_server(lambda: ControlConn(self.controller), sock=sock))
        log.info("router started")
        await self.restore()
        log.notice(STANDIN_NOTE)
        log.info("unit %s started" % VERSION)
        ready_cb()
        loop.create_task(self.housekeeping())
        await self.stopping
        await self.shutdown()

    async def housekeeping(self):
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1)
            for app in list(self.apps.apps.values()):
                app.idle_check(loop.time())

    def stop(self):
        if not self.stopping.done():
            self.stopping.set_result(True)

    def reopen_logs(self):
        try:
            fd = log.open()
        except OSError as e:
            log.alert("failed to reopen the log: %s" % e)
            return
        os.dup2(fd, 2)
        for app in self.apps.apps.values():
            app.send_logfd(fd)
        self.router.open_access_log(reopen=True)

    async def shutdown(self):
        self.control_server.close()
        if self.control_path:
            try:
                os.unlink(self.control_path)
            except OSError:
                pass
        await self.router.close_all()
        await self.apps.stop_all()


def daemonize():
    """Fork; the parent waits until the daemon is ready (Type=forking needs
    the PID file before the parent exits) and returns the exit code."""
    r, w = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(w)
        data = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"ok"):
            # Unit's launcher prints this to stderr (the journal).
            sys.stderr.write(log_line("info", "unit %s started" % VERSION))
            sys.stderr.flush()
            os._exit(0)
        sys.stderr.write(data.decode("utf-8", "replace") or "unitd failed to start\n")
        os._exit(1)
    os.close(r)
    os.setsid()
    return w


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    notify = None
    if opts["daemon"]:
        notify = daemonize()
    try:
        log.path = opts["log"]
        fd = log.open()
        # Unit points its own stderr at the log; application processes
        # inherit it.
        os.dup2(fd, 2)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        if opts["daemon"]:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.close(null)
        rt = Runtime(opts)
    except (OSError, SystemExit) as e:
        if notify is not None:
            os.write(notify, ("unitd: %s\n" % e).encode())
        raise

    def ready():
        pidfile = opts["pid"]
        try:
            with open(pidfile, "w") as f:
                f.write("%d\n" % os.getpid())
        except OSError as e:
            log.alert('failed to write pid file "%s": %s' % (pidfile, e))
        rt.pidfile = pidfile
        if notify is not None:
            os.write(notify, b"ok")
            os.close(notify)

    try:
        asyncio.run(rt.run(ready))
    except SystemExit as e:
        log.alert(str(e))
        if notify is not None:
            try:
                os.write(notify, ("unitd: %s\n" % e).encode())
            except OSError:
                pass
        return 1
    except Exception as e:
        log.alert("unitd failed: %r" % (e,))
        import traceback
        traceback.print_exc()
        if notify is not None:
            try:
                os.write(notify, ("unitd failed: %r\n" % (e,)).encode())
            except OSError:
                pass
        return 1
    finally:
        pidfile = getattr(rt, "pidfile", None)
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    return 0
