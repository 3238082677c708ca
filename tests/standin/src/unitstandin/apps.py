"""Language modules and application processes (main-process side).

Module discovery: Unit dlopen()s <modulesdir>/*.unit.so.  The stand-in's
python3.X.unit.so files are small text markers; the interpreter is
/usr/bin/python3.X (or "interpreter=" in the marker) and the module's version
is that interpreter's full version, as Unit reports the libpython it was built
against.

Per application: one prototype process (runs worker.py as the application
user, forks the application processes) and N application processes, each with
its own SOCK_SEQPACKET channel to unitd.  Messages are JSON; client sockets
travel as SCM_RIGHTS descriptors.
"""

import asyncio
import grp
import json
import os
import pwd
import re
import signal
import socket
import subprocess

from . import VERNUM
from .log import log

START_TIMEOUT = 60.0
MAX_MSG = 1 << 18

# Runs under the application's interpreter with -I: reads worker.py from an
# inherited descriptor (the file need not be readable by the app user) and
# hands over to worker.main().
BOOTSTRAP = (
    "import os,sys,types\n"
    "f=os.fdopen(int(sys.argv[2]),'rb');s=f.read();f.close()\n"
    "m=types.ModuleType('unit_standin_worker');m.__file__=sys.argv[3]\n"
    "sys.modules[m.__name__]=m\n"
    "exec(compile(s,sys.argv[3],'exec'),m.__dict__)\n"
    "m.main(sys.argv[4:])\n"
)

WORKER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class Module:
    def __init__(self, short, version, file, interpreter):
        self.type = "python"
        self.short = short              # "3.11"
        self.version = version          # "3.11.2"
        self.file = file
        self.interpreter = interpreter

    def sort_key(self):
        return tuple(int(x) if x.isdigit() else 0 for x in self.version.split("."))


def discover(modulesdir):
    """Find python3.X.unit.so markers; log like Unit's discovery."""
    log.info("discovery started")
    found = []
    try:
        names = sorted(os.listdir(modulesdir))
    except OSError as e:
        log.alert('opendir("%s") failed (%d: %s)' % (modulesdir, e.errno, e.strerror))
        return found
    for name in names:
        if not name.endswith(".unit.so"):
            continue
        path = os.path.join(modulesdir, name)
        m = re.match(r"python(\d+\.\d+)\.unit\.so$", name)
        interp = None
        if m:
            interp = "/usr/bin/python" + m.group(1)
            try:
                with open(path, "rb") as f:
                    for raw in f.read(4096).decode("utf-8", "replace").splitlines():
                        if raw.startswith("interpreter="):
                            interp = raw.split("=", 1)[1].strip()
            except OSError:
                pass
        version = _interp_version(interp) if interp else None
        if version is None or not version.startswith(m.group(1) + "."):
            # What Unit logs when a module cannot be loaded.
            log.alert('dlopen("%s"), failed: "not a usable test stand-in module '
                      '(interpreter %s missing?)"' % (path, interp))
            continue
        log.notice('module: python %s "%s"' % (version, path))
        found.append(Module(m.group(1), version, path, interp))
    found.sort(key=Module.sort_key, reverse=True)
    return found


def _interp_version(interp):
    try:
        out = subprocess.run(
            [interp, "-I", "-c",
             "import sys;print('%d.%d.%d' % sys.version_info[:3])"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
            check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode().strip() or None


def memfd(data, name):
    fd = os.memfd_create(name, 0)   # no MFD_CLOEXEC: passed via pass_fds
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Channel:
    """SOCK_SEQPACKET channel on the asyncio loop: one JSON message (+fds)
    per packet."""

    def __init__(self, sock, on_msg, on_close):
        self.sock = sock
        self.on_msg = on_msg
        self.on_close = on_close
        self.loop = asyncio.get_running_loop()
        self.closed = False
        sock.setblocking(False)
        self.loop.add_reader(sock.fileno(), self._readable)

    def _readable(self):
        while not self.closed:
            try:
                data, fds, dummy, dummy = socket.recv_fds(self.sock, MAX_MSG, 8)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self.close()
                self.on_close()
                return
            try:
                msg = json.loads(data.decode())
            except ValueError:
                msg = {}
            self.on_msg(msg, fds)

    def send(self, msg, fds=()):
        if self.closed:
            return False
        data = json.dumps(msg).encode()
        try:
            # Messages are small and the peer reads promptly; a short
            # blocking send keeps ordering simple.
            self.sock.setblocking(True)
            self.sock.settimeout(5)
            if fds:
                socket.send_fds(self.sock, [data], list(fds))
            else:
                self.sock.send(data)
            return True
        except OSError:
            return False
        finally:
            if not self.closed:
                self.sock.setblocking(False)

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


class Proc:
    def __init__(self, app, pid):
        self.app = app
        self.pid = pid
        self.chan = None
        self.ready = False
        self.dead = False
        self.active = 0
        self.conns = set()
        self.proto = None
        self.chan_closed = False
        self.idle_since = asyncio.get_running_loop().time()
        self.ready_fut = asyncio.get_running_loop().create_future()


class Prototype:
    def __init__(self, app, popen, chan):
        self.app = app
        self.popen = popen
        self.pid = popen.pid
        self.chan = chan
        self.dead = False
        self.exit_fut = asyncio.get_running_loop().create_future()


class App:
    """One entry of /config/applications with its processes."""

    def __init__(self, manager, name, conf, module):
        self.m = manager
        self.name = name
        self.conf = conf
        self.module = module
        self.proto = None
        self.procs = []
        self.starting = 0
        self.pending = []         # spawn futures waiting for "spawned"
        self.rr = 0
        self.waiters = []
        self.stopped = False
        self.active_requests = 0
        p = conf.get("processes", 1)
        if isinstance(p, dict):
            self.max = p.get("max", 1)
            self.spare = p.get("spare", 0)
            self.idle_timeout = p.get("idle_timeout", 15)
        else:
            self.max = self.spare = p
            self.idle_timeout = None

    # -- prototype --

    def _credentials(self):
        """(uid, gid, groups) for the application processes, like Unit:
        "user"/"group" of the app, else --user/--group."""
        if os.geteuid() != 0:
            return None
        rt = self.m.rt
        user = self.conf.get("user") or rt.user
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise StartError('getpwnam("%s") failed, user "%s" not found' % (user, user))
        group = self.conf.get("group")
        if group is None:
            group = rt.group if self.conf.get("user") is None else None
        if group is None:
            gid = pw.pw_gid
        else:
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                raise StartError('getgrnam("%s") failed, group "%s" not found'
                                 % (group, group))
        groups = [g for g in os.getgrouplist(user, gid) if g != gid]
        return pw.pw_uid, gid, groups

    def worker_config(self):
        c = self.conf
        home = c.get("home")
        cfg = {
            "name": self.name,
            "module": c.get("module"),
            "callable": c.get("callable"),
            "factory": c.get("factory", False),
            "prefix": c.get("prefix"),
            "protocol": c.get("protocol"),
            "path": c.get("path"),
            "environment": c.get("environment") or {},
            "working_directory": c.get("working_directory") or os.getcwd(),
            "threads": c.get("threads", 1),
            "thread_stack_size": c.get("thread_stack_size"),
            "limits": c.get("limits") or {},
            "short_version": self.module.short,
            "home": home,
            # The Python module behaves as the Unit release it belongs to.
            "unit_vernum": VERNUM,
        }
        if home is not None and not os.access(self.interpreter()[0], os.X_OK):
            cfg["bad_home"] = True
        if self.m.rt.daemon:
            # Unit honours stdout/stderr only when it runs as a daemon.
            cfg["stdout"] = c.get("stdout")
            cfg["stderr"] = c.get("stderr")
        return cfg

    def interpreter(self):
        home = self.conf.get("home")
        if home is not None:
            venv_python = os.path.join(home, "bin", "python" + self.module.short)
            return venv_python, True
        return self.module.interpreter, False

    async def start_prototype(self):
        rt = self.m.rt
        creds = self._credentials()
        interp, from_home = self.interpreter()
        cfg = self.worker_config()
        if cfg.get("bad_home"):
            # The application process reports the broken home itself.
            interp = self.module.interpreter
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        src_fd = memfd(self.m.worker_source, "unit-standin-worker")
        cfg_fd = memfd(json.dumps(cfg).encode(), "unit-standin-app")
        env = dict(os.environ)
        env.update(self.conf.get("environment") or {})
        kwargs = {}
        if creds is not None:
            kwargs = {"user": creds[0], "group": creds[1], "extra_groups": creds[2]}
        title = 'unit: "%s" prototype' % self.name
        try:
            popen = subprocess.Popen(
                [interp, "-I", "-c", BOOTSTRAP, title, str(src_fd), WORKER_FILE,
                 "prototype", str(b.fileno()), str(rt.log.fd), str(cfg_fd)],
                pass_fds=(src_fd, cfg_fd, b.fileno(), rt.log.fd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if rt.daemon else None,
                stderr=rt.log.fd, env=env, close_fds=True, **kwargs)
        except OSError as e:
            raise StartError('failed to start prototype "%s": %s' % (self.name, e))
        finally:
            os.close(src_fd)
            os.close(cfg_fd)
            b.close()
        proto = None

        def on_msg(msg, fds):
            self._proto_msg(proto, msg, fds)

        def on_close():
            pass

        chan = Channel(a, on_msg, on_close)
        proto = Prototype(self, popen, chan)
        self.proto = proto
        self.m.prototypes[popen.pid] = proto
        return proto

    def _proto_msg(self, proto, msg, fds):
        op = msg.get("op")
        if op == "spawned":
            fut = self.pending.pop(0) if self.pending else None
            proc = Proc(self, msg["pid"])
            proc.proto = proto
            if not fds:
                return
            proc.chan = Channel(socket.socket(fileno=fds[0]),
                                lambda m, f, p=proc: self._proc_msg(p, m, f),
                                lambda p=proc: self._proc_chan_closed(p))
            for fd in fds[1:]:
                os.close(fd)
            self.procs.append(proc)
            if fut is not None and not fut.done():
                fut.set_result(proc)
        elif op == "exited":
            for proc in self.procs:
                if proc.pid == msg.get("pid"):
                    proc.exit_code = msg.get("code")
                    self._proc_gone(proc)
            for fd in fds:
                os.close(fd)
        else:
            for fd in fds:
                os.close(fd)

    def _proc_msg(self, proc, msg, fds):
        for fd in fds:
            os.close(fd)
        op = msg.get("op")
        if op == "ready":
            proc.ready = True
            proc.idle_since = asyncio.get_running_loop().time()
            if not proc.ready_fut.done():
                proc.ready_fut.set_result(True)
            self._wake()
        elif op == "retire":
            proc.ready = False
            proc.chan.send({"op": "quit"})
            self._wake()
        elif op == "done":
            cid = msg.get("id")
            if cid in proc.conns:
                proc.conns.discard(cid)
                proc.active -= 1
                self.active_requests -= 1
                if proc.active == 0:
                    proc.idle_since = asyncio.get_running_loop().time()
                self.m.router.app_request_done(cid, msg.get("status", 0),
                                               msg.get("bytes", 0))

    def _proc_chan_closed(self, proc):
        """The channel closes a moment before the prototype reports the
        exit; stop dispatching now, account for the exit when the
        prototype has logged it ("app process N exited with code C")."""
        proc.ready = False
        proc.chan_closed = True
        if proc.proto is None or proc.proto.dead:
            self._proc_gone(proc)
        self._wake()

    def _proc_gone(self, proc):
        if proc.dead:
            return
        proc.dead = True
        proc.ready = False
        if proc.chan is not None:
            proc.chan.close()
        if not proc.ready_fut.done():
            proc.ready_fut.set_result(False)
        if proc in self.procs:
            self.procs.remove(proc)
        for cid in list(proc.conns):
            self.active_requests -= 1
            self.m.router.app_request_done(cid, 0, 0)
        proc.conns.clear()
        self._wake()

    def _wake(self):
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    # -- processes --

    async def spawn_process(self):
        """Start one application process; True once it is ready."""
        if self.stopped:
            return False
        self.starting += 1
        try:
            if self.proto is None or self.proto.dead:
                await self.start_prototype()
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            self.pending.append(fut)
            if not self.proto.chan.send({"op": "spawn"}):
                return False
            try:
                proc = await asyncio.wait_for(asyncio.shield(fut), START_TIMEOUT)
                ok = await asyncio.wait_for(asyncio.shield(proc.ready_fut), START_TIMEOUT)
            except asyncio.TimeoutError:
                if fut in self.pending:
                    self.pending.remove(fut)
                if fut.done() and fut.result() is not None:
                    _kill(fut.result().pid, signal.SIGKILL)
                log.alert('application "%s" did not start within %ds'
                          % (self.name, START_TIMEOUT))
                return False
            return ok
        except StartError as e:
            log.alert(str(e))
            return False
        finally:
            self.starting -= 1
            self._wake()

    async def start(self):
        """Eager start on configuration apply: prototype + initial processes."""
        n = max(1, self.spare)
        results = await asyncio.gather(*(self.spawn_process() for dummy in range(n)))
        return all(results)

    def stats(self):
        ready = [p for p in self.procs if p.ready]
        return {"processes": {"running": len(ready), "starting": self.starting,
                              "idle": sum(1 for p in ready if p.active == 0)},
                "requests": {"active": self.active_requests}}

    async def get_process(self):
        """A ready process (round robin), starting one when none is
        running, as Unit does for each request; None means 503."""
        ready = [p for p in self.procs if p.ready]
        if ready:
            if (all(p.active > 0 for p in ready)
                    and len(self.procs) + self.starting < self.max):
                asyncio.get_running_loop().create_task(self.spawn_process())
            proc = ready[self.rr % len(ready)]
            self.rr += 1
            return proc
        if self.stopped:
            return None
        if self.starting == 0:
            task = asyncio.get_running_loop().create_task(self.spawn_process())
            ok = await task
            if not ok:
                return None
        else:
            while self.starting and not any(p.ready for p in self.procs):
                w = asyncio.get_running_loop().create_future()
                self.waiters.append(w)
                await w
        ready = [p for p in self.procs if p.ready]
        if not ready:
            return None
        proc = ready[self.rr % len(ready)]
        self.rr += 1
        return proc

    def send_conn(self, proc, cid, msg, fd):
        proc.conns.add(cid)
        proc.active += 1
        self.active_requests += 1
        if not proc.chan.send(msg, [fd]):
            proc.conns.discard(cid)
            proc.active -= 1
            self.active_requests -= 1
            return False
        return True

    def idle_check(self, now):
        if self.idle_timeout is None:
            return
        ready = [p for p in self.procs if p.ready]
        extra = len(ready) - self.spare
        for p in ready:
            if extra <= 0:
                break
            if p.active == 0 and now - p.idle_since > self.idle_timeout:
                p.ready = False
                p.chan.send({"op": "quit"})
                extra -= 1

    def send_logfd(self, fd):
        if self.proto is not None and not self.proto.dead:
            self.proto.chan.send({"op": "logfd"}, [fd])
        for p in self.procs:
            if p.chan is not None:
                p.chan.send({"op": "logfd"}, [fd])

    def drain(self):
        """Retire this generation of processes the way Unit's router does on
        reconfiguration and restart: no new requests go to them, and each
        one quits once its requests in progress (open WebSockets included)
        have finished.  Nothing is waited for or killed."""
        self.stopped = True
        for p in list(self.procs):
            p.ready = False
            if p.chan is not None:
                p.chan.send({"op": "quit", "graceful": True})
        if self.proto is not None and not self.proto.dead:
            self.proto.chan.send({"op": "quit", "graceful": True})
        self._wake()

    async def stop(self, wait=5.0):
        """Quit processes and the prototype now (unitd shutting down, or an
        application that failed to start); Unit: exit code 0."""
        self.stopped = True
        for p in list(self.procs):
            p.ready = False
            if p.chan is not None:
                p.chan.send({"op": "quit"})
        proto = self.proto
        if proto is not None and not proto.dead:
            proto.chan.send({"op": "quit"})
            try:
                await asyncio.wait_for(asyncio.shield(proto.exit_fut), wait)
            except asyncio.TimeoutError:
                for p in list(self.procs):
                    _kill(p.pid, signal.SIGKILL)
                _kill(proto.pid, signal.SIGKILL)
        self._wake()


class StartError(Exception):
    pass


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def canonical(conf):
    return json.dumps(conf, sort_keys=False)


class AppManager:
    def __init__(self, rt):
        self.rt = rt
        self.apps = {}
        self.prototypes = {}
        self.router = None
        with open(WORKER_FILE, "rb") as f:
            self.worker_source = f.read()

    def reap(self):
        """SIGCHLD: collect prototypes; Unit's main logs their exit."""
        for pid, proto in list(self.prototypes.items()):
            code = proto.popen.poll()
            if code is None:
                continue
            del self.prototypes[pid]
            proto.dead = True
            proto.chan.close()
            if code < 0:
                log.alert("process %d exited on signal %d" % (pid, -code))
            else:
                log.notice("process %d exited with code %d" % (pid, code))
            if not proto.exit_fut.done():
                proto.exit_fut.set_result(code)
            app = proto.app
            for p in list(app.procs):
                if p.proto is proto and (p.chan_closed or not p.ready):
                    app._proc_gone(p)
            while app.pending:
                f = app.pending.pop()
                if not f.done():
                    f.set_result(None)

    async def prepare(self, apps_conf):
        """Start the applications that are new or changed.  Returns
        (new_apps, started, ok); on failure the caller logs and calls
        rollback(started), which keeps Unit's order of log lines."""
        from .validate import find_module
        new_apps, started = {}, []
        for name, conf in (apps_conf or {}).items():
            old = self.apps.get(name)
            if old is not None and canonical(old.conf) == canonical(conf):
                new_apps[name] = old
                continue
            app = App(self, name, conf, find_module(self.rt.modules, conf["type"]))
            started.append(app)
            new_apps[name] = app
            if not await app.start():
                log.warn('failed to start application "%s"' % name)
                return new_apps, started, False
        return new_apps, started, True

    async def commit(self, new_apps):
        """Switch to new_apps; stop what is no longer used."""
        old = self.apps
        self.apps = new_apps
        for name, app in old.items():
            if new_apps.get(name) is not app:
                app.drain()

    async def rollback(self, started):
        for a in started:
            await a.stop()

    async def restart(self, name):
        app = self.apps.get(name)
        if app is None:
            return False
        new = App(self, name, app.conf, app.module)
        # Requests arriving meanwhile wait for the new processes; the old
        # ones finish what they are serving.
        self.apps[name] = new
        app.drain()
        await new.start()
        return True

    def status(self):
        return {name: app.stats() for name, app in self.apps.items()}

    async def stop_all(self):
        await asyncio.gather(*(a.stop(wait=3.0) for a in self.apps.values()))
