# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""The one write core for secret files (private keys, authorized_keys) on a host. Standard library only.

Who is trusted: the controller and root on the host. Who is not: every other user, who owns a home directory
(so ``~/.ssh`` and all in it), and anyone sharing a world-writable directory. Hence:

- A directory is opened component by component with ``O_DIRECTORY | O_NOFOLLOW``, and all later work is relative
  to that open descriptor (``dir_fd``), so swapping a path component during the run changes nothing. A symbolic
  link on the way is followed only if nobody but root (or the user running the module) can have planted it: the
  link and the directory holding it belong to root or that user, and that directory is not group or world
  writable (so ``/var/run -> /run`` works, ``~bob/.ssh -> /root/.ssh`` fails naming the path, touching nothing).
- A symbolic link AT a file name is never followed: writing replaces the link with a regular file (as
  ``ansible.builtin.copy`` with ``follow: no`` does) and the link's target is untouched; reading treats the name
  as holding no file. Names are opened ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO cannot hang the module). A file
  with other hard links is never chowned or chmodded in place (``hard_linked``): callers replace it.
- What is read is what gets judged, and only what was judged gets a new mode or owner: ``read`` and
  ``set_attributes`` take the ``lstat`` result the caller decided on (``expect``) and fail when the name now
  holds another file (its device and inode differ), which the user owning the directory could swap in.
- A file a task option names (``read_option_file``: private_key_path, public_key_path) is read by the same
  link rule, the link at the file itself included, and a file with other hard links is read only from a
  directory that rule trusts: another user cannot point the task at a file only root may read.
- A file in another user's directory whose content goes to that user (``read`` with ``reader``: the lines of
  ``~/.ssh/authorized_keys`` that the rewritten file keeps) is read only when that user could read it himself
  (``readable_by``: he owns it, or its group or other bits let him), and, if it has other hard links, only when it
  is his: otherwise he could rename or link a root-only file there and be handed a copy.
- A written file belongs to the ``uid``/``gid`` asked for, else to the user running the module (its effective
  uid and gid): never to whoever owned the file it replaces.
- The temp file is created ``O_CREAT | O_EXCL | O_NOFOLLOW`` with mode 0600, gets its final owner and group
  (``fchown``), is written and fsynced, and only then gets its final mode (``fchmod``) and is renamed over the
  name (``renameat``, atomic). Readers see the old file or the complete new one. A killed run leaves at most a
  0600 temp file named ``.<name>.kps-<host tag>-<pid>.<random>.tmp``; ``remove_stale_temp_files`` (called by
  ``write``) removes those whose process is gone on this host, or that are over an hour old.
- A backup is a hard link (same inode: same owner, group, mode) or else a copy made the same way as a write,
  with the original's owner, group, mode and times.

Use (as the export module, kps_private_key_file and the role's host side do)::

    with open_dir('/home/deploy/.ssh', create=True, mode=0o700, uid=uid, gid=gid) as ssh_dir:
        st = ssh_dir.lstat('id_web')                        # what is there: a stat result, or None
        old = ssh_dir.read('id_web', limit=64 * 1024, expect=st)  # bytes, or None: missing / a link
        if old != pem:
            backup = ssh_dir.write('id_web', pem, mode=0o600, uid=uid, gid=gid, backup=True)
        else:  # only the file just read: another one swapped in meanwhile fails
            changed = ssh_dir.set_attributes('id_web', mode=0o600, uid=uid, gid=gid, expect=st)

``open_dir(path, create=False, mode=0o700, uid=None, gid=None)`` -> ``Directory`` (a context manager; ``close()``).
With ``create=True`` missing directories are made with ``mkdirat`` (mode ``mode``, then ``fchown`` to uid/gid
and ``fchmod``, never through a link); ``Directory.created`` lists them. ``missing_dirs(path)`` says which
directories ``create=True`` would make (for check mode). Methods of ``Directory``, each taking a plain file name
(no ``/``): ``lstat(name)`` (a stat result or None), ``read(name, limit, expect=None)``, ``write(...)`` (returns
the backup path or None), ``stage(...)`` -> ``StagedFile`` with ``replace()``/``discard()`` (stage several files,
then replace them), ``backup(name)``, ``set_attributes(name, mode, uid, gid, check=False, expect=None)``,
``unlink(name)``, ``check_writable(name)``, ``remove_stale_temp_files(*names)``, ``fsync()``.
``resolve_uid``/``resolve_gid`` turn the ``owner``/``group`` options into numbers before anything is written.
Every failure raises ``SecretFileError``, whose message names the path and never holds the content.

Why not ``AnsibleModule.atomic_move``: it chmods a NEW destination to ``0666 & ~umask`` (CVE-2020-1736), and
like ``realpath`` it follows a link at the destination.
"""

from __future__ import annotations

import errno
import grp
import hashlib
import os
import pwd
import re
import socket
import stat
import time
from typing import Any, Iterable

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError

# Private key files are 0600 unless the task says otherwise.
DEFAULT_MODE = 0o600

# How much is read, one place: a key is a few KiB, so anything larger is not one (and is not read whole).
MAX_KEY_BYTES = 1024 * 1024                  # a private key: a file or a value
MAX_PUBLIC_KEY_BYTES = 64 * 1024             # a public key file
MAX_AUTHORIZED_KEYS_BYTES = 4 * 1024 * 1024  # an authorized_keys file

# Temp files: '.<file>.kps-<host tag>-<pid>.<random>.tmp'.
TEMP_TAG = 'kps'
STALE_TEMP_AGE = 3600
_TEMP_RE = re.compile(r'^\.(?P<file>.+)\.%s-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$' % TEMP_TAG)

_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
# O_NONBLOCK: opening a FIFO that someone put at the name must not hang the module.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_ATTR_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC  # no O_TRUNC: content stays
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_MAX_LINKS = 40  # as the kernel's limit on symbolic links in one path
# EMLINK: what FreeBSD returns for O_NOFOLLOW on a link. ENOTDIR: a link, or a file, where a directory is wanted.
_LINK_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


class SecretFileError(KpsError):
    """Writing or reading a secret file failed; the message names the path, never the content."""


class UntrustedLinkError(SecretFileError):
    """A symbolic link on the way that another user could have made or can change: it is not followed."""

    def __init__(self, link: str) -> None:
        super().__init__('%s is a symbolic link that another user could have made or can change; it is not followed '
                         'and nothing was written. Make it a real directory, or give the path it points to.' % link)
        self.link = link


class NotReadableForError(SecretFileError):
    """A file whose content would go to a user who could not read it himself (``Directory.read`` with ``reader``)."""


class UntrustedHardLinkError(SecretFileError):
    """A file to read that has other hard links, in a directory where another user could have made this one."""

    def __init__(self, path: str) -> None:
        super().__init__('%s has other hard links and is in a directory another user can write; it is not read.'
                         % path)
        self.path = path


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_option_file(path: str, limit: int, option: str, what: str) -> bytes:
    """The bytes of the file that the task's ``option`` names (a key file on the host running the module).

    Read by the write core's rule (see the module docstring): a symbolic link on the way or at the file itself is
    followed only when nobody but root or the running user can have made it, and a file with other hard links
    only when its directory is trusted the same way, so that a user who can write into the file's directory
    cannot point the task at a file only root may read (and have its key sent to KPS).
    Raises SecretFileError when it cannot be read or holds more than ``limit`` bytes (then it is no ``what``).
    """
    problem = 'Cannot read %s %s on the host running the module: ' % (option, path)
    try:
        data = _read_through_trusted_links(path, limit)
    except UntrustedLinkError as exc:
        raise SecretFileError(problem + '%s is a symbolic link that another user could have made or can change, so '
                              'it is not followed and nothing was read. If the file it leads to (%s) is the one to '
                              'read, give that path.' % (exc.link, os.path.realpath(path)))
    except UntrustedHardLinkError as exc:
        raise SecretFileError(problem + '%s has other hard links, and another user can write to %s: they could have '
                              'made this name for a file they cannot read, so nothing was read or sent. Give a path '
                              'in a directory only root or you can write, or remove the extra link.'
                              % (exc.path, os.path.dirname(exc.path)))
    except SecretFileError as exc:
        raise SecretFileError(problem + str(exc))
    except OSError as exc:
        raise SecretFileError(problem + (exc.strerror or exc.__class__.__name__))
    if len(data) > limit:
        raise SecretFileError('%s %s is larger than any %s (over %d bytes).' % (option, path, what, limit))
    return data


def readable_by(st: os.stat_result, uid: int, gids: Iterable[int]) -> bool:
    """Whether the user ``uid`` (member of the groups ``gids``) can read the file of ``st`` himself: root, its owner
    (who may chmod it), or a user its group bits (a member of its group) or other bits let read it."""
    if uid == 0 or st.st_uid == uid:
        return True
    if st.st_gid in set(gids):
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def _reader_problem(st: os.stat_result, uid: int, gids: Iterable[int]) -> str | None:
    """Why the content of the file of ``st`` must not go to the user ``uid``, or None."""
    if not readable_by(st, uid, gids):
        return 'belongs to %s (mode %s) and %s cannot read it' % (
            user_name(st.st_uid), octal(stat.S_IMODE(st.st_mode)), user_name(uid))
    if hard_linked(st) and st.st_uid != uid:
        return 'has other hard links and does not belong to %s' % user_name(uid)
    return None


def _read_through_trusted_links(path: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path``, opened through ``_walk`` (trusted links only)."""
    fd, _created = _walk(path, read_file=True)
    with os.fdopen(fd, 'rb') as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise SecretFileError('%s is not a regular file.' % os.path.abspath(path))
        return handle.read(limit + 1)


# ----- temp file names ---------------------------------------------------------------------------------------

def host_tag() -> str:
    """8 hex digits naming this host in temp file names (process ids are only meaningful per host)."""
    return hashlib.sha256(socket.gethostname().encode('utf-8', 'replace')).hexdigest()[:8]


def temp_prefix(path: str) -> str:
    """The prefix of the temp files this process writes for the file ``path`` (only its base name counts)."""
    return '.%s.%s-%s-%d.' % (os.path.basename(path), TEMP_TAG, host_tag(), os.getpid())


def _temp_name(name: str) -> str:
    return '%s%s.tmp' % (temp_prefix(name), os.urandom(6).hex())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # exists, owned by someone else
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'  # a zombie writes nothing more
    except (OSError, IndexError):
        return True


# ----- owners ------------------------------------------------------------------------------------------------

def resolve_uid(owner: str | int | None) -> int | None:
    """The uid for an ``owner`` option (name or number), None for None. Raises SecretFileError."""
    if owner is None or owner == '':
        return None
    try:
        return int(owner)
    except ValueError:
        pass
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise SecretFileError('owner %s does not exist on this host; give an existing user name or uid.' % owner)


def resolve_gid(group: str | int | None) -> int | None:
    """The gid for a ``group`` option (name or number), None for None. Raises SecretFileError."""
    if group is None or group == '':
        return None
    try:
        return int(group)
    except ValueError:
        pass
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise SecretFileError('group %s does not exist on this host; give an existing group name or gid.' % group)


def _owner(uid: int | None, gid: int | None) -> tuple[int, int]:
    # A new file belongs to the owner asked for, otherwise to the user running the module.
    return (os.geteuid() if uid is None else uid), (os.getegid() if gid is None else gid)


# ----- directories -------------------------------------------------------------------------------------------

def _trusted_dir(dir_fd: int) -> bool:
    """Whether only root or the running user can add or change the names in the directory ``dir_fd``."""
    st = os.fstat(dir_fd)
    return st.st_uid in (0, os.geteuid()) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted_link(parent_fd: int, link_st: os.stat_result) -> bool:
    """Whether a link may be followed: only root or the running user can have made it and can change it."""
    return link_st.st_uid in (0, os.geteuid()) and _trusted_dir(parent_fd)


def _walk(path: str, create: bool = False, mode: int = 0o700, uid: int | None = None, gid: int | None = None,
          plan: list[str] | None = None, read_file: bool = False) -> tuple[int | None, list[str]]:
    """Open the directory ``path`` (see the module docstring); returns (fd, created paths).

    With ``plan`` (a list), nothing is created: the directories that would be are appended to it and None is
    returned as the descriptor. With ``read_file``, ``path`` names a file: its last component is opened for
    reading (a link there followed only when trusted, as on the way; a file with other hard links only from a
    ``_trusted_dir``, else UntrustedHardLinkError); OSError says why it cannot be opened.
    """
    if not path:
        raise SecretFileError('No directory given.')
    parts = [part for part in os.path.abspath(path).split('/') if part]
    fd = os.open('/', _DIR_FLAGS)
    here = '/'
    links = races = 0
    created = []
    try:
        while parts:
            part = parts.pop(0)
            if part == '.':
                continue
            there = os.path.join(here, part)
            is_file = read_file and not parts
            try:
                new_fd = os.open(part, _READ_FLAGS if is_file else _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if is_file and exc.errno not in _LINK_ERRNOS:
                    raise  # the file itself is missing or cannot be opened: the caller says why
                if exc.errno == errno.ENOENT and plan is not None:
                    plan.extend(os.path.join(there, *parts[:index]) for index in range(len(parts) + 1))
                    return None, created
                if exc.errno == errno.ENOENT and create:
                    new_fd = _make_dir(fd, part, there, mode, uid, gid)
                    if new_fd is None:  # another process made it meanwhile: open it as an existing one
                        races += 1
                        if races > _MAX_LINKS:
                            raise SecretFileError('Cannot create the directory %s: it keeps changing.' % there)
                        parts.insert(0, part)
                        continue
                    created.append(there)
                elif exc.errno == errno.ENOENT:
                    raise SecretFileError('The directory %s does not exist.' % there)
                elif exc.errno in _LINK_ERRNOS:
                    target = _link_target(fd, part, there)
                    if target is None and is_file:
                        raise
                    if target is None:
                        raise SecretFileError('%s is not a directory, so %s cannot be %s.' % (
                            there, os.path.abspath(path), 'opened' if plan is None and not create else 'created'))
                    links += 1
                    if links > _MAX_LINKS:
                        raise SecretFileError('Too many symbolic links in %s.' % path)
                    if target.startswith('/'):
                        os.close(fd)
                        fd = os.open('/', _DIR_FLAGS)
                        here = '/'
                    parts[:0] = [item for item in target.split('/') if item]
                    continue
                else:
                    raise SecretFileError('Cannot open the directory %s: %s.' % (there, _reason(exc)))
            if is_file and hard_linked(os.fstat(new_fd)) and not _trusted_dir(fd):
                os.close(new_fd)  # another user can have made this name for a file they cannot read
                raise UntrustedHardLinkError(there)
            os.close(fd)
            fd = new_fd
            here = os.path.normpath(there)
        result, fd = fd, None
        return result, created
    finally:
        if fd is not None:
            os.close(fd)


def _link_target(parent_fd: int, part: str, there: str) -> str | None:
    """The target of the trusted link ``part``; None if it is not a link (nor a directory)."""
    try:
        st = os.stat(part, dir_fd=parent_fd, follow_symlinks=False)
    except OSError as exc:
        raise SecretFileError('Cannot check %s: %s.' % (there, _reason(exc)))
    if not stat.S_ISLNK(st.st_mode):
        return None
    if not _trusted_link(parent_fd, st):
        raise UntrustedLinkError(there)
    return os.readlink(part, dir_fd=parent_fd)


def _make_dir(parent_fd: int, part: str, there: str, mode: int, uid: int | None, gid: int | None) -> int | None:
    """The descriptor of the new directory ``part``, or None if it exists already."""
    try:
        try:
            os.mkdir(part, 0o700, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return None
            raise
        fd = os.open(part, _DIR_FLAGS, dir_fd=parent_fd)
        # What we made is ours; anything else (a directory or link swapped in meanwhile) is refused.
        if os.fstat(fd).st_uid != os.geteuid():
            os.close(fd)
            raise SecretFileError('The directory %s was replaced while it was being created; nothing was written '
                                  'into it.' % there)
        try:
            os.fchown(fd, *_owner(uid, gid))
            os.fchmod(fd, stat.S_IMODE(mode))
        except OSError:
            os.close(fd)
            raise
        return fd
    except OSError as exc:
        raise SecretFileError('Cannot create the directory %s: %s.' % (there, _reason(exc)))


def missing_dirs(path: str) -> list[str]:
    """The directories ``open_dir(path, create=True)`` would create, outermost first ([] if ``path`` exists).

    Raises SecretFileError, as ``open_dir`` would, for a link that is not followed or a file in the way.
    """
    plan = []
    fd, _created = _walk(path, plan=plan)
    if fd is not None:
        os.close(fd)
    return plan


def open_dir(path: str, create: bool = False, mode: int = 0o700, uid: int | None = None,
             gid: int | None = None) -> Directory:
    """Open the directory ``path`` for the file operations of ``Directory``; see the module docstring."""
    fd, created = _walk(path, create, mode, uid, gid)
    return Directory(os.path.abspath(path), fd, created)


def hard_linked(st: os.stat_result | None) -> bool:
    """Whether the regular file of stat result ``st`` has other names: never changed in place, only replaced."""
    return st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1


class Directory:
    """An open directory; every method works relative to its descriptor and never follows a link at a name."""

    def __init__(self, path: str, fd: int | None, created: Iterable[str] = ()) -> None:
        self.path = path
        self.fd = fd
        self.created = list(created)

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def join(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _name(self, name: str) -> str:
        if not name or '/' in name or name in ('.', '..'):
            raise SecretFileError('%r is not a file name in %s.' % (name, self.path))
        return name

    # ----- reading ---------------------------------------------------------------------------------------

    def lstat(self, name: str) -> os.stat_result | None:
        """The stat result of ``name`` itself (a link is not followed), or None when nothing is there."""
        try:
            return os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise SecretFileError('Cannot check %s: %s.' % (self.join(name), _reason(exc)))

    def _open_regular(self, name: str, write_ok: bool = False,
                      expect: os.stat_result | None = None) -> tuple[int, os.stat_result] | tuple[None, None]:
        """(fd, stat) of the regular file ``name``, or (None, None) when there is none (missing, or a link).

        ``write_ok``: a file its owner cannot read (mode 0200) is opened for writing instead (not truncated).
        ``expect``: the stat result of the file as the caller inspected it; another file at the name now (the
        user owning the directory can swap one in) is SecretFileError, so nothing acts on a file not inspected.
        """
        st = self.lstat(name)
        if st is None or stat.S_ISLNK(st.st_mode):
            return None, None
        if not stat.S_ISREG(st.st_mode):
            raise SecretFileError('%s exists and is not a regular file.' % self.join(name))
        try:
            try:
                fd = os.open(name, _READ_FLAGS, dir_fd=self.fd)
            except OSError as exc:
                if not (write_ok and exc.errno == errno.EACCES):
                    raise
                fd = os.open(name, _ATTR_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.EMLINK):
                return None, None  # gone, or made a link since the lstat: no file of ours
            raise SecretFileError('Cannot open %s: %s.' % (self.join(name), _reason(exc)))
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise SecretFileError('%s exists and is not a regular file.' % self.join(name))
        if expect is not None and (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            os.close(fd)
            raise SecretFileError('%s was replaced by another file while the task ran; nothing was read from or '
                                  'changed on it. Find out who replaces it, then run the task again.' % self.join(name))
        return fd, st

    def read(self, name: str, limit: int, expect: os.stat_result | None = None,
             reader: tuple[int, Iterable[int]] | None = None) -> bytes | None:
        """The bytes of the regular file ``name``: at most ``limit + 1`` (so a caller sees a bigger file).

        None when ``name`` does not exist or is a symbolic link (never read through: it will be replaced).
        Raises SecretFileError for a directory or another kind of file, or when it cannot be read; with
        ``expect`` (a stat result from ``lstat``), also when it is no longer that file (see ``_open_regular``).
        ``reader``: (uid, gids) of the user the content goes to; NotReadableForError, before a byte is read, for a
        file that user could not read himself, or one with other hard links that is not his (``_reader_problem``).
        """
        fd, st = self._open_regular(name, expect=expect)
        if fd is None:
            return None
        problem = _reader_problem(st, *reader) if reader is not None else None
        if problem:
            os.close(fd)
            raise NotReadableForError('%s %s, so it is not read.' % (self.join(name), problem))
        try:
            chunks = []
            left = limit + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1024 * 1024))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b''.join(chunks)
        except OSError as exc:
            raise SecretFileError('Cannot read %s: %s.' % (self.join(name), _reason(exc)))
        finally:
            os.close(fd)

    # ----- writing ---------------------------------------------------------------------------------------

    def _refuse_directory(self, name: str) -> None:
        st = self.lstat(name)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise SecretFileError('Cannot write %s: it is a directory.' % self.join(name))

    def _create_temp(self, name: str) -> tuple[str, int]:
        for _attempt in range(10):
            tmp = _temp_name(name)
            try:
                return tmp, os.open(tmp, _CREATE_FLAGS, 0o600, dir_fd=self.fd)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise SecretFileError('Cannot create a temporary file in %s: %s.' % (self.path, _reason(exc)))
        raise SecretFileError('Cannot create a temporary file in %s: too many name clashes.' % self.path)

    def stage(self, name: str, content: str | bytes, mode: int | None = 0o600, uid: int | None = None,
              gid: int | None = None) -> StagedFile:
        """A complete, synced temp file that can replace ``name``; nothing at ``name`` changes yet.

        ``content``: bytes or text (UTF-8). The temp file is 0600 and has its final owner and group before it
        gets ``mode``. Returns a StagedFile. Raises SecretFileError; on failure no temp file is left.
        """
        self._refuse_directory(name)
        if not isinstance(content, bytes):
            content = content.encode('utf-8')
        mode = 0o600 if mode is None else stat.S_IMODE(mode)
        tmp, fd = self._create_temp(self._name(name))
        staged = StagedFile(self, name, tmp)
        done = False
        try:
            os.fchown(fd, *_owner(uid, gid))
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.fchmod(fd, mode)  # the final mode only now: complete, and with its final owner and group
            done = True
        except OSError as exc:
            raise SecretFileError('Could not write %s: %s.' % (self.join(name), _reason(exc)))
        finally:
            os.close(fd)
            if not done:
                staged.discard()  # also on KeyboardInterrupt or SystemExit
        return staged

    def write(self, name: str, content: str | bytes, mode: int | None = 0o600, uid: int | None = None,
              gid: int | None = None, backup: bool = False) -> str | None:
        """Atomically make ``name`` a regular file holding ``content`` (see ``stage``).

        A link at ``name`` is replaced, not followed. With ``backup=True`` an existing regular file is kept first
        (see ``backup``). Stale temp files of ``name`` are removed. Returns the backup path, or None.
        """
        staged = self.stage(name, content, mode, uid, gid)
        try:
            self.remove_stale_temp_files(name)
            backup_path = self.backup(name) if backup else None
            staged.replace()
        finally:
            staged.discard()
        self.fsync()
        return backup_path

    def backup(self, name: str) -> str | None:
        """Keep the regular file ``name`` as ``<name>.<pid>.<YYYY-mm-dd@HH:MM:SS>~``; returns its path or None.

        A hard link when possible; otherwise a copy with the original's owner, group, mode and times (made
        like a write: 0600 temp file, fchown, data, fsync, fchmod, rename).
        """
        st = self.lstat(name)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        backup = '%s.%s.%s' % (name, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~'))
        try:
            os.link(name, backup, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
            return self.join(backup)
        except OSError:
            pass
        src, st = self._open_regular(name)
        if src is None:
            return None
        tmp = None
        try:
            tmp, dst = self._create_temp(name)
            try:
                os.fchown(dst, st.st_uid, st.st_gid)
                while True:
                    chunk = os.read(src, 1024 * 1024)
                    if not chunk:
                        break
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(dst, view):]
                os.fsync(dst)
                os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.fchmod(dst, stat.S_IMODE(st.st_mode))
            finally:
                os.close(dst)
            os.rename(tmp, backup, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            tmp = None
        except OSError as exc:
            raise SecretFileError('Could not back up %s: %s.' % (self.join(name), _reason(exc)))
        finally:
            os.close(src)
            if tmp is not None:
                self._unlink_quietly(tmp)
        return self.join(backup)

    def set_attributes(self, name: str, mode: int | None = None, uid: int | None = None, gid: int | None = None,
                       check: bool = False, expect: os.stat_result | None = None) -> bool:
        """Give the regular file ``name`` the ``mode``/``uid``/``gid`` that are not None; returns whether any differed.

        With ``check=True`` only compares. Narrows the mode before a change of owner or group, so that the new
        group never holds more than the final mode allows. A link at ``name`` is not followed, and a file with
        other hard links is not changed in place (another name, maybe another user's, is the same file):
        SecretFileError; callers rewrite such a file instead (see ``hard_linked``). ``expect``: the stat result
        of the file the caller inspected (read, compared); only that very file is changed, another one swapped
        in at the name since is SecretFileError (see ``_open_regular``). Callers that inspected it pass it.
        """
        fd, st = self._open_regular(name, write_ok=True, expect=expect)
        if fd is None:
            raise SecretFileError('%s does not exist or is a symbolic link.' % self.join(name))
        try:
            current = stat.S_IMODE(st.st_mode)
            new_owner = ((uid is not None and uid != st.st_uid) or (gid is not None and gid != st.st_gid))
            new_mode = mode is not None and stat.S_IMODE(mode) != current
            if check or not (new_owner or new_mode):
                return bool(new_owner or new_mode)
            if hard_linked(st):
                raise SecretFileError('%s has other hard links; its owner and mode are not changed in place.'
                                      % self.join(name))
            final = current if mode is None else stat.S_IMODE(mode)
            if new_owner:
                os.fchmod(fd, current & final)
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, final)  # also restores set-id bits that a chown cleared
            return True
        except OSError as exc:
            raise SecretFileError('Cannot set the mode or owner of %s: %s.' % (self.join(name), _reason(exc)))
        finally:
            os.close(fd)

    def unlink(self, name: str) -> bool:
        """Remove ``name`` (a link itself, not its target); returns whether something was there."""
        self._refuse_directory(name)
        try:
            os.unlink(self._name(name), dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise SecretFileError('Cannot remove %s: %s.' % (self.join(name), _reason(exc)))
        return True

    def _unlink_quietly(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self.fd)
        except OSError:
            pass

    def check_writable(self, name: str) -> None:
        """Fail now if a temp file for ``name`` cannot be created here (before, say, a key is downloaded)."""
        tmp, fd = self._create_temp(self._name(name))
        os.close(fd)
        self._unlink_quietly(tmp)

    def fsync(self) -> None:
        """Make renames in this directory durable (not every file system allows it)."""
        try:
            os.fsync(self.fd)
        except OSError:
            pass

    # ----- temp files of killed runs -----------------------------------------------------------------------

    def stale_temp_files(self, *names: str, now: float | None = None) -> list[str]:
        """Temp files of the files ``names`` left by killed runs: their process is gone on this host, or they are
        old. One listing of the directory, however many names (an export may write 1000 files into it)."""
        try:
            entries = os.listdir(self.fd)
        except OSError:
            return []
        now = time.time() if now is None else now
        wanted = set(names)
        stale = []
        for entry in entries:
            match = _TEMP_RE.match(entry)
            if not match or match.group('file') not in wanted:
                continue
            st = self.lstat(entry)
            if st is None or not stat.S_ISREG(st.st_mode):
                continue
            pid = int(match.group('pid'))
            ours = match.group('host') == host_tag()
            if (ours and pid != os.getpid() and not _pid_alive(pid)) or now - st.st_mtime > STALE_TEMP_AGE:
                stale.append(entry)
        return sorted(stale)

    def remove_stale_temp_files(self, *names: str) -> list[str]:
        """Remove the ``stale_temp_files`` of ``names``; returns the paths removed."""
        removed = []
        for entry in self.stale_temp_files(*names):
            try:
                os.unlink(entry, dir_fd=self.fd)  # a killed writer's: ours by its name, and its process is gone
            except OSError:
                continue
            removed.append(self.join(entry))
        return removed


class StagedFile:
    """A complete temp file in ``directory`` waiting to replace ``name`` (see ``Directory.stage``)."""

    def __init__(self, directory: Directory, name: str, tmp: str | None) -> None:
        self.directory = directory
        self.name = name
        self.tmp = tmp
        self.path = directory.join(name)

    @property
    def tmp_path(self) -> str | None:
        return None if self.tmp is None else self.directory.join(self.tmp)

    def replace(self) -> None:
        """Rename the temp file over the name (atomic; a link there is replaced). Raises SecretFileError."""
        try:
            os.replace(self.tmp, self.name, src_dir_fd=self.directory.fd, dst_dir_fd=self.directory.fd)
        except OSError as exc:
            raise SecretFileError('Could not replace %s: %s.' % (self.path, _reason(exc)))
        self.tmp = None

    def discard(self) -> None:
        """Remove the temp file, unless it has replaced the name."""
        if self.tmp is not None:
            self.directory._unlink_quietly(self.tmp)
            self.tmp = None


# ----- one file ----------------------------------------------------------------------------------------------

def write_secret_file(path: str, content: str | bytes, mode: int | None = 0o600, uid: int | None = None,
                      gid: int | None = None, backup: bool = False) -> str | None:
    """Write one file ``path`` through the core (its directory must exist); returns the backup path or None."""
    directory, name = os.path.split(os.path.abspath(path))
    with open_dir(directory) as folder:
        return folder.write(name, content, mode, uid, gid, backup)


class _FakeStat:
    # AnsibleModule._symbolic_mode_to_octal only looks at st_mode.
    def __init__(self, mode: int) -> None:
        self.st_mode = stat.S_IFREG | mode


def octal(mode: int | None) -> str | None:
    """A mode as results and diffs show it, e.g. '0600'."""
    return None if mode is None else '0%03o' % mode


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def parse_mode(module: Any, value: str | int | None, base_mode: int = DEFAULT_MODE, what: str | None = None) -> int:
    """The numeric mode for a ``mode`` value (None: DEFAULT_MODE); a symbolic mode applies to ``base_mode``.

    Raises SecretFileError naming ``what`` (default: "mode <value>").
    """
    if value is None:
        return DEFAULT_MODE
    what = what or 'mode %s' % value
    if isinstance(value, int):
        mode = value
    else:
        try:
            mode = int(value, 8)
        except ValueError:
            try:
                mode = module._symbolic_mode_to_octal(_FakeStat(base_mode), value)
            except Exception:  # pylint: disable=broad-exception-caught
                raise SecretFileError('%s is neither octal nor a symbolic mode.' % what)
    if mode != stat.S_IMODE(mode):
        raise SecretFileError('%s holds more than permission bits.' % what)
    return mode


def task_mode(module: Any, base_mode: int) -> int:
    """The numeric mode for the task's ``mode`` option; a symbolic mode applies to ``base_mode``."""
    return parse_mode(module, module.params.get('mode'), base_mode)


def task_owner(module: Any) -> tuple[int | None, int | None]:
    """(uid, gid) for the task's ``owner``/``group`` options (None where not given). Raises SecretFileError."""
    return resolve_uid(module.params.get('owner')), resolve_gid(module.params.get('group'))


def other_file_args(module: Any, path: str) -> dict[str, Any]:
    """The task's file arguments other than mode, owner and group (SELinux context, attributes), for
    ``set_fs_attributes_if_different``: mode, owner and group go through the core."""
    args = module.load_file_common_arguments(module.params, path=path)
    args.update(mode=None, owner=None, group=None)
    return args


def attributes_differ(module: Any, path: str) -> bool:
    """Whether the task's SELinux context or file attributes differ from those of ``path``; sets nothing (asked
    as in check mode, whatever mode the task runs in)."""
    check_mode, module.check_mode = module.check_mode, True
    try:
        return module.set_fs_attributes_if_different(other_file_args(module, path), False)
    finally:
        module.check_mode = check_mode
