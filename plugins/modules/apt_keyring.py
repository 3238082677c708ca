#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: apt_keyring
short_description: Install a repository's signing key as an apt keyring, checked by fingerprint, in one call
description:
  - Fetches a repository's OpenPGP public key (O(url)), or takes it from a file on the host
    (O(src)) or from the task (O(content)), armored or binary, and writes it to O(dest) as the
    binary keyring that a source's C(Signed-By) names.
  - The key is written only when every primary key in it has one of O(fingerprints); otherwise the
    task fails naming the fingerprints found and nothing is written.
  - Writes only when the keyring differs from O(dest) (the directory is made when missing), so a
    converged host costs this one call. Needs no GnuPG on the host (apt verifies with C(gpgv)).
  - What M(ansible.builtin.get_url), a C(gpg --show-keys) command, an assertion and
    M(ansible.builtin.copy) do in four or more calls.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  url:
    description:
      - Where the key is fetched from, by the host (V(https://), V(http://) or V(file://)).
    type: str
  src:
    description: A key file already on the host.
    type: path
  content:
    description: The key itself (armored text), for example from C(lookup('file', ...)).
    type: str
  fingerprints:
    description:
      - The accepted fingerprints of the key's primary keys (spaces and case do not matter).
    type: list
    elements: str
    required: true
  dest:
    description: The keyring to write, such as V(/etc/apt/keyrings/nginx-unit.gpg).
    type: path
    required: true
  mode:
    description: The keyring's mode.
    type: raw
    default: '0644'
  owner:
    description: The keyring's owner.
    type: str
    default: root
  group:
    description: The keyring's group.
    type: str
    default: root
  validate_certs:
    description: Check the server's certificate when O(url) is https.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for O(url).
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Fetches and checks the key, reports whether the keyring would change; writes nothing.
  diff_mode:
    support: full
    details: The fingerprints of the keyring before and after.
  platform:
    platforms: debian
notes:
  - Keys of OpenPGP versions 4 and 6 are read; a secret key is refused.
'''

EXAMPLES = r'''
- name: Install NGINX's signing key for the NGINX Unit repository
  unitchannels.deploy.apt_keyring:
    url: https://unit.nginx.org/keys/nginx-keyring.gpg
    fingerprints:
      - 573BFD6B3D8FBC641079A6ABABF5BD827BD9BF62
    dest: /etc/apt/keyrings/nginx-unit.gpg
'''

RETURN = r'''
fingerprints:
  description: The fingerprints of the key's primary keys.
  returned: success
  type: list
  elements: str
  sample: [573BFD6B3D8FBC641079A6ABABF5BD827BD9BF62]
dest:
  description: The keyring written (or that would be).
  returned: success
  type: str
  sample: /etc/apt/keyrings/nginx-unit.gpg
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.urls import fetch_url
from ansible_collections.unitchannels.deploy.plugins.module_utils.openpgp import (
    OpenPGPError,
    normalize_fingerprint,
    read_key,
)


def key_bytes(module):
    params = module.params
    if params['content'] is not None:
        return to_bytes(params['content']), 'the content given'
    if params['src']:
        try:
            with open(params['src'], 'rb') as handle:
                return handle.read(), params['src']
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot read the key file %s: %s' % (params['src'], to_native(e)))
    response, info = fetch_url(module, params['url'], timeout=params['timeout'])
    status = info.get('status')
    if response is None or (status is not None and not 200 <= status < 300):  # file:// has no status
        module.fail_json(msg='cannot fetch the key from %s: %s' % (params['url'], info.get('msg', 'no answer')),
                         status=info.get('status'))
    return response.read(), params['url']


def current_keyring(path):
    """(bytes, fingerprints) of the keyring at path: (None, []) when there is none."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError):
        return None, []
    try:
        return data, read_key(data)[1]
    except OpenPGPError:
        return data, []


def write(module, path, data):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    module.atomic_move(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str'),
            src=dict(type='path'),
            content=dict(type='str'),
            fingerprints=dict(type='list', elements='str', required=True),
            dest=dict(type='path', required=True),
            mode=dict(type='raw', default='0644'),
            owner=dict(type='str', default='root'),
            group=dict(type='str', default='root'),
            validate_certs=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
        ),
        mutually_exclusive=[('url', 'src', 'content')],
        required_one_of=[('url', 'src', 'content')],
        supports_check_mode=True,
    )
    params = module.params
    accepted = [normalize_fingerprint(f) for f in params['fingerprints'] if normalize_fingerprint(f)]
    if not accepted:
        module.fail_json(msg='fingerprints is empty: a key is trusted only by its fingerprint')

    data, origin = key_bytes(module)
    try:
        keyring, found = read_key(data)
    except OpenPGPError as e:
        module.fail_json(msg='the key from %s is not an OpenPGP public key: %s' % (origin, e))
    strangers = [f for f in found if f not in accepted]
    if strangers:
        module.fail_json(
            msg='the key from %s has fingerprint(s) %s, not among the accepted %s: it is not trusted and '
                'nothing was written' % (origin, ', '.join(found), ', '.join(accepted)),
            fingerprints=found)

    dest = params['dest']
    before, before_fingerprints = current_keyring(dest)
    changed = before != keyring
    result = dict(changed=changed, fingerprints=found, dest=dest)
    if module._diff:
        result['diff'] = dict(before_header=dest, after_header=dest,
                              before='\n'.join(before_fingerprints) + ('\n' if before_fingerprints else ''),
                              after='\n'.join(found) + '\n')
    if changed and not module.check_mode:
        write(module, dest, keyring)
    if os.path.exists(dest):
        # In check mode this only tells whether the mode or owner would change.
        file_args = module.load_file_common_arguments(dict(path=dest, mode=params['mode'], owner=params['owner'], group=params['group']))
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
