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
from typing import TYPE_CHECKING, Any

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    DEFAULT_MODE,
    SecretFileError,
    attributes_differ,
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
from ansible_collections.huaweicloud.kps.plugins.module_utils._runner import Plan, Runner

if TYPE_CHECKING:  # annotations only
    from ansible.module_utils.basic import AnsibleModule

    from ansible_collections.huaweicloud.kps.plugins.module_utils._files import Directory

HIDDEN = '(secret content, not shown)'
HIDDEN_NEW = '(new secret content, not shown)'


def describe(st: os.stat_result | None) -> dict[str, Any]:
    """What the diff shows of a name (its lstat result): existence, mode, owner and group; never the content."""
    if st is None:
        return dict(exists=False)
    if stat.S_ISLNK(st.st_mode):
        return dict(exists=True, symlink=True)
    return dict(exists=True, mode=octal(stat.S_IMODE(st.st_mode)), owner=user_name(st.st_uid),
                group=group_name(st.st_gid), content=HIDDEN)


class SecretFileRunner(Runner):
    """Runs kps_private_key_file for one ``AnsibleModule`` (created with ``add_file_common_args``)."""

    def __init__(self, module: AnsibleModule) -> None:
        super().__init__(module)
        self._folder: Directory | None = None  # the file's directory (``_files.Directory``), open from plan() to the end

    def _failure(self, exc: KpsError) -> dict[str, Any]:
        return exc.result(path=self.params['path'])

    def _close(self) -> None:
        if self._folder is not None:
            self._folder.close()

    def plan(self) -> Plan:
        path = self.params['path']
        directory, name = os.path.split(os.path.abspath(path))
        if not name or path.endswith('/'):
            raise SecretFileError('%s names a directory; give the path of the file.' % path)
        if self.params['state'] == 'absent':
            return self._plan_absent(path, directory, name)
        if self.params['content'] is None or self.params['content'] == '':
            raise SecretFileError('content is empty; give the secret to write (or state=absent).')
        uid, gid = task_owner(self.module)  # an unknown owner or group fails before anything is written
        return self._plan_present(path, directory, name, uid, gid)

    def _plan_present(self, path: str, directory: str, name: str, uid: int | None, gid: int | None) -> Plan:
        content = to_bytes(self.params['content'], errors='surrogate_or_strict')
        if missing_dirs(directory):
            if not self.module.check_mode:
                raise SecretFileError('Cannot write %s: the directory %s does not exist.' % (path, directory))
            # In check mode an earlier task may create the directory in a real run: report the file as new.
            before = dict(exists=False)
            after = self._predicted(before, task_mode(self.module, DEFAULT_MODE), uid, gid, True)
            return Plan(changed=True, before=before, after=after, path=path, state='present', content_changed=True,
                        backup=None)

        self._folder = folder = open_dir(directory)
        st = folder.lstat(name)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise SecretFileError('%s is a directory; give the path of the file.' % path)
        before = describe(st)
        # A link is never read through, and a file with other hard links is not ours alone: both are
        # replaced by a new regular file.
        unchanged = not hard_linked(st) and folder.read(name, len(content), expect=st) == content
        mode = task_mode(self.module, stat.S_IMODE(st.st_mode) if unchanged else DEFAULT_MODE)
        changed = not unchanged or folder.set_attributes(name, mode, uid, gid, check=True, expect=st)
        if before['exists'] and not before.get('symlink'):
            changed = attributes_differ(self.module, folder.join(name)) or changed
        return Plan(changed=changed, before=before, after=self._predicted(before, mode, uid, gid, not unchanged),
                    path=path, state='present', content_changed=not unchanged, backup=None,
                    name=name, content=content, mode=mode, uid=uid, gid=gid, st=st)

    def _plan_absent(self, path: str, directory: str, name: str) -> Plan:
        before = dict(exists=False)
        if not missing_dirs(directory):
            self._folder = open_dir(directory)
            st = self._folder.lstat(name)
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise SecretFileError('%s is a directory; this module only removes files.' % path)
            before = describe(st)
        exists = before['exists']
        return Plan(changed=exists, before=before, after=dict(exists=False), path=path, state='absent',
                    content_changed=exists, backup=None, name=name)

    def apply(self, plan: Plan) -> None:
        folder = self._folder
        if plan.state == 'absent':
            if self.params['backup']:
                plan.backup = folder.backup(plan.name)  # None for a link: only regular files are kept
            folder.unlink(plan.name)
            folder.fsync()
            return
        if plan.content_changed:
            plan.backup = folder.write(plan.name, plan.content, plan.mode, plan.uid, plan.gid,
                                       backup=self.params['backup'])
        else:
            folder.set_attributes(plan.name, plan.mode, plan.uid, plan.gid, expect=plan.st)  # only the file read
        # SELinux context and file attributes, when the task sets them.
        self.module.set_fs_attributes_if_different(other_file_args(self.module, folder.join(plan.name)), True)
        plan.after = describe(folder.lstat(plan.name))
        if plan.content_changed:
            plan.after['content'] = HIDDEN_NEW

    def result(self, plan: Plan) -> dict[str, Any]:
        return dict(path=plan.path, state=plan.state, content_changed=plan.content_changed, backup_file=plan.backup,
                    msg=self._message(plan))

    def diff(self, plan: Plan) -> dict[str, Any]:
        return dict(before=plan.before, after=plan.after, before_header=plan.path, after_header=plan.path)

    @staticmethod
    def _message(plan: Plan) -> str:
        if plan.state == 'absent':
            return plan.say('Would remove', 'Removed') + ' the file.' if plan.changed else 'The file does not exist.'
        if not plan.changed:
            return 'The file is up to date.'
        if not plan.content_changed:
            return '%s the mode, owner or group of the file.' % plan.say('Would fix', 'Fixed')
        if plan.before['exists']:
            return '%s the file.' % plan.say('Would replace', 'Replaced')
        return '%s the file.' % plan.say('Would create', 'Created')

    @staticmethod
    def _predicted(before: dict[str, Any], mode: int, uid: int | None, gid: int | None,
                   content_changed: bool) -> dict[str, Any]:
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
