# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""Secure, atomic writes of secret files (private keys). No HTTP here.

Why not ``AnsibleModule.atomic_move``: it chmods a NEW destination to ``0666 & ~umask``
(CVE-2020-1736), so a private key would briefly be world readable. Instead the content goes into a
``mkstemp`` file in the destination directory (mode 0600 from its creation, whatever the umask),
is flushed and fsynced, gets its final mode, and only then replaces the destination with
``os.replace`` (atomic on POSIX). Readers see either the old file or the complete new one; a
failure at any point removes the temporary file and leaves the old file untouched.

Owner, group, SELinux context etc. are left to the module (``set_fs_attributes_if_different``
after the write): the new file is owned by the user running the module.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time


class SecretFileError(Exception):
    """Writing a secret file failed; the message names the path, never the content."""

    def __init__(self, msg):
        super(SecretFileError, self).__init__(msg)
        self.msg = msg


def _fsync_dir(path):
    # Makes the rename itself durable. Not every platform/file system allows opening a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup_file(path):
    """Keep a copy of ``path`` as ``<path>.<pid>.<YYYY-mm-dd@HH:MM:SS>~`` (Ansible's backup name form).

    The backup is a hard link when possible (same inode, so same owner and permissions, and no copy
    of the secret is written); otherwise a copy created 0600 and then given the original's mode.
    Returns the backup path.
    """
    backup = '%s.%s.%s' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~'))
    try:
        os.link(path, backup)
        return backup
    except OSError:
        pass
    dirname = os.path.dirname(backup) or '.'
    fd, tmp = tempfile.mkstemp(dir=dirname, prefix='.%s.' % os.path.basename(path), suffix='.bak.tmp')
    done = False
    try:
        with os.fdopen(fd, 'wb') as dst, open(path, 'rb') as src:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(path, tmp)
        os.replace(tmp, backup)
        done = True
    except (IOError, OSError) as exc:
        raise SecretFileError('Could not back up %s: %s' % (path, exc.strerror or exc))
    finally:
        if not done and os.path.lexists(tmp):
            os.unlink(tmp)
    return backup


def write_secret_file(path, content, mode=0o600, backup=False):
    """Atomically write ``content`` (bytes or text) to ``path`` with permissions ``mode``.

    If ``path`` is a symlink, its target is written (as Ansible's atomic_move does).
    With ``backup=True`` an existing file is kept first (see ``backup_file``).
    Returns the backup path, or None. Raises SecretFileError.
    """
    if not isinstance(content, bytes):
        content = content.encode('utf-8')
    if mode is None:
        mode = 0o600
    dest = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    dirname = os.path.dirname(dest)
    if os.path.isdir(dest):
        raise SecretFileError('Cannot write %s: it is a directory.' % path)
    if not os.path.isdir(dirname):
        raise SecretFileError('Cannot write %s: directory %s does not exist.' % (path, dirname))

    try:
        # mkstemp creates the file O_EXCL with mode 0600 regardless of umask: no other user can
        # ever open it, not even between creation and the first byte.
        fd, tmp = tempfile.mkstemp(dir=dirname, prefix='.%s.' % os.path.basename(dest), suffix='.tmp')
    except OSError as exc:
        raise SecretFileError('Cannot create a temporary file in %s: %s' % (dirname, exc.strerror or exc))

    backup_path = None
    done = False
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
                # Final mode before the file becomes visible under its name.
                os.fchmod(handle.fileno(), stat.S_IMODE(mode))
            if backup and os.path.exists(dest):
                backup_path = backup_file(dest)
            os.replace(tmp, dest)
        except (IOError, OSError) as exc:
            raise SecretFileError('Could not write %s: %s' % (path, exc.strerror or exc))
        done = True
        _fsync_dir(dirname)
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return backup_path
