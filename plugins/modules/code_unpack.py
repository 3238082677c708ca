#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: code_unpack
short_description: Unpack a tar archive on the host into a new directory, owned and moded as asked
description:
  - Creates O(dest) (and its missing parents, mode 0755), unpacks the tar archive O(src) (plain,
    gzip, bzip2 or xz) into it, and gives everything unpacked, O(dest) included, O(owner),
    O(group) and O(mode).
  - The host side of M(unitchannels.deploy.code_upload), usable alone for an archive already on
    the host. One module run that reads the archive once, where M(ansible.builtin.unarchive)
    lists it, compares it with O(dest) and then unpacks it with C(tar), and a separate task makes
    the directory.
  - Meant for a new directory, such as a release; it always unpacks and reports a change, and
    leaves alone what O(dest) held that the archive does not.
  - An entry with an absolute name or a C(..) component (a hard link's target too), or that is
    neither a file, a directory nor a link, fails the module before anything is written.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  src:
    description: The archive, on the host.
    type: path
    required: true
  dest:
    description: The directory to unpack into.
    type: path
    required: true
  owner:
    description: The owner of O(dest) and of everything unpacked; by default the user the module runs as.
    type: str
  group:
    description: The group of O(dest) and of everything unpacked.
    type: str
  mode:
    description:
      - The mode of O(dest) and of everything unpacked (not of symbolic links), octal (V("0644")) or
        symbolic as M(ansible.builtin.file) takes it (with V(u=rwX,g=rX,o=rX), C(X) keeps
        directories and executables executable). By default each entry keeps the archive's mode.
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports a change and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: unitchannels.deploy.code_upload
  - module: ansible.builtin.unarchive
'''

EXAMPLES = r'''
- name: Unpack the release, the app user's, readable by all
  become: true
  unitchannels.deploy.code_unpack:
    src: /var/tmp/release.tar.gz
    dest: /srv/chat/releases/3f2a9c1d0b7e
    owner: unit
    group: unit
    mode: u=rwX,g=rX,o=rX
'''

RETURN = r'''
dest:
  description: The directory unpacked into.
  returned: always
  type: str
  sample: /srv/chat/releases/3f2a9c1d0b7e
files:
  description: How many files and links were (in check mode, would be) unpacked.
  returned: always
  type: int
  sample: 42
'''

import os
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.app_files import owner_ids


def unsafe(member):
    """Why an archive entry must not be unpacked, or None."""
    for name in [member.name] + ([member.linkname] if member.islnk() else []):
        if os.path.isabs(name) or '..' in name.split('/'):
            return 'the name %s leads out of the directory' % name
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return '%s is neither a file, a directory nor a link' % member.name
    return None


def wanted_mode(module, path):
    """The mode `mode` gives path (None: keep it), failing on a mode that is neither octal nor symbolic."""
    mode = module.params['mode']
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        pass
    try:
        return module._symbolic_mode_to_octal(os.lstat(path), str(mode))
    except ValueError as e:
        module.fail_json(msg='mode %r is neither octal nor symbolic: %s' % (mode, e))


def settle(module, path, uid, gid):
    os.lchown(path, uid, gid)
    if not os.path.islink(path):
        mode = wanted_mode(module, path)
        if mode is not None:
            os.chmod(path, mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path', required=True),
            dest=dict(type='path', required=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw'),
        ),
        supports_check_mode=True,
    )
    src, dest = module.params['src'], module.params['dest']
    try:
        archive = tarfile.open(src, 'r:*')
    except (OSError, tarfile.TarError) as e:
        module.fail_json(msg='%s is not a tar archive this host can read: %s' % (src, e))
    with archive:
        members = archive.getmembers()
        for member in members:
            reason = unsafe(member)
            if reason:
                module.fail_json(msg='%s: nothing was unpacked, since %s' % (src, reason), dest=dest)
        uid, gid = owner_ids(module, module.params['owner'], module.params['group'])
        wanted_mode(module, src)  # a mode that is neither octal nor symbolic fails before anything is written
        result = dict(changed=True, dest=dest, files=sum(1 for m in members if not m.isdir()))
        if module.check_mode:
            module.exit_json(**result)
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o755)
        settle(module, dest, uid, gid)
        for member in members:
            path = os.path.join(dest, member.name)
            # Python's own traversal checks (3.12, and security updates before it) on top of ours.
            archive.extract(member, dest, set_attrs=True, **({'filter': 'tar'} if hasattr(tarfile, 'tar_filter') else {}))
            settle(module, path, uid, gid)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
