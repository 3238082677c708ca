# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filters release_id and venv_id: the names of a release and of its virtualenv, from their content.

The same content always gives the same name, so deploying the same code (or the same requirements)
twice finds the release (or virtualenv) already complete and changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os.path

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text

ID_LENGTH = 12


def _sha1(text):
    return hashlib.sha1(to_bytes(text)).hexdigest()


def release_id(files, root):
    """12 hex digits naming a directory's code: the sha1 of its sorted 'relative/path:sha1' lines.

    ``files`` are the ``files`` of ansible.builtin.find with get_checksum, ``root`` the directory
    they were found in.
    """
    try:
        entries = sorted((to_text(f['path']), to_text(f['checksum'])) for f in files)
    except (KeyError, TypeError):
        raise AnsibleFilterError('release_id: expects the files of ansible.builtin.find with get_checksum: true')
    if not entries:
        raise AnsibleFilterError('release_id: %s holds no files, so there is no code to deploy' % root)
    lines = ['%s:%s' % (os.path.relpath(path, root), checksum) for path, checksum in entries]
    return _sha1('\n'.join(lines))[:ID_LENGTH]


def venv_id(requirements, python, *extra):
    """'pyX.Y-' and 12 hex digits naming a virtualenv: what it is built from, hashed.

    ``requirements``: the texts of the requirements (and constraints) files, None (or '') for a
    file a release lacks; ``python``: X.Y;
    ``extra``: anything else that makes a different virtualenv (index URL, ownership mode).
    """
    if isinstance(requirements, (str, bytes)) or not hasattr(requirements, '__iter__'):
        raise AnsibleFilterError('venv_id: requirements must be a list of file contents')
    python = to_text(python)
    key = '|'.join('' if r is None else to_text(r) for r in requirements) + python + ''.join(to_text(e) for e in extra)
    return 'py%s-%s' % (python, _sha1(key)[:ID_LENGTH])


class FilterModule(object):
    def filters(self):
        return {'release_id': release_id, 'venv_id': venv_id}
