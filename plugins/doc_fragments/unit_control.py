# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options shared by every module talking to Unit's control API.
    DOCUMENTATION = r'''
options:
  control:
    description:
      - Unit's control address as C(unitd --control) takes it, V(unix:/PATH) or V(ADDR:PORT)
        (for example V(127.0.0.1:8443), reached over plain HTTP); an C(http://) URL works too.
      - Set it once for every module of the collection with the action group,
        C(module_defaults) C(group/unitchannels.deploy.unit), as the collection's roles do.
      - When neither this, O(socket) nor O(url) is set, the packages' socket that exists on
        the host is used (C(/var/run/control.unit.sock), or C(/var/run/unit/control.sock) of the RPMs).
      - O(socket) or O(url), when set, win over this option.
    type: str
    version_added: 0.2.0
  socket:
    description:
      - Path of Unit's control socket on the managed host.
      - When none of O(control), O(socket) and O(url) is set, the packages' socket that exists
        is used (C(/var/run/control.unit.sock), the default of the official Debian packages).
      - The socket is owned by root with mode C(0600), so tasks normally need C(become=true).
    type: path
  url:
    description:
      - Base URL of Unit's control API when unitd listens on TCP
        (C(unitd --control 127.0.0.1:8443)), for example V(http://127.0.0.1:8443).
      - Mutually exclusive with O(socket).
    type: str
  timeout:
    description:
      - Seconds to wait for Unit to answer one request.
      - Unit answers a configuration change only after it has started the new application
        processes, so keep this comfortably above the application's start-up time.
    type: int
    default: 30
requirements:
  - NGINX Unit with its control API reachable from the managed host (tested against Unit 1.34.2).
'''

    # Unit's log, read by the modules whose failures Unit explains only there.
    LOG_FILE = r'''
options:
  log_file:
    description:
      - Unit's log file on the managed host (C(unitd --log)). Only the lines added after this
        task's request are read, to say why Unit failed (an app's traceback, an address in use).
      - The default is the log of the official packages.
    type: path
    default: /var/log/unit.log
'''
