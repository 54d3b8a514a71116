# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The work of kps_private_key_file: put a secret into a file on the managed host, or take it away.

Runs on managed hosts, so it imports only the standard library, ansible's module_utils and ``_files``
(never ``requests`` or ``cryptography``, never ``_module``/``_http``/``_kps``). Every file operation goes
through the write core (``_files.open_dir``): the directory is opened without following links another user
could have planted, a link at ``path`` is replaced by a regular file (never followed), and a written file
belongs to ``owner``/``group`` or else to the user running the module. The file's bytes decide: the same
bytes leave the content alone and only fix mode/owner/group; other bytes (or no file, or a link) are written.
Results and diffs never carry the content, not even a hash of it.
"""

from __future__ import annotations

import os
import stat

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import Runner
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    DEFAULT_MODE,
    SecretFileError,
    group_name,
    hard_linked,
    missing_dirs,
    octal,
    open_dir,
    other_file_args,
    task_mode,
    task_owner,
    user_name,
)

HIDDEN = '(secret content, not shown)'
HIDDEN_NEW = '(new secret content, not shown)'


def describe(st):
    """What the diff shows of a name (its lstat result): existence, mode, owner and group; never the content."""
    if st is None:
        return dict(exists=False)
    if stat.S_ISLNK(st.st_mode):
        return dict(exists=True, symlink=True)
    return dict(exists=True, mode=octal(stat.S_IMODE(st.st_mode)), owner=user_name(st.st_uid),
                group=group_name(st.st_gid), content=HIDDEN)


class SecretFileRunner(Runner):
    """Runs kps_private_key_file for one ``AnsibleModule`` (created with ``add_file_common_args``)."""

    def _failure(self, exc):
        return exc.result(path=self.params['path'])

    def _execute(self):
        path = self.params['path']
        directory, name = os.path.split(os.path.abspath(path))
        if not name or path.endswith('/'):
            raise SecretFileError('%s names a directory; give the path of the file.' % path)
        if self.params['state'] == 'absent':
            return self._absent(path, directory, name)
        if self.params['content'] is None or self.params['content'] == '':
            raise SecretFileError('content is empty; give the secret to write (or state=absent).')
        uid, gid = task_owner(self.module)  # an unknown owner or group fails before anything is written
        return self._present(path, directory, name, uid, gid)

    def _mode(self, base_mode):
        """The numeric mode the file gets; a symbolic mode applies to ``base_mode``."""
        return task_mode(self.module, base_mode)

    def _present(self, path, directory, name, uid, gid):
        content = to_bytes(self.params['content'], errors='surrogate_or_strict')
        check_mode = self.module.check_mode
        if missing_dirs(directory):
            if not check_mode:
                raise SecretFileError('Cannot write %s: the directory %s does not exist.' % (path, directory))
            # In check mode an earlier task may create the directory in a real run: report the file as new.
            mode = self._mode(DEFAULT_MODE)
            return self._result(path, True, False, dict(exists=False),
                                self._predicted(dict(exists=False), mode, uid, gid, True), None)

        with open_dir(directory) as folder:
            st = folder.lstat(name)
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise SecretFileError('%s is a directory; give the path of the file.' % path)
            before = describe(st)
            # A link is never read through, and a file with other hard links is not ours alone: both are
            # replaced by a new regular file.
            unchanged = not hard_linked(st) and folder.read(name, len(content)) == content
            mode = self._mode(stat.S_IMODE(st.st_mode) if unchanged else DEFAULT_MODE)
            backup = None
            if unchanged:
                changed = folder.set_attributes(name, mode, uid, gid, check=check_mode)
            else:
                changed = True
                if not check_mode:
                    backup = folder.write(name, content, mode, uid, gid, backup=self.params['backup'])
            if not check_mode or before['exists'] and not before.get('symlink'):
                # SELinux context and file attributes, when the task sets them.
                changed = self.module.set_fs_attributes_if_different(
                    other_file_args(self.module, folder.join(name)), changed)
            if check_mode:
                after = self._predicted(before, mode, uid, gid, not unchanged)
            else:
                after = describe(folder.lstat(name))
                if not unchanged:
                    after['content'] = HIDDEN_NEW
        return self._result(path, changed, before['exists'], before, after, backup, not unchanged)

    def _result(self, path, changed, existed, before, after, backup, content_changed=True):
        result = dict(changed=changed, path=path, state='present', content_changed=content_changed,
                      backup_file=backup, msg=self._message(changed, not content_changed, existed))
        if self.module._diff:
            result['diff'] = dict(before=before, after=after, before_header=path, after_header=path)
        return result

    @staticmethod
    def _predicted(before, mode, uid, gid, content_changed):
        """The diff's ``after`` in check mode: a written file belongs to owner/group, else to the running user."""
        after = dict(exists=True, mode=octal(mode), content=HIDDEN_NEW if content_changed else HIDDEN)
        if content_changed or uid is not None:
            after['owner'] = user_name(os.geteuid() if uid is None else uid)
        else:
            after['owner'] = before['owner']
        if content_changed or gid is not None:
            after['group'] = group_name(os.getegid() if gid is None else gid)
        else:
            after['group'] = before['group']
        return after

    def _absent(self, path, directory, name):
        check_mode = self.module.check_mode
        before = dict(exists=False)
        backup = None
        if not missing_dirs(directory):
            with open_dir(directory) as folder:
                st = folder.lstat(name)
                if st is not None and stat.S_ISDIR(st.st_mode):
                    raise SecretFileError('%s is a directory; this module only removes files.' % path)
                before = describe(st)
                if st is not None and not check_mode:
                    if self.params['backup']:
                        backup = folder.backup(name)  # None for a link: only regular files are kept
                    folder.unlink(name)
                    folder.fsync()
        exists = before['exists']
        result = dict(changed=exists, path=path, state='absent', content_changed=exists, backup_file=backup,
                      msg=(('Would remove' if check_mode else 'Removed') + ' the file.') if exists
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
