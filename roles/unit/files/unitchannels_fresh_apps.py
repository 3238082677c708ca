# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Restart each app of a unitd that just started, once its first app processes are up.

Run by unit.service after every start (ExecStartPost of the unit role's drop-in), with
unit_http.py beside it. When unitd starts, a request can reach an app process before the router
has registered the port of the thread that sent it. Unit then logs "get_port_handler: port
PID:1 not found", and that process never answers a request sent through that thread: they hang
until the process ends. The router's threads are up by the time the first processes are, and an
app restart does not make new threads, so the processes it starts do not hit this.

Waits (--wait seconds at most) until no app has a process starting, then restarts each app.
An app that starts no process before its first request (dynamic processes) is restarted at
once, which costs nothing. Says what it did on stdout (the journal); never fails the start of
unitd.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unit_http import Unit  # noqa: E402  pylint: disable=import-error,wrong-import-position


def busy_apps(unit, apps):
    """The apps of apps that have a process starting, or no status yet."""
    status = (unit.request('GET', '/status') or {}).get('applications') or {}
    return [name for name in apps
            if name not in status or ((status[name] or {}).get('processes') or {}).get('starting', 0) > 0]


def restart_fresh_apps(unit, wait, settle=0.5, poll=0.5, clock=time.monotonic, sleep=time.sleep):
    """Restart every app once none is starting (or wait seconds passed); returns what it did.

    settle: seconds before the first look, in which the router begins to start the apps; and
    again before the restarts, in which it makes its threads.
    """
    deadline = clock() + wait
    sleep(settle)
    while True:
        try:
            apps = sorted(unit.request('GET', '/config/applications') or {})
            busy = busy_apps(unit, apps)
        except (OSError, RuntimeError) as exc:  # the control API does not answer yet
            apps, busy = None, ['(control API: %s)' % exc]
        if apps is not None and not busy:
            break
        if clock() >= deadline:
            if apps is None:
                return ['gave up: %s' % busy[0]]
            break
        sleep(poll)
    done = ['still starting after %ss: %s' % (wait, ', '.join(busy))] if busy else []
    if apps:
        sleep(settle)
    for name in apps:
        try:
            unit.request('GET', '/control/applications/%s/restart' % quote(name, safe=''))
            done.append('restarted %s' % name)
        except (OSError, RuntimeError) as exc:
            done.append('could not restart %s: %s' % (name, exc))
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--control', required=True, help="unitd's --control (unix:/PATH or ADDR:PORT)")
    parser.add_argument('--wait', type=float, default=20, help='seconds to wait for the first processes')
    args = parser.parse_args(argv)
    for line in restart_fresh_apps(Unit(args.control, timeout=10), args.wait) or ['no app to restart']:
        print('unitchannels_fresh_apps: %s' % line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
