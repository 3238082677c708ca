# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Directories and small files put in place in one module run (app_files, configured_service).

Each entry is compared with what the host holds, and only what differs is written: a file
atomically (a temporary file beside it, then renamed), with a diff per path.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import shlex
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

# The argument specs of an entry of `directories` and of `files`.
DIRECTORY_SPEC = dict(path=dict(type='path', required=True), owner=dict(type='str', default='root'),
                      group=dict(type='str', default='root'), mode=dict(type='raw', required=True))
FILE_SPEC = dict(DIRECTORY_SPEC, content=dict(type='str'), secret_content=dict(type='str', no_log=True),
                 backup=dict(type='bool', default=False), validate=dict(type='str'))


def files_option():
    """The `files` option: a list of FILE_SPEC entries, each with content or secret_content."""
    return dict(type='list', elements='dict', default=[], options=FILE_SPEC,
                mutually_exclusive=[('content', 'secret_content')],
                required_one_of=[('content', 'secret_content')])


def owner_ids(module, owner, group, where=None):
    """The numeric IDs of owner and group (-1 for one not given), or a failure naming the missing one."""
    ids = []
    for kind, name, lookup in (('owner', owner, lambda n: pwd.getpwnam(n).pw_uid), ('group', group, lambda n: grp.getgrnam(n).gr_gid)):
        try:
            ids.append(lookup(name) if name else -1)
        except KeyError:
            what = '%s: the %s %s' % (where, kind, name) if where else 'The %s %s' % (kind, name)
            module.fail_json(msg=what + ' does not exist on this host')
    return tuple(ids)


LINE_SPEC = dict(path=dict(type='path', required=True), line=dict(type='str', required=True))
LINK_SPEC = dict(path=dict(type='path', required=True), target=dict(type='path', required=True))


class AppFiles(object):

    def __init__(self, module):
        self.module = module
        self.changed_paths = []
        self.diffs = []
        self.backup_files = {}

    def ids(self, entry):
        uid, gid = owner_ids(self.module, entry['owner'], entry['group'], entry['path'])
        mode = entry['mode']
        try:
            # YAML reads 0644 unquoted as the number 420: that is the mode already.
            mode = mode if isinstance(mode, int) else int(str(mode), 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            self.module.fail_json(msg='%s: mode %r is not an octal mode such as "0644"' % (entry['path'], entry['mode']))
        return uid, gid, mode

    @staticmethod
    def attributes(st):
        return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))

    def note(self, path, before, after):
        self.changed_paths.append(path)
        self.diffs.append(dict(before_header=path, after_header=path, before=before, after=after))

    def directory(self, entry):
        path = entry['path']
        wanted = self.ids(entry)
        try:
            st = os.stat(path)  # a link to a directory (data on another volume) is that directory
        except OSError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            self.module.fail_json(msg='%s exists and is not a directory' % path)
        if st is not None and self.attributes(st) == wanted:
            return
        self.note(path, 'absent\n' if st is None else 'directory %s\n' % self.describe(st),
                  'directory %s\n' % self.describe_ids(wanted))
        if self.module.check_mode:
            return
        try:
            if st is None:
                parent = os.path.dirname(path)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o755)  # missing parents: root's, as mkdir -p makes them
                os.mkdir(path, wanted[2])
            os.chown(path, wanted[0], wanted[1])
            os.chmod(path, wanted[2])
        except OSError as e:
            self.module.fail_json(msg='cannot make %s a directory %s: %s' % (path, self.describe_ids(wanted), e),
                                  changed_paths=self.changed_paths)

    def file(self, entry):
        path = entry['path']
        wanted = self.ids(entry)
        secret = entry.get('secret_content') is not None
        content = to_bytes(entry['secret_content'] if secret else entry['content'], errors='surrogate_or_strict')
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            self.module.fail_json(msg='%s exists and is not a regular file' % path)
        current = None
        if st is not None:
            with open(path, 'rb') as handle:
                current = handle.read()
        if current == content and self.attributes(st) == wanted:
            return
        before = '' if current is None else to_text(current, errors='surrogate_or_replace')
        after = to_text(content, errors='surrogate_or_replace')
        if current == content:
            before, after = 'file %s\n' % self.describe(st), 'file %s\n' % self.describe_ids(wanted)
        elif secret:
            before = '' if current is None else '(secret content, not shown)\n'
            after = '(new secret content, not shown)\n'
        directory = os.path.dirname(path)
        if entry.get('validate') and current != content:
            self.validate(path, content, entry['validate'])
        self.note(path, before, after)
        if self.module.check_mode:
            return
        if not os.path.isdir(directory):
            self.module.fail_json(msg='%s: the directory %s does not exist' % (path, directory))
        if entry['backup'] and current is not None and current != content:
            try:
                self.backup_files[path] = self.module.backup_local(path)
            except Exception as e:  # backup_local raises a bare Exception
                self.module.fail_json(msg='cannot keep a copy of %s: %s' % (path, e), changed_paths=self.changed_paths)
        self.replace(path, content, wanted)

    def validate(self, path, content, command):
        """Runs command (%s: a candidate file holding content) and fails with its output when it refuses.

        The candidate is a private temporary file, so the file in place (and what runs with it) is
        untouched. In check mode too, when the command's program exists: a dry run then says what
        a real run would refuse. Before its package is installed (check mode), it is skipped.
        """
        if '%s' not in command:
            self.module.fail_json(msg='%s: validate must hold %%s (the candidate file): %s' % (path, command))
        argv = shlex.split(command)
        if self.module.check_mode and self.module.get_bin_path(argv[0]) is None and not os.path.isfile(argv[0]):
            self.module.warn('%s not validated: %s is not installed yet' % (path, argv[0]))
            return
        fd, tmp = tempfile.mkstemp(prefix='.%s.candidate.' % os.path.basename(path))
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
            rc, out, err = self.module.run_command([arg.replace('%s', tmp) for arg in argv])
        finally:
            os.unlink(tmp)
        if rc != 0:
            said = '\n'.join(line for line in (to_text(err) + '\n' + to_text(out)).replace(tmp, path).splitlines() if line.strip())
            self.module.fail_json(msg='%s was not written: %s refused it (rc %d), and the file in place '
                                      'stays as it was:\n%s' % (path, argv[0], rc, said),
                                  changed_paths=self.changed_paths)

    def line(self, entry):
        """Adds entry['line'] at the end of an existing file that does not have it."""
        # Through a link to its target, as lineinfile writes: the link stays a link.
        path, line = os.path.realpath(entry['path']), to_bytes(entry['line'].rstrip('\n'), errors='surrogate_or_strict')
        try:
            st = os.stat(path)
            with open(path, 'rb') as handle:
                current = handle.read()
        except (IOError, OSError):
            if not self.module.check_mode:
                self.module.fail_json(msg='%s does not exist: cannot add the line %s to it' % (path, entry['line']),
                                      changed_paths=self.changed_paths)
            # In check mode the package that brings the file may not be installed yet.
            self.note(path, 'absent\n', to_text(line) + '\n')
            return
        if line in [held.rstrip(b'\r') for held in current.splitlines()]:
            return
        content = current + (b'\n' if current and not current.endswith(b'\n') else b'') + line + b'\n'
        self.note(path, to_text(current, errors='surrogate_or_replace'), to_text(content, errors='surrogate_or_replace'))
        if not self.module.check_mode:
            self.replace(path, content, self.attributes(st))

    def link(self, entry):
        """Makes path a symbolic link to target; an existing link is replaced through a rename."""
        path, target = entry['path'], entry['target']
        try:
            current = os.readlink(path)
        except OSError:
            current = None
            if os.path.lexists(path):
                self.module.fail_json(msg='%s exists and is not a symbolic link' % path, changed_paths=self.changed_paths)
        if current == target:
            return
        self.note(path, 'absent\n' if current is None else 'link to %s\n' % current, 'link to %s\n' % target)
        if self.module.check_mode:
            return
        # A new link beside it, renamed over the old one: readers never find the path missing.
        tmp = os.path.join(os.path.dirname(path), '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(target, tmp)
            os.rename(tmp, path)
        except OSError as e:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            self.module.fail_json(msg='cannot link %s to %s: %s' % (path, target, e), changed_paths=self.changed_paths)

    def remove(self, path):
        """Removes a file or a symbolic link (never a directory)."""
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode):
            self.module.fail_json(msg='%s is a directory: not removed' % path, changed_paths=self.changed_paths)
        self.note(path, 'present\n', 'absent\n')
        if self.module.check_mode:
            return
        try:
            os.unlink(path)
        except OSError as e:
            self.module.fail_json(msg='cannot remove %s: %s' % (path, e), changed_paths=self.changed_paths)

    def replace(self, path, content, ids):
        """Writes content to path atomically (a temporary file beside it, renamed), with the given ids."""
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
            os.chown(tmp, ids[0], ids[1])
            os.chmod(tmp, ids[2])
            os.rename(tmp, path)
        except OSError as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            self.module.fail_json(msg='cannot write %s: %s' % (path, e), changed_paths=self.changed_paths)

    @staticmethod
    def describe(st):
        return AppFiles.describe_ids(AppFiles.attributes(st))

    @staticmethod
    def describe_ids(ids):
        uid, gid, mode = ids
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = str(uid)
        try:
            group = grp.getgrgid(gid).gr_name
        except KeyError:
            group = str(gid)
        return '%s:%s %04o' % (owner, group, mode)


def put_in_place(module, directories, files, lines=(), links=(), absent=()):
    """Directories, files, lines, links, then the removals; returns the AppFiles with what changed."""
    paths = [item['path'] for item in list(directories) + list(files) + list(lines) + list(links)] + list(absent)
    for path in paths:
        if not os.path.isabs(path):
            module.fail_json(msg='%s is not an absolute path' % path)
    work = AppFiles(module)
    for directory in directories:
        work.directory(directory)
    for item in files:
        work.file(item)
    for item in lines:
        work.line(item)
    for item in links:
        work.link(item)
    for path in absent:
        work.remove(path)
    return work
