# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The names of an app's background worker units (app_workers writes them, app_release_info lists them).

A worker's template unit is ``unitchannels-APP_WORKER@.service``, its instances
``unitchannels-APP_WORKER@RELEASE.N.service``. The "_" between the app and the worker keeps
another app's units out: a worker's name (lower-case letters, digits and "-") has none.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

WORKER_NAME = r'[a-z0-9][a-z0-9-]*'
INSTANCE = r'[^/\s]+'


def unit_name(app, worker, instance=''):
    """The template unit of a worker (no instance), or one of its instances."""
    return 'unitchannels-%s_%s@%s.service' % (app, worker, instance)


def _pattern(app, instance):
    return re.compile(r'^unitchannels-%s_(%s)@%s\.service$' % (re.escape(app), WORKER_NAME, instance))


def units_of(app, names, instance=INSTANCE):
    """The app's worker units among names: its instances, or with instance='' its templates."""
    pattern = _pattern(app, instance)
    return set(name for name in names if pattern.match(name))


def worker_of(app, unit):
    """The worker's name in one of the app's unit names."""
    return _pattern(app, '(?:' + INSTANCE + ')?').match(unit).group(1)


def template_workers(app, unit_dir='/etc/systemd/system'):
    """The names of the app's workers that have a template unit in unit_dir."""
    if not app or not os.path.isdir(unit_dir):
        return []
    return sorted(worker_of(app, name) for name in units_of(app, os.listdir(unit_dir), instance=''))
