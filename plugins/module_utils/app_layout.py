# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The layout the channels_app role keeps under an app's root, as the modules read it.

ROOT/releases/ID (one per deploy, marked by .release-complete, its Unit application recorded in
.unit-application.json), ROOT/venvs/pyX.Y-HASH, and the links ROOT/current and ROOT/previous.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

RELEASE_MARKER = '.release-complete'
RELEASE_RECORD = '.unit-application.json'


def subdirectories(path):
    """(name, path) of the directories in path; none when path does not exist."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    return [(name, os.path.join(path, name)) for name in names if os.path.isdir(os.path.join(path, name))]


def link_target(path):
    """What the symbolic link path points to; '' when there is none."""
    try:
        return os.readlink(path)
    except OSError:
        return ''


def release_venv(release):
    """The virtualenv (Unit's "home") a release's record names; None when it has no readable record."""
    try:
        with open(os.path.join(release, RELEASE_RECORD)) as handle:
            home = json.load(handle).get('home')
    except (IOError, OSError, ValueError, AttributeError):
        return None
    return os.path.normpath(home) if isinstance(home, str) and home else None
