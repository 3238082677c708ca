"""Unit's error log format: "YYYY/MM/DD HH:MM:SS [level] PID#TID message".

The log file is opened once by the main process (O_APPEND) and its descriptor
is handed to application processes as their stderr, as Unit does; SIGUSR1
reopens it (logrotate's postrotate sends it) and the new descriptor is passed
on to the application processes.
"""

import os
import sys
import time

LEVELS = ("alert", "error", "warn", "notice", "info", "debug")


def stamp(now=None):
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now))


def line(level, msg, pid=None):
    pid = os.getpid() if pid is None else pid
    return "%s [%s] %d#%d %s\n" % (stamp(), level, pid, pid, msg)


class Log:
    def __init__(self, path):
        self.path = path
        self.fd = -1
        self.echo_stderr = False

    def open(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        old, self.fd = self.fd, fd
        if old >= 0:
            os.close(old)
        return fd

    def write_raw(self, text):
        data = text.encode("utf-8", "surrogateescape")
        if self.fd >= 0:
            try:
                os.write(self.fd, data)
            except OSError:
                pass
        if self.echo_stderr or self.fd < 0:
            try:
                sys.stderr.write(text)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def __call__(self, level, msg, pid=None):
        self.write_raw(line(level, msg, pid))

    def alert(self, msg):
        self("alert", msg)

    def error(self, msg):
        self("error", msg)

    def warn(self, msg):
        self("warn", msg)

    def notice(self, msg):
        self("notice", msg)

    def info(self, msg):
        self("info", msg)


log = Log(None)
