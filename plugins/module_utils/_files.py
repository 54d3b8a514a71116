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
failure at any point removes the temporary file and leaves the old file untouched. ``stage_secret_file``
does the steps up to the replace, so that a caller can stage several files before it replaces any.

Temp files are named ``.<file>.kps-<host tag>-<pid>.<random>.tmp`` (``temp_prefix``). SIGKILL or a power
loss leaves no chance to remove them; ``stale_temp_files`` finds those whose process is gone on this host
(or that are over an hour old, for directories shared between hosts), and writers remove them.

Owner, group, SELinux context etc. are left to the module (``set_fs_attributes_if_different``
after the write): the new file is owned by the user running the module.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import time


# Temp files: '.<file>.kps-<host tag>-<pid>.<random>.tmp'.
TEMP_TAG = 'kps'
STALE_TEMP_AGE = 3600
_TEMP_RE = re.compile(r'^\.(?P<file>.+)\.%s-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$' % TEMP_TAG)


def host_tag():
    """8 hex digits naming this host in temp file names (process ids are only meaningful per host)."""
    return hashlib.sha256(socket.gethostname().encode('utf-8', 'replace')).hexdigest()[:8]


def temp_prefix(real_path):
    """The mkstemp prefix of a temp file for ``real_path``, written by this process."""
    return '.%s.%s-%s-%d.' % (os.path.basename(real_path), TEMP_TAG, host_tag(), os.getpid())


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # exists, owned by someone else
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'  # a zombie writes nothing more
    except (IOError, OSError, IndexError):
        return True


def stale_temp_files(real_path, now=None):
    """Temp files of ``real_path`` left by runs that were killed: their process is gone, or they are old."""
    directory, base = os.path.split(os.path.abspath(real_path))
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    now = time.time() if now is None else now
    stale = []
    for entry in entries:
        match = _TEMP_RE.match(entry)
        if not match or match.group('file') != base:
            continue
        path = os.path.join(directory, entry)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        pid = int(match.group('pid'))
        ours = match.group('host') == host_tag()
        if (ours and pid != os.getpid() and not _pid_alive(pid)) or now - st.st_mtime > STALE_TEMP_AGE:
            stale.append(path)
    return sorted(stale)


class SecretFileError(Exception):
    """Writing a secret file failed; the message names the path, never the content."""

    def __init__(self, msg):
        super(SecretFileError, self).__init__(msg)
        self.msg = msg


def fsync_dir(path):
    # Makes a rename in ``path`` durable. Not every platform/file system allows opening a directory.
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


def remove_stale_temp_files(real_path):
    """Remove the ``stale_temp_files`` of ``real_path``; returns those removed."""
    removed = []
    for path in stale_temp_files(real_path):
        try:
            os.unlink(path)  # left by a killed writer of this file: ours by its name, and its process is gone
        except OSError:
            continue
        removed.append(path)
    return removed


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


def _destination(path):
    # A symlink's target is what gets written (as Ansible's atomic_move does).
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


class StagedFile(object):
    """A complete, synced temp file next to its destination, waiting to replace it (see ``stage_secret_file``)."""

    def __init__(self, path, dest, tmp):
        self.path = path  # as given: what messages name
        self.dest = dest
        self.tmp = tmp

    def replace(self):
        """Move the temp file onto the destination (atomic). Raises OSError, leaving the temp file."""
        os.replace(self.tmp, self.dest)
        self.tmp = None

    def commit(self, backup=False):
        """Replace the destination, with ``backup=True`` keeping a copy of it first (see ``backup_file``).

        Returns the backup path, or None. Raises SecretFileError; the temp file is gone either way.
        """
        backup_path = None
        try:
            try:
                if backup and os.path.exists(self.dest):
                    backup_path = backup_file(self.dest)
                self.replace()
            except (IOError, OSError) as exc:
                raise SecretFileError('Could not write %s: %s' % (self.path, exc.strerror or exc))
        finally:
            self.discard()
        fsync_dir(os.path.dirname(self.dest))
        return backup_path

    def discard(self):
        """Remove the temp file, unless it has replaced the destination."""
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


def stage_secret_file(path, content, mode=0o600):
    """Write ``content`` (bytes or text) with permissions ``mode`` to a temp file that can replace ``path``.

    Nothing at ``path`` changes until ``commit()`` or ``replace()``. Returns a StagedFile. Raises
    SecretFileError; on any failure no temp file is left.
    """
    if not isinstance(content, bytes):
        content = content.encode('utf-8')
    if mode is None:
        mode = 0o600
    dest = _destination(path)
    dirname = os.path.dirname(dest)
    try:
        # mkstemp creates the file O_EXCL with mode 0600 regardless of umask: no other user can
        # ever open it, not even between creation and the first byte.
        fd, tmp = tempfile.mkstemp(dir=dirname, prefix=temp_prefix(dest), suffix='.tmp')
    except OSError as exc:
        raise SecretFileError('Cannot create a temporary file in %s: %s' % (dirname, exc.strerror or exc))
    staged = StagedFile(path, dest, tmp)
    done = False
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
                # Final mode before the file becomes visible under its name.
                os.fchmod(handle.fileno(), stat.S_IMODE(mode))
        except (IOError, OSError) as exc:
            raise SecretFileError('Could not write %s: %s' % (path, exc.strerror or exc))
        done = True
    finally:
        if not done:
            staged.discard()
    return staged


def write_secret_file(path, content, mode=0o600, backup=False):
    """Atomically write ``content`` (bytes or text) to ``path`` with permissions ``mode``.

    If ``path`` is a symlink, its target is written (as Ansible's atomic_move does).
    With ``backup=True`` an existing file is kept first (see ``backup_file``).
    Returns the backup path, or None. Raises SecretFileError.
    """
    dest = _destination(path)
    dirname = os.path.dirname(dest)
    if os.path.isdir(dest):
        raise SecretFileError('Cannot write %s: it is a directory.' % path)
    if not os.path.isdir(dirname):
        raise SecretFileError('Cannot write %s: directory %s does not exist.' % (path, dirname))

    staged = stage_secret_file(path, content, mode)
    try:
        remove_stale_temp_files(dest)
        return staged.commit(backup)
    finally:
        staged.discard()


class _FakeStat(object):
    # AnsibleModule._symbolic_mode_to_octal only looks at st_mode.
    def __init__(self, mode):
        self.st_mode = stat.S_IFREG | mode


def task_mode(module, base_mode, default=0o600):
    """The numeric mode for the task's ``mode`` option (None: ``default``); a symbolic mode applies to ``base_mode``.

    Raises ValueError with the message for the user.
    """
    mode = module.params.get('mode')
    if mode is None:
        return default
    if isinstance(mode, int):
        value = mode
    else:
        try:
            value = int(mode, 8)
        except ValueError:
            try:
                value = module._symbolic_mode_to_octal(_FakeStat(base_mode), mode)
            except Exception:  # pylint: disable=broad-exception-caught
                raise ValueError('mode %s is neither octal nor a symbolic mode.' % mode)
    if value != stat.S_IMODE(value):
        raise ValueError('mode %s holds more than permission bits.' % mode)
    return value


def task_file_args(module, path, mode, owner=None, group=None):
    """The task's file arguments (for ``set_fs_attributes_if_different``) for ``path`` with the numeric ``mode``.

    ``owner``/``group``: those of the file being replaced, which it keeps unless the task sets them (as copy does).
    """
    args = module.load_file_common_arguments(module.params, path=path)
    args['mode'] = mode
    if owner is not None and args.get('owner') is None:
        args['owner'] = owner
    if group is not None and args.get('group') is None:
        args['group'] = group
    return args
