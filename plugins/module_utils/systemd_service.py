# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""One systemd unit, through systemctl (configured_service, app_workers)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


STATUS_PROPERTIES = ('LoadState', 'ActiveState', 'UnitFileState', 'ActiveEnterTimestampMonotonic')


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
        rc, out, err = self.module.run_command([self.systemctl] + list(args))
        if rc != 0:
            self.module.fail_json(msg='systemctl %s failed (rc %d): %s' % (' '.join(args), rc, (err or out).strip()),
                                  rc=rc, stdout=out, stderr=err)
