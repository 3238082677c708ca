# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""What NGINX Unit runs, read in one request (unit_info, app_release_info).

``GET /`` gives the configuration, the status with the loaded language modules and the
certificates; the version comes from the control API's ``Server: Unit/X.Y.Z`` header (the version
of the unitd that answers, which after an upgrade without a restart is not the binary's), and only
when that names none from ``unitd --version``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UnitControlError,
    client_from_module,
)

SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']
# Whose open-file limit counts, best first: the router holds the client connections; its parent
# (the main process, the one systemd starts) has the same limit; a unitd without process titles
# (the project's stand-in) is found by its program.
UNIT_PROCESSES = ('unit: router', 'unit: main', '/usr/sbin/unitd')


def unitd_version(module, binary=None):
    """What `unitd --version` says (on stderr: "unit version: 1.34.2"), '' without unitd."""
    binary = binary or module.get_bin_path('unitd', opt_dirs=SBIN_DIRS)
    if not binary:
        return ''
    rc, out, err = module.run_command([binary, '--version'])
    match = re.search(r'unit version: ([0-9][0-9A-Za-z.+~-]*)', out + err)
    if rc != 0 or not match:
        module.fail_json(msg='%s --version did not report a version (rc %s): %s'
                         % (binary, rc, (err or out).strip()[:500]))
    return match.group(1)


def open_files_limit(proc='/proc'):
    """The soft open-file limit of Unit's router (see UNIT_PROCESSES), None when no unitd runs."""
    found = {}
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, 'cmdline'), 'rb') as f:
                cmdline = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except (IOError, OSError):
            continue
        for rank, name in enumerate(UNIT_PROCESSES):
            if name in cmdline and rank not in found:
                found[rank] = pid
    for rank in sorted(found):
        try:
            with open(os.path.join(proc, found[rank], 'limits')) as f:
                for line in f:
                    if line.startswith('Max open files'):
                        soft = line.split()[3]
                        return None if soft == 'unlimited' else int(soft)
        except (IOError, OSError, ValueError, IndexError):
            continue
    return None


def listen_queue_limit(proc='/proc'):
    """The kernel's net.core.somaxconn: the cap on every listen backlog; None when unreadable."""
    try:
        with open(os.path.join(proc, 'sys', 'net', 'core', 'somaxconn')) as f:
            return int(f.read().strip())
    except (IOError, OSError, ValueError):
        return None


def python_versions(status):
    """MAJOR.MINOR of each Python module: /status/modules/python is one object, or a list of them."""
    modules = (status or {}).get('modules', {}).get('python', [])
    if isinstance(modules, dict):
        modules = [modules]
    found = []
    for module in modules:
        match = re.match(r'^(\d+\.\d+)', str(module.get('version', '')))
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def read_unit(module, unitd=None):
    """version, control, config, status, certificates and python_versions; fails the module when Unit does not answer."""
    try:
        client = client_from_module(module)
        resp = client.get('/')
    except UnitControlError as e:
        module.fail_json(msg=e.msg)
    if not resp.ok or not isinstance(resp.body, dict):
        module.fail_json(msg='%s answered HTTP %s to GET /: %s' % (client.endpoint, resp.status, resp.error_text()))
    tree = resp.body
    status = tree.get('status') or {}
    return dict(
        version=resp.server_version or unitd_version(module, unitd),
        control=('unix:' + client.socket_path) if client.socket_path else client.base_url,
        config=tree.get('config') or {},
        status=status,
        certificates=tree.get('certificates') or {},
        python_versions=python_versions(status),
    )
