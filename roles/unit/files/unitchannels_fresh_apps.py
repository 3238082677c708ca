# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Restart each app of a unitd that just started, once its first app processes are up.

Run by unit.service after every start (ExecStartPost of the unit role's drop-in), with
unit_http.py and unit_address.py beside it. When unitd starts, a request can reach an app
process before the router has registered the port of the thread that sent it. Unit then logs
"get_port_handler: port PID:1 not found", and that process never answers a request sent through
that thread: they hang until the process ends. The router's threads are up by the time the first
processes are, and an app restart does not make new threads, so the processes it starts do not
hit this.

Waits (--wait seconds at most) until every app has the processes it starts up front running
and none starting, then restarts each app; an app that starts none before its first request
(spare 0) is restarted at once. All of it takes --wait seconds and 10 more at most (systemd
waits for it). Says what it did on stdout (the journal); never fails the start of unitd.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unit_http import REQUEST_ERRORS, Unit  # noqa: E402  pylint: disable=import-error,wrong-import-position


def up_front(app):
    """How many processes Unit starts for an app before its first request (its default: 1)."""
    processes = app.get('processes', 1) if isinstance(app, dict) else 1
    if isinstance(processes, dict):
        return processes.get('spare', 0)
    return processes if isinstance(processes, int) else 1


def busy_apps(unit, apps, timeout):
    """The names of apps ({name: configuration}) still starting: a process starting, fewer
    running than they start up front, or no status yet."""
    status = (unit.request('GET', '/status', timeout=timeout) or {}).get('applications') or {}
    busy = []
    for name in sorted(apps):
        processes = (status.get(name) or {}).get('processes') or {}
        if name not in status or processes.get('starting', 0) > 0 or processes.get('running', 0) < min(up_front(apps[name]), 1):
            busy.append(name)
    return busy


def restart_fresh_apps(unit, wait, settle=0.5, poll=0.5, clock=time.monotonic, sleep=time.sleep):
    """Restart every app once none is starting (or wait seconds passed); returns what it did.

    settle: seconds before the first look, in which the router begins to start the apps; and
    again before the restarts, in which it makes its threads. Each request waits 5 s at most,
    and none starts after wait + 10 s.
    """
    start = clock()
    deadline, last = start + wait, start + wait + 10

    def timeout():
        return max(0.5, min(5.0, last - clock()))

    sleep(settle)
    while True:
        try:
            apps = unit.request('GET', '/config/applications', timeout=timeout()) or {}
            busy = busy_apps(unit, apps, timeout())
        except REQUEST_ERRORS + (RuntimeError,) as exc:  # the control API does not answer yet
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
    for name in sorted(apps):
        if clock() >= last:
            done.append('not restarted %s: out of time' % name)
            continue
        try:
            unit.request('GET', '/control/applications/%s/restart' % quote(name, safe=''), timeout=timeout())
            done.append('restarted %s' % name)
        except REQUEST_ERRORS + (RuntimeError,) as exc:
            done.append('could not restart %s: %s' % (name, exc))
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--control', required=True, help="unitd's --control (unix:/PATH or ADDR:PORT)")
    parser.add_argument('--wait', type=float, default=20, help='seconds to wait for the first processes')
    args = parser.parse_args(argv)
    try:
        done = restart_fresh_apps(Unit(args.control, timeout=5), args.wait) or ['no app to restart']
    except ValueError as exc:  # a control address unitd would not have taken
        done = ['gave up: %s' % exc]
    for line in done:
        print('unitchannels_fresh_apps: %s' % line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
