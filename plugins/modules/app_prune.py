#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: app_prune
short_description: Remove an app's oldest releases and the virtualenvs no kept release uses
description:
  - Works on the layout the P(unitchannels.deploy.channels_app#role) role keeps under O(root),
    that is C(releases/ID), C(venvs/pyX.Y-HASH) and the links C(current) and C(previous).
  - Keeps the O(keep) + 2 newest releases (by the time their directory last changed) and, whatever
    their age, the releases C(current) and C(previous) point to; removes the other releases.
  - Then removes every virtualenv that neither a kept release's record (C(.unit-application.json),
    its Unit application's C(home)) nor O(venvs_in_use) names. A new set of requirements, another
    Python or another ownership mode makes a new virtualenv; without this the old ones stay for good.
  - A kept, complete release without a readable record may use any virtualenv, so then none is
    removed, and RV(venvs_left_because) says why.
  - Supports check mode and diff (the releases and virtualenvs before and after).
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  root:
    description: The app's root directory (C(channels_app_root)).
    type: path
    required: true
  keep:
    description: Releases kept besides the current and the previous one (C(channels_app_releases_keep)).
    type: int
    default: 3
  venvs_in_use:
    description: Virtualenvs kept whatever the releases' records say (the one of the release this run made live).
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be removed; nothing is.
  diff_mode:
    support: full
    details: The releases and virtualenvs under O(root) before and after.
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Keep three releases besides current and previous, and the virtualenvs they use
  unitchannels.deploy.app_prune:
    root: /srv/chat
    keep: 3
    venvs_in_use: [/srv/chat/venvs/py3.11-5e4d3c2b1a09]
'''

RETURN = r'''
removed:
  description: The release and virtualenv directories removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  sample: [/srv/chat/releases/0a1b2c3d4e5f, /srv/chat/venvs/py3.11-0f1e2d3c4b5a]
releases_kept:
  description: The release directories left, newest first.
  returned: always
  type: list
  elements: str
venvs_kept:
  description: The virtualenv directories left.
  returned: always
  type: list
  elements: str
venvs_left_because:
  description: Why no virtualenv was removed although some may be unused; empty when they were looked at.
  returned: always
  type: str
  sample: /srv/chat/releases/0a1b2c3d4e5f is complete but names no virtualenv (.unit-application.json)
'''

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_layout import (
    RELEASE_MARKER,
    RELEASE_RECORD,
    link_target,
    release_venv,
    subdirectories,
)


def live_releases(root):
    """The releases current and previous point to (a relative link is relative to root)."""
    targets = (link_target(os.path.join(root, name)) for name in ('current', 'previous'))
    return set(os.path.normpath(os.path.join(root, target)) for target in targets if target)


def plan(root, keep, venvs_in_use):
    """(releases to remove, releases kept, venvs to remove, venvs kept, why venvs were left)."""
    by_age = sorted((path for name, path in subdirectories(os.path.join(root, 'releases'))),
                    key=lambda path: os.stat(path).st_mtime, reverse=True)
    live = live_releases(root)
    kept = [path for index, path in enumerate(by_age) if index < keep + 2 or path in live]
    gone = [path for path in by_age if path not in kept]
    venvs = [path for name, path in subdirectories(os.path.join(root, 'venvs'))]
    used = set(os.path.normpath(path) for path in venvs_in_use)
    for release in kept:
        venv = release_venv(release)
        if venv:
            used.add(venv)
        elif os.path.isfile(os.path.join(release, RELEASE_MARKER)):
            why = '%s is complete but names no virtualenv (%s)' % (release, RELEASE_RECORD)
            return gone, kept, [], venvs, why
    return gone, kept, [path for path in venvs if path not in used], [path for path in venvs if path in used], ''


def listing(root, paths):
    return ''.join(os.path.relpath(path, root) + '\n' for path in sorted(paths))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            keep=dict(type='int', default=3),
            venvs_in_use=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    root = module.params['root'].rstrip('/') or '/'
    if not os.path.isabs(root):
        module.fail_json(msg='root %s is not an absolute path' % root)
    if module.params['keep'] < 0:
        module.fail_json(msg='keep is %d: the number of releases kept cannot be negative' % module.params['keep'])
    gone, kept, venvs_gone, venvs_kept, why = plan(root, module.params['keep'], module.params['venvs_in_use'])
    removed = gone + venvs_gone
    result = dict(changed=bool(removed), removed=removed, releases_kept=kept, venvs_kept=venvs_kept, venvs_left_because=why)
    if removed and module._diff:
        result['diff'] = dict(before_header=root, after_header=root,
                              before=listing(root, kept + gone + venvs_kept + venvs_gone),
                              after=listing(root, kept + venvs_kept))
    if module.check_mode:
        module.exit_json(**result)
    done = []
    for path in removed:
        try:
            shutil.rmtree(path)
        except OSError as e:
            result.update(removed=done, msg='cannot remove %s: %s' % (path, e))
            module.fail_json(**result)
        done.append(path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
