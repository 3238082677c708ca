# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter mask_secrets: hide secret values in text that is about to be shown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

MASK = "********"


def mask_secrets(text, secrets, min_length=4):
    """Return text with every secret value (and its URL-unquoted/quoted forms) replaced by ********.

    Values shorter than min_length are left alone: masking "0" or "" would garble the text and
    hide nothing worth hiding. Longer values are masked first, so a secret that contains
    another secret is masked whole.
    """
    if isinstance(secrets, dict):
        secrets = list(secrets.values())
    if isinstance(secrets, string_types) or not hasattr(secrets, "__iter__"):
        raise AnsibleFilterError("mask_secrets: secrets must be a list or a dict of values, got %s" % type(secrets).__name__)
    text = to_text(text if text is not None else "")
    values = set()
    for secret in secrets:
        if secret is None:
            continue
        value = to_text(secret)
        if len(value) >= int(min_length):
            values.add(value)
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


class FilterModule(object):
    """unitchannels.deploy filters."""

    def filters(self):
        return {"mask_secrets": mask_secrets}
