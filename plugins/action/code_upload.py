# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""code_upload: pack a directory in the controller's process, send it, unpack it on the host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tarfile
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.unitchannels.deploy.plugins.plugin_utils.code_tree import entries, git_tracked

ARGUMENT_SPEC = dict(
    src=dict(type='path', required=True),
    dest=dict(type='str', required=True),  # the host's path: nothing of the controller's expanded in it
    excludes=dict(type='list', elements='str', default=[]),
    git_tracked=dict(type='bool', default=False),
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw'),
)


def pack(src, excludes, fileobj, tracked=None):
    """Write what a release ships from src (code_tree.entries: the walk code_release_id names it
    by) as a gzipped tar to fileobj, paths relative to src; return the count of regular files."""
    count = 0
    with tarfile.open(fileobj=fileobj, mode='w:gz') as archive:
        for relpath, kind, path in entries(src, excludes, tracked):
            archive.add(path, arcname=relpath, recursive=False)
            count += kind == 'file'
    return count


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail('code_upload: %s' % '; '.join(validation.error_messages))
        args = validation.validated_parameters
        src = os.path.expanduser(args['src'])
        if not os.path.isdir(src):
            raise AnsibleActionFail('code_upload: %s is not a directory on the controller' % args['src'])
        if self._task.check_mode:
            result.update(changed=True, msg='would send %s and unpack it into %s' % (src, args['dest']))
            return result

        handle, local = tempfile.mkstemp(suffix='.tar.gz', prefix='code_upload-')
        try:
            with os.fdopen(handle, 'wb') as fileobj:
                try:
                    tracked = git_tracked(src) if args['git_tracked'] else None
                    count = pack(src, args['excludes'], fileobj, tracked)
                except ValueError as e:
                    raise AnsibleActionFail('code_upload: %s' % e)
                except (OSError, tarfile.TarError) as e:
                    raise AnsibleActionFail('code_upload: cannot pack %s: %s' % (src, e))
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'code.tar.gz')
            self._transfer_file(local, remote)
            # Readable by the become user, when it is not the connection's.
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            unpack_args = dict(src=remote, dest=args['dest'])
            for key in ('owner', 'group', 'mode'):
                if args[key] is not None:
                    unpack_args[key] = args[key]
            result.update(self._execute_module(module_name='unitchannels.deploy.code_unpack', module_args=unpack_args,
                                               task_vars=task_vars))
            result['files_sent'] = count
            return result
        finally:
            os.unlink(local)
            self._remove_tmp_path(self._connection._shell.tmpdir)
