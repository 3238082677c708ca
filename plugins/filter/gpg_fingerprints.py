# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter gpg_fingerprints: the primary key fingerprints in `gpg --show-keys --with-colons` output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text


def gpg_fingerprints(listing):
    """Fingerprints of the primary keys: the first "fpr" record after each "pub" record.

    Subkeys ("sub" then "fpr") are left out: a key is accepted by its primary fingerprint.
    """
    found, in_primary = [], False
    for line in to_text(listing or '').splitlines():
        fields = line.split(':')
        if fields[0] == 'pub':
            in_primary = True
        elif fields[0] in ('sub', 'ssb', 'sec'):
            in_primary = fields[0] == 'sec'
        elif fields[0] == 'fpr' and in_primary and len(fields) > 9 and fields[9]:
            found.append(fields[9].upper())
            in_primary = False
    return found


class FilterModule(object):
    def filters(self):
        return {'gpg_fingerprints': gpg_fingerprints}
