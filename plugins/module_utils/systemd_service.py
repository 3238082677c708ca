# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""One systemd unit, through systemctl (configured_service, app_workers)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time


STATUS_PROPERTIES = ('LoadState', 'ActiveState', 'UnitFileState', 'ActiveEnterTimestampMonotonic')
# The verbs after which a failure is the service's own, told in its journal.
STARTING_VERBS = ('start', 'restart', 'reload', 'reload-or-restart', 'try-restart')
JOURNAL_SETTLE_SECONDS = 1.0


class Service(object):
    """A unit by name: its properties (systemctl show) and systemctl verbs on it; failures fail the module."""

    def __init__(self, module, name):
        self.module = module
        self.name = name
        self.systemctl = module.get_bin_path('systemctl', required=True)

    def status(self, properties=STATUS_PROPERTIES):
        rc, out, err = self.module.run_command(
            [self.systemctl, 'show', '--property=' + ','.join(properties), '--', self.name])
        if rc != 0:
            self.module.fail_json(msg='systemctl show %s failed: %s' % (self.name, (err or out).strip()))
        status = {}
        for line in out.splitlines():
            key, dummy, value = line.partition('=')
            status[key] = value
        return status

    def run(self, *args):
        since = time.time()
        rc, out, err = self.module.run_command([self.systemctl] + list(args))
        if rc != 0:
            msg = 'systemctl %s failed (rc %d): %s' % (' '.join(args), rc, (err or out).strip())
            # systemctl only says where to look: a service that would not start says why in its
            # journal, which takes its last words a moment after systemctl returns.
            if args[0] in STARTING_VERBS:
                time.sleep(JOURNAL_SETTLE_SECONDS)
                journal = self.journal(since)
                if journal:
                    msg += '\nThe end of its journal:\n' + journal
            self.module.fail_json(msg=msg, rc=rc, stdout=out, stderr=err)

    def journal(self, since=None, lines=15):
        """The last lines of the unit's journal (since a time.time(), if given); '' when there is none."""
        journalctl = self.module.get_bin_path('journalctl')
        if not journalctl:
            return ''
        argv = [journalctl, '--no-pager', '--quiet', '-n', str(lines), '-u', self.name]
        if since is not None:
            argv += ['--since', '@%d' % int(since)]
        rc, out, err = self.module.run_command(argv)
        return out.strip() if rc == 0 else ''
