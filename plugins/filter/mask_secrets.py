# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter mask_secrets: hide secret values in text that is about to be shown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.urllib.parse import unquote, urlsplit

MASK = "********"


def mask_secrets(text, secrets, min_length=4):
    """Return text with every secret value replaced by ********.

    A value that is a URL with a password (DATABASE_URL, REDIS_URL) also has its password masked
    on its own, as written and percent-decoded: drivers print the parts of a URL, not the URL.
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
        values.update(form for form in [value] + url_passwords(value) if len(form) >= int(min_length))
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def url_passwords(value):
    """The password of a URL value, as written and percent-decoded ([] when it has none)."""
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


class FilterModule(object):
    """unitchannels.deploy filters."""

    def filters(self):
        return {"mask_secrets": mask_secrets}
