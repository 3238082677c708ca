#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: unit_certificate
short_description: Upload a TLS certificate bundle to NGINX Unit, idempotently
description:
  - Uploads a PEM bundle (certificate chain and private key) to Unit's certificate storage
    (C(PUT /certificates/BUNDLE)).
  - Unit refuses to overwrite a bundle, and to delete one a listener uses. The bundle is
    therefore stored under a content-addressed name, C(NAME-HASH) where C(HASH) is the first
    12 hex digits of the SHA-256 of the content. The same content is never uploaded twice,
    new content gets a new name, and the listener is switched to it with
    M(unitchannels.deploy.unit_config) using RV(bundle) as C(tls.certificate).
  - With O(prune=true), the other C(NAME-*) bundles that no listener references any more
    are deleted. Run it after the listener was switched to the new bundle (or run the
    module twice, before switching to upload and after switching to prune).
  - O(state=absent) deletes every C(NAME-*) bundle. If a listener still references one,
    the module fails and deletes nothing.
version_added: 0.1.0
author: unitchannels maintainers (@unitchannels)
options:
  name:
    description:
      - Base name of the bundle. Letters, digits, C(.), C(_) and C(-) only.
      - Bundles are stored as C(NAME-<12 hex digits>); other names are never touched.
    type: str
    required: true
  content:
    description:
      - The PEM bundle, that is the certificate, optionally followed by intermediate certificates
        (leaf to root), and the private key.
      - Line endings are normalized to LF and trailing whitespace to one newline before
        hashing, so a V(lookup('file')) (which strips the last newline) and O(src) give the
        same bundle name. Only the certificate and key blocks are kept (Unit refuses others,
        such as the C(EC PARAMETERS) block C(openssl ecparam -genkey) writes).
      - Mutually exclusive with O(src). One of them is required with O(state=present).
    type: str
  src:
    description:
      - Path of the PEM bundle on the managed host (for example written by certbot there).
      - Mutually exclusive with O(content).
    type: path
  key_src:
    description:
      - Path of the private key on the managed host, when O(src) holds only the chain
        (certbot's C(fullchain.pem) and C(privkey.pem)). The bundle is O(src) followed by the key.
    type: path
  state:
    description:
      - V(present) uploads the bundle if it is not stored yet.
      - V(absent) deletes all C(NAME-*) bundles, failing (without deleting anything) when a
        listener references one.
    type: str
    choices: [absent, present]
    default: present
  prune:
    description:
      - With O(state=present), delete the other C(NAME-*) bundles no listener references.
      - Bundles still referenced are kept and listed in RV(kept).
    type: bool
    default: false
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Unit is read, never written; the content is checked to contain a certificate and a key.
  diff_mode:
    support: full
    details: The diff lists the C(NAME-*) bundles stored in Unit before and after.
  platform:
    platforms: posix
notes:
  - The private key is sent to Unit over the control socket only; O(content) is not logged.
  - Before anything is uploaded the bundle is checked on the managed host. It must hold one private
    key, that of the first certificate, each certificate must be issued by the next one (leaf
    first), and the certificate must be valid now. A bundle that fails says why and changes
    nothing in Unit.
seealso:
  - module: unitchannels.deploy.unit_config
  - name: SSL/TLS certificates in Unit's documentation
    description: How Unit stores certificate bundles and how listeners use them.
    link: https://unit.nginx.org/certificates/
'''

EXAMPLES = r'''
- name: Upload the site certificate
  become: true
  unitchannels.deploy.unit_certificate:
    name: example.com
    content: "{{ lookup('file', 'example.com/fullchain.pem') }}\n{{ example_com_tls_key }}"
  register: unit_cert

- name: Serve HTTPS with it
  become: true
  unitchannels.deploy.unit_config:
    path: /config/listeners/*:443
    value:
      pass: routes
      tls:
        certificate: "{{ unit_cert.bundle }}"

- name: Delete the bundles no listener uses any more
  become: true
  unitchannels.deploy.unit_certificate:
    name: example.com
    content: "{{ lookup('file', 'example.com/fullchain.pem') }}\n{{ example_com_tls_key }}"
    prune: true

- name: Certificate renewed by certbot on the host
  become: true
  unitchannels.deploy.unit_certificate:
    name: example.com
    src: /etc/letsencrypt/live/example.com/bundle.pem

- name: Remove all bundles of the site (after removing the TLS listener)
  become: true
  unitchannels.deploy.unit_certificate:
    name: example.com
    state: absent
'''

RETURN = r'''
bundle:
  description: Name of the bundle holding the content, to use as a listener's C(tls.certificate).
  returned: when O(state=present)
  type: str
  sample: example.com-3f2a9c0b1d4e
uploaded:
  description: Whether the bundle was (in check mode, would be) uploaded.
  returned: when O(state=present)
  type: bool
  sample: true
pruned:
  description: Bundles deleted (in check mode, that would be deleted).
  returned: always
  type: list
  elements: str
  sample: [example.com-0123456789ab]
kept:
  description: Other C(NAME-*) bundles kept because a listener still references them.
  returned: when O(state=present)
  type: list
  elements: str
  sample: []
in_use:
  description: For each C(NAME-*) bundle referenced by listeners, the names of those listeners.
  returned: always
  type: dict
  sample: {"example.com-3f2a9c0b1d4e": ["*:443"]}
bundles:
  description: The C(NAME-*) bundles stored in Unit after the task (as they would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [example.com-3f2a9c0b1d4e]
info:
  description: What Unit reports about RV(bundle) (key type, chain subjects, issuers, validity).
  returned: when O(state=present) and the bundle is stored
  type: dict
  sample:
    key: RSA (2048 bits)
    chain:
      - subject: {common_name: example.com}
        issuer: {common_name: example.com}
        validity: {since: "Nov 25 17:00:00 2026 GMT", until: "Nov 25 17:00:00 2027 GMT"}
response:
  description: Unit's answer to the upload, when one was sent.
  returned: when the bundle was uploaded
  type: raw
  sample: {"success": "Certificate chain uploaded."}
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.unitchannels.deploy.plugins.module_utils.tls_bundle import (
    bundle_name,
    bundle_problems,
    canonical_bundle,
    is_own_bundle,
    normalize_pem,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_config_tree import build_path
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    UnitControlError,
    client_from_module,
    unit_argument_spec,
)

NAME_RE = re.compile(r'^[A-Za-z0-9._-]+$')
ALREADY_EXISTS = 'Certificate already exists.'
IN_USE = 'Certificate is used in the configuration.'


def listener_references(listeners):
    """bundle name -> [listener names] from /config/listeners (string or array certificate)."""
    refs = {}
    if not isinstance(listeners, dict):
        return refs
    for lname, listener in listeners.items():
        tls = listener.get('tls') if isinstance(listener, dict) else None
        cert = tls.get('certificate') if isinstance(tls, dict) else None
        if isinstance(cert, str):
            cert = [cert]
        if not isinstance(cert, list):
            continue
        for c in cert:
            if isinstance(c, str):
                refs.setdefault(c, []).append(lname)
    return refs


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        content=dict(type='str', no_log=True),
        src=dict(type='path'),
        key_src=dict(type='path', no_log=False),
        state=dict(type='str', default='present', choices=['absent', 'present']),
        prune=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE + [('content', 'src'), ('content', 'key_src')],
        required_if=[('state', 'present', ('content', 'src'), True)],
        required_by={'key_src': 'src'},
        supports_check_mode=True,
    )
    name = module.params['name']
    state = module.params['state']
    if not NAME_RE.match(name):
        module.fail_json(msg='name may only contain letters, digits, ".", "_" and "-" (got %r)' % name)

    bundle = None
    pem = None
    if state == 'present':
        if module.params['src']:
            parts = []
            for option in ('src', 'key_src'):
                if not module.params[option]:
                    continue
                try:
                    with open(module.params[option], 'rb') as f:
                        parts.append(normalize_pem(f.read()))
                except (IOError, OSError) as e:
                    module.fail_json(msg='cannot read %s %s: %s' % (option, module.params[option], to_native(e)))
            pem = ''.join(parts)
        else:
            pem = module.params['content']
        pem = canonical_bundle(pem)
        problems = bundle_problems(pem)
        if problems:
            module.fail_json(msg='the certificate bundle for %s cannot be served: %s. Nothing was changed in Unit.'
                                 % (name, '; '.join(problems)))
        bundle = bundle_name(name, pem)

    client = None
    try:
        client = client_from_module(module)
        certs_resp = client.get('/certificates')
        listeners_resp = client.get('/config/listeners')
    except UnitControlError as e:
        module.fail_json(msg=e.msg)
    if certs_resp.status != 200 or not isinstance(certs_resp.body, dict):
        module.fail_json(msg='cannot list certificate bundles (GET /certificates answered HTTP %s: %s); '
                             'is Unit built with TLS support (unitd --version shows --openssl)?'
                             % (certs_resp.status, certs_resp.error_text()))
    listeners = listeners_resp.body if listeners_resp.status == 200 else {}
    refs = listener_references(listeners)
    ours = sorted(n for n in certs_resp.body if is_own_bundle(name, n))
    in_use = dict((n, refs[n]) for n in ours if n in refs)

    result = dict(changed=False, pruned=[], in_use=in_use)
    if state == 'present':
        result.update(bundle=bundle, uploaded=bundle not in certs_resp.body, kept=[])
        others = [n for n in ours if n != bundle]
        to_delete = []
        if module.params['prune']:
            to_delete = [n for n in others if n not in in_use]
            result['kept'] = [n for n in others if n in in_use]
        changed = result['uploaded'] or bool(to_delete)
        after = sorted(set(ours + [bundle]) - set(to_delete))
    else:
        if in_use:
            module.fail_json(
                msg='cannot remove the certificate bundles of %s: %s; switch those listeners to another '
                    'certificate (or remove their tls) first. Nothing was deleted.'
                    % (name, '; '.join('%s is used by listener %s' % (n, ', '.join(sorted(ls)))
                                       for n, ls in sorted(in_use.items()))),
                **result)
        to_delete = list(ours)
        changed = bool(to_delete)
        after = []

    result['changed'] = changed
    result['pruned'] = to_delete
    result['bundles'] = after
    if module._diff:
        result['diff'] = dict(
            before_header='unit:/certificates (%s-*)' % name,
            after_header='unit:/certificates (%s-*)' % name,
            before=''.join('%s\n' % n for n in ours),
            after=''.join('%s\n' % n for n in after),
        )

    if module.check_mode:
        if state == 'present' and not result['uploaded']:
            info = client.get(build_path('certificates', bundle))
            if info.status == 200:
                result['info'] = info.body
        module.exit_json(**result)

    try:
        if state == 'present' and result['uploaded']:
            resp = client.put_raw(build_path('certificates', bundle), to_bytes(pem),
                                  content_type='application/x-pem-file')
            result['response'] = resp.body
            if resp.status == 400 and resp.error == ALREADY_EXISTS:
                # uploaded meanwhile by someone else; the same name means the same content
                result['uploaded'] = False
            elif not resp.ok:
                result['changed'] = False
                result['pruned'] = []
                module.fail_json(
                    msg='Unit refused the certificate bundle %s (HTTP %s: %s). Nothing was changed.'
                        % (bundle, resp.status, resp.error_text()), status=resp.status, **result)

        deleted = []
        for n in to_delete:
            resp = client.delete(build_path('certificates', n))
            if resp.ok or resp.status == 404:
                if resp.ok:
                    deleted.append(n)
                continue
            if resp.status == 400 and resp.error == IN_USE and state == 'present':
                # referenced meanwhile: keep it
                result['kept'].append(n)
                module.warn('certificate bundle %s became in use meanwhile and was kept' % n)
                continue
            result['pruned'] = deleted
            result['changed'] = bool(deleted) or result.get('uploaded', False)
            module.fail_json(msg='Unit refused to delete certificate bundle %s (HTTP %s: %s)'
                                 % (n, resp.status, resp.error_text()), status=resp.status, **result)
        result['pruned'] = deleted
        result['bundles'] = sorted(set(after) | (set(to_delete) - set(deleted)))
        result['changed'] = result.get('uploaded', False) or bool(deleted)

        if state == 'present':
            info = client.get(build_path('certificates', bundle))
            if info.status == 200:
                result['info'] = info.body
    except UnitControlError as e:
        module.fail_json(msg=e.msg, **result)

    module.exit_json(**result)


if __name__ == '__main__':
    main()
