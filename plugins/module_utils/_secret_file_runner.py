# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_file: put a secret into a file on the managed host, or take it away.

Runs on managed hosts, so it imports only the standard library, ansible's module_utils and ``_files``
(never ``requests`` or ``cryptography``, never ``_module``/``_http``/``_kps``). The file's bytes decide:
the same bytes leave the content alone and only fix mode/owner/group; other bytes (or no file) are written
with ``_files.write_secret_file`` (a 0600 temp file in the same directory, then an atomic rename).
Results and diffs never carry the content, not even a hash of it.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    SecretFileError,
    backup_file,
    task_file_args,
    task_mode,
    write_secret_file,
)

DEFAULT_MODE = 0o600
# A private key is a few KiB; a file bigger than this is not compared byte by byte, it is simply replaced.
MAX_COMPARE_BYTES = 16 * 1024 * 1024
HIDDEN = '(secret content, not shown)'
HIDDEN_NEW = '(new secret content, not shown)'


class SecretFileRunnerError(Exception):
    """A problem the user must fix. Never holds the content."""

    def __init__(self, msg):
        super(SecretFileRunnerError, self).__init__(msg)
        self.msg = msg


def _octal(mode):
    return None if mode is None else '0%03o' % mode


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def describe(path):
    """What the diff shows of a path: existence, mode, owner and group; never the content."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return dict(exists=False)
        raise SecretFileRunnerError('Cannot check %s: %s.' % (path, exc.strerror or exc))
    return dict(exists=True, mode=_octal(stat.S_IMODE(st.st_mode)), owner=_user_name(st.st_uid),
                group=_group_name(st.st_gid), content=HIDDEN)


def same_content(path, content):
    """Whether the regular file ``path`` holds exactly the bytes ``content`` (False when it does not exist)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        raise SecretFileRunnerError('Cannot check %s: %s.' % (path, exc.strerror or exc))
    if not stat.S_ISREG(st.st_mode):
        raise SecretFileRunnerError('%s exists and is not a regular file.' % path)
    if st.st_size != len(content) or st.st_size > MAX_COMPARE_BYTES:
        return False
    try:
        with open(path, 'rb') as handle:
            return handle.read(len(content) + 1) == content
    except (IOError, OSError) as exc:
        raise SecretFileRunnerError('Cannot read %s to compare it: %s.' % (path, exc.strerror or exc))


class SecretFileRunner(object):
    """Runs kps_private_key_file for one ``AnsibleModule`` (created with ``add_file_common_args``)."""

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def execute(self):
        try:
            result = self._execute()
        except (SecretFileRunnerError, SecretFileError) as exc:
            self.module.fail_json(msg=exc.msg, path=self.params['path'])
        self.module.exit_json(**result)

    def _execute(self):
        path = self.params['path']
        # A symbolic link is followed for writing (as copy does); state=absent removes the link itself.
        real_path = os.path.realpath(path) if os.path.islink(path) else path
        if self.params['state'] == 'absent':
            return self._absent(path)
        return self._present(path, real_path)

    def _mode(self, base_mode):
        """The numeric mode the file gets; a symbolic mode applies to ``base_mode``."""
        try:
            return task_mode(self.module, base_mode, DEFAULT_MODE)
        except ValueError as exc:
            raise SecretFileRunnerError(str(exc))

    def _present(self, path, real_path):
        if self.params['content'] is None or self.params['content'] == '':
            raise SecretFileRunnerError('content is empty; give the secret to write (or state=absent).')
        if os.path.isdir(real_path):
            raise SecretFileRunnerError('%s is a directory; give the path of the file.' % path)
        content = to_bytes(self.params['content'], errors='surrogate_or_strict')
        before = describe(real_path)
        unchanged = same_content(real_path, content)
        check_mode = self.module.check_mode
        if not unchanged and not os.path.isdir(os.path.dirname(os.path.abspath(real_path))) and not check_mode:
            raise SecretFileRunnerError('Cannot write %s: the directory %s does not exist.'
                                        % (path, os.path.dirname(os.path.abspath(real_path))))

        base_mode = int(before['mode'], 8) if unchanged else DEFAULT_MODE
        mode = self._mode(base_mode)
        backup = None
        changed = not unchanged
        if changed and not check_mode:
            backup = write_secret_file(real_path, content, mode=mode, backup=self.params['backup'])

        file_args = task_file_args(self.module, real_path, mode, before.get('owner'), before.get('group'))
        if not (check_mode and changed and not before['exists']):
            # In check mode a file that is not there yet has no attributes to compare: it is a change anyway.
            changed = self.module.set_fs_attributes_if_different(file_args, changed)

        if check_mode:
            after = self._predicted(before, file_args, mode, not unchanged)
        else:
            after = describe(real_path)
            if not unchanged:
                after['content'] = HIDDEN_NEW
        result = dict(changed=changed, path=path, state='present', content_changed=not unchanged,
                      backup_file=backup, msg=self._message(changed, unchanged, before['exists']))
        if self.module._diff:
            result['diff'] = dict(before=before, after=after, before_header=path, after_header=path)
        return result

    @staticmethod
    def _predicted(before, file_args, mode, content_changed):
        after = dict(before, exists=True, mode=_octal(mode), content=HIDDEN_NEW if content_changed else HIDDEN)
        if file_args.get('owner') is not None:
            after['owner'] = str(file_args['owner'])
        elif not before['exists']:
            after['owner'] = _user_name(os.geteuid())
        if file_args.get('group') is not None:
            after['group'] = str(file_args['group'])
        elif not before['exists']:
            after['group'] = _group_name(os.getegid())
        return after

    def _absent(self, path):
        exists = os.path.lexists(path)
        if exists and os.path.isdir(path) and not os.path.islink(path):
            raise SecretFileRunnerError('%s is a directory; this module only removes files.' % path)
        before = describe(path) if exists and not os.path.islink(path) else dict(exists=exists)
        backup = None
        if exists and not self.module.check_mode:
            if self.params['backup'] and not os.path.islink(path):
                backup = backup_file(path)
            try:
                os.unlink(path)
            except OSError as exc:
                raise SecretFileRunnerError('Cannot remove %s: %s.' % (path, exc.strerror or exc))
        result = dict(changed=exists, path=path, state='absent', content_changed=exists, backup_file=backup,
                      msg=(('Would remove' if self.module.check_mode else 'Removed') + ' the file.') if exists
                      else 'The file does not exist.')
        if self.module._diff:
            result['diff'] = dict(before=before, after=dict(exists=False), before_header=path, after_header=path)
        return result

    def _message(self, changed, unchanged, existed):
        would = self.module.check_mode
        if not changed:
            return 'The file is up to date.'
        if unchanged:
            return '%s the mode, owner or group of the file.' % ('Would fix' if would else 'Fixed')
        return '%s the file.' % (('Would replace' if would else 'Replaced') if existed
                                 else ('Would create' if would else 'Created'))
