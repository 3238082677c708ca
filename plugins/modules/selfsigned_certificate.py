#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: selfsigned_certificate
short_description: Keep a self-signed (or private CA's) certificate and its key on the host, made again before it ends
description:
  - Makes a self-signed certificate (EC P-256) and its private key with C(openssl) when O(path) or
    O(key_path) is missing, unreadable, or ends within O(renew_before_days) days.
  - Both files are written beside their final names and renamed into place, so a service that
    reads them never sees half a file; the key is readable by root only.
  - With O(ca_path), the certificate is issued by a private CA kept there (made once, for 10 years),
    so that clients that trust the CA's certificate trust every renewal. A certificate the CA in
    place did not issue is made again.
  - The names are not checked against O(subject_alt_names) - callers put a hash of the names into
    O(path), so new names make a new file.
  - For internal hosts and demos - browsers warn, and clients must trust the certificate themselves.
version_added: 0.6.0
author: unitchannels maintainers (@unitchannels)
options:
  path:
    description: Path of the certificate (PEM). Its directory must exist.
    type: path
    required: true
  key_path:
    description: Path of the private key (PEM), in a directory only root may read.
    type: path
    required: true
  common_name:
    description: The certificate's subject C(CN).
    type: str
    required: true
  subject_alt_names:
    description:
      - The certificate's C(subjectAltName) as openssl reads it (C(DNS:chat.example.com,IP:10.0.0.5)),
        what the P(unitchannels.deploy.subject_alt_names#filter) filter makes of a list of names.
    type: str
    required: true
  ca_path:
    description:
      - Path of a private CA's certificate that issues the certificate; made (with O(ca_key_path))
        when missing. Clients trust it once. Omitted - the certificate is self-signed.
    type: path
  ca_key_path:
    description: Path of the private CA's key, in a directory only root may read. Required with O(ca_path).
    type: path
  days:
    description: How long a new certificate lasts.
    type: int
    default: 825
  renew_before_days:
    description: A certificate that ends within this many days is made again.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs the C(openssl) command on the host (Debian's C(openssl) package).
'''

EXAMPLES = r'''
- name: Keep a self-signed certificate for the edge
  unitchannels.deploy.selfsigned_certificate:
    path: /etc/haproxy/tls/selfsigned-0a1b2c.pem
    key_path: /etc/haproxy/tls/selfsigned-0a1b2c.pem.key
    common_name: chat.example.com
    subject_alt_names: "{{ ['chat.example.com', '10.0.0.5'] | unitchannels.deploy.subject_alt_names }}"
'''

RETURN = r'''
ca_made:
  description: Whether the private CA was made (or would be, in check mode) - clients must trust it anew.
  returned: always
  type: bool
  sample: false
reason:
  description: Why the certificate was made (or would be, in check mode); empty when it was kept.
  returned: always
  type: str
  sample: ends within 30 days
'''

import os

from ansible.module_utils.basic import AnsibleModule

# A private CA lasts ten years: its clients trust it once.
CA_DAYS = 3650


def why_make(module, path, key_path, renew_before_days, ca_path=None):
    """Why the certificate must be made, or '' when the one in place lasts long enough (and was
    issued by the CA at ca_path, if any)."""
    for name in (path, key_path):
        if not os.path.exists(name):
            return '%s is missing' % name
    rc, out, err = module.run_command(
        ['openssl', 'x509', '-checkend', str(renew_before_days * 86400), '-noout', '-in', path])
    if rc == 0 and ca_path:
        rc, out, err = module.run_command(['openssl', 'verify', '-CAfile', ca_path, path])
        return '' if rc == 0 else 'it was not issued by the CA %s' % ca_path
    if rc == 0:
        return ''
    if 'will expire' in out:
        return 'ends within %d days' % renew_before_days
    return '%s is not a certificate openssl reads (%s)' % (path, (err or out).strip())


def make(module, path, key_path, days, extra):
    """openssl req into files beside the final ones, renamed into place (key first)."""
    new_key, new_cert = key_path + '.new', path + '.new'
    old_umask = os.umask(0o077)
    try:
        rc, out, err = module.run_command([
            'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-days', str(days), '-keyout', new_key, '-out', new_cert] + extra)
    finally:
        os.umask(old_umask)
    if rc != 0:
        for name in (new_key, new_cert):
            if os.path.exists(name):
                os.unlink(name)
        module.fail_json(msg='openssl could not make the self-signed certificate %s: %s' % (path, (err or out).strip()))
    os.chmod(new_cert, 0o644)
    os.rename(new_key, key_path)
    os.rename(new_cert, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            key_path=dict(type='path', required=True, no_log=False),
            common_name=dict(type='str', required=True),
            subject_alt_names=dict(type='str', required=True),
            days=dict(type='int', default=825),
            renew_before_days=dict(type='int', default=30),
            ca_path=dict(type='path'),
            ca_key_path=dict(type='path', no_log=False),
        ),
        required_together=[('ca_path', 'ca_key_path')],
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isdir(os.path.dirname(params['path']) or '.'):
        module.fail_json(msg='the directory of %s does not exist' % params['path'])
    if params['renew_before_days'] >= params['days']:
        module.fail_json(msg='renew_before_days (%d) must be less than days (%d): the certificate would be made on every run'
                         % (params['renew_before_days'], params['days']))
    module.run_command_environ_update = dict(LANG='C', LC_ALL='C')
    ca_path = params['ca_path']
    ca_reason = ca_path and why_make(module, ca_path, params['ca_key_path'], params['renew_before_days'])
    if ca_reason and not module.check_mode:
        make(module, ca_path, params['ca_key_path'], CA_DAYS,
             ['-subj', '/CN=%s private CA' % params['common_name'],
              '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    reason = ('the CA was made: %s' % ca_reason) if ca_reason else why_make(
        module, params['path'], params['key_path'], params['renew_before_days'], ca_path)
    if reason and not module.check_mode:
        issuer = ['-CA', ca_path, '-CAkey', params['ca_key_path'], '-addext', 'basicConstraints=CA:FALSE'] if ca_path else []
        make(module, params['path'], params['key_path'], params['days'],
             ['-subj', '/CN=%s' % params['common_name'], '-addext', 'subjectAltName=%s' % params['subject_alt_names']] + issuer)
    module.exit_json(changed=bool(reason), reason=reason, ca_made=bool(ca_reason))


if __name__ == '__main__':
    main()
