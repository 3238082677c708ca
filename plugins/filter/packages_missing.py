# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter packages_missing: which of the packages to install the host does not have (as wanted)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from fnmatch import fnmatchcase

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


def packages_missing(wanted, installed):
    """The entries of ``wanted`` (apt's ``name`` or ``name=version``, version wildcards as apt reads
    them) that ``installed`` (``ansible_facts['packages']`` of ansible.builtin.package_facts) does not
    satisfy: a package not installed, or installed at a version the pin does not match. When
    ``installed`` is None (the packages were not read), every entry counts as missing."""
    if isinstance(wanted, (str, bytes)) or not hasattr(wanted, '__iter__'):
        raise AnsibleFilterError('packages_missing: expects a list of package names, got %r' % (wanted,))
    if installed is None:
        return [to_text(spec) for spec in wanted]
    if not isinstance(installed, dict):
        raise AnsibleFilterError("packages_missing: expects ansible_facts['packages'] (ansible.builtin.package_facts) as its argument")
    missing = []
    for spec in wanted:
        spec = to_text(spec)
        name, dummy, version = spec.partition('=')
        versions = [to_text(p.get('version', '')) for p in installed.get(name) or []]
        if not versions or (version and not any(fnmatchcase(v, version) for v in versions)):
            missing.append(spec)
    return missing


class FilterModule(object):
    def filters(self):
        return {'packages_missing': packages_missing}
