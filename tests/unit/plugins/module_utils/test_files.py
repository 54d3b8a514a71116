# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The write core: 0600 temp file with its final owner before its final mode, atomic replace, owners that
were asked for (never the replaced file's), backups that keep owner, group and mode, nothing left on failure."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import tempfile

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils import _files
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    SecretFileError,
    missing_dirs,
    open_dir,
    write_secret_file,
)

SECRET = b'-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n'
NOBODY = pwd.getpwnam('nobody').pw_uid          # an existing non-root user and group
NOGROUP = grp.getgrnam('nogroup').gr_gid if 'nogroup' in [g.gr_name for g in grp.getgrall()] else 65534

root_only = pytest.mark.skipif(os.geteuid() != 0, reason='giving files to another user needs root')


def _mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def _owner(path):
    st = os.lstat(str(path))
    return st.st_uid, st.st_gid


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


@root_only
def test_temp_file_is_0600_and_has_its_final_owner_until_the_final_mode_just_before_the_rename(
        tmp_path, umask0, monkeypatch):
    """Watches every step on the temp file: chown before the first byte, the final mode only after fsync,
    and at the moment of the rename the temp file has the final owner, group and mode."""
    events = []
    real = dict((name, getattr(os, name)) for name in ('fchown', 'write', 'fsync', 'fchmod', 'replace'))

    def spy(name):
        def call(*args, **kwargs):
            if name == 'replace':
                st = os.stat(args[0], dir_fd=kwargs['src_dir_fd'], follow_symlinks=False)
            else:
                st = os.fstat(args[0])
            events.append((name, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
            return real[name](*args, **kwargs)
        return call
    for name in real:
        monkeypatch.setattr(_files.os, name, spy(name))
    write_secret_file(str(tmp_path / 'key.pem'), SECRET, mode=0o640, uid=NOBODY, gid=NOGROUP)

    events = events[:events.index(next(event for event in events if event[0] == 'replace')) + 1]
    assert [event[0] for event in events] == ['fchown', 'write', 'fsync', 'fchmod', 'replace']
    assert events[0][1] == 0o600                                   # created 0600, as root
    assert events[1][1:] == (0o600, NOBODY, NOGROUP)               # first byte: 0600, final owner already
    assert events[3][1:] == (0o600, NOBODY, NOGROUP)               # until the final fchmod
    assert events[4][1:] == (0o640, NOBODY, NOGROUP)               # at the rename: final everything
    assert _owner(tmp_path / 'key.pem') == (NOBODY, NOGROUP) and _mode(tmp_path / 'key.pem') == 0o640


@root_only
def test_a_replaced_file_never_hands_its_owner_to_the_new_file(tmp_path):
    dest = tmp_path / 'web.pem'
    dest.write_bytes(b'planted by another user')
    os.chown(str(dest), NOBODY, NOGROUP)
    os.chmod(str(dest), 0o666)
    write_secret_file(str(dest), SECRET)
    assert _owner(dest) == (os.geteuid(), os.getegid()) and _mode(dest) == 0o600
    write_secret_file(str(dest), SECRET + b'2', uid=NOBODY)
    assert _owner(dest) == (NOBODY, os.getegid())
    write_secret_file(str(dest), SECRET, gid=NOGROUP)
    assert _owner(dest) == (os.geteuid(), NOGROUP)


def test_text_content_and_custom_mode(tmp_path, umask0):
    dest = tmp_path / 'key.pem'
    write_secret_file(str(dest), SECRET.decode(), mode=0o640)
    assert dest.read_bytes() == SECRET and _mode(dest) == 0o640
    write_secret_file(str(dest), SECRET, mode=None)
    assert _mode(dest) == 0o600


def test_replaces_existing_file_atomically(tmp_path):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chmod(str(dest), 0o644)
    old_inode = os.stat(str(dest)).st_ino
    write_secret_file(str(dest), SECRET)
    assert dest.read_bytes() == SECRET
    assert _mode(dest) == 0o600
    assert os.stat(str(dest)).st_ino != old_inode  # a new file was renamed over it, not rewritten in place


def test_backup_is_a_hard_link_with_old_content_owner_and_mode(tmp_path):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chmod(str(dest), 0o640)
    backup = write_secret_file(str(dest), SECRET, backup=True)
    assert backup and backup.startswith(str(dest) + '.') and backup.endswith('~')
    with open(backup, 'rb') as handle:
        assert handle.read() == b'old'
    assert _mode(backup) == 0o640
    assert dest.read_bytes() == SECRET


@root_only
def test_backup_copy_fallback_keeps_owner_group_mode_and_times(tmp_path, monkeypatch):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chown(str(dest), NOBODY, NOGROUP)
    os.chmod(str(dest), 0o640)
    os.utime(str(dest), (1000000000, 1000000000))

    def no_link(*_args, **_kwargs):
        raise OSError(1, 'Operation not permitted')
    monkeypatch.setattr(_files.os, 'link', no_link)
    backup = write_secret_file(str(dest), SECRET, backup=True)
    with open(backup, 'rb') as handle:
        assert handle.read() == b'old'
    assert _mode(backup) == 0o640
    assert _owner(backup) == (NOBODY, NOGROUP)
    assert os.stat(backup).st_mtime == 1000000000
    assert sorted(os.listdir(str(tmp_path))) == sorted(['key.pem', os.path.basename(backup)])


def test_no_backup_when_file_is_new_or_a_link(tmp_path):
    assert write_secret_file(str(tmp_path / 'new.pem'), SECRET, backup=True) is None
    os.symlink('new.pem', str(tmp_path / 'link.pem'))
    assert write_secret_file(str(tmp_path / 'link.pem'), SECRET, backup=True) is None
    assert sorted(os.listdir(str(tmp_path))) == ['link.pem', 'new.pem']


@pytest.mark.parametrize('failing', ['fchown', 'write', 'fsync', 'fchmod', 'replace'])
def test_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch, failing):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')

    def boom(*_args, **_kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_files.os, failing, boom)
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(dest), SECRET)
    assert 'No space left on device' in str(exc.value) and str(dest) in str(exc.value)
    assert 'not-a-real-key' not in str(exc.value)
    assert dest.read_bytes() == b'old'
    assert os.listdir(str(tmp_path)) == ['key.pem']


def test_unexpected_exception_also_removes_temp(tmp_path, monkeypatch):
    def interrupt(_fd):
        raise KeyboardInterrupt()
    monkeypatch.setattr(_files.os, 'fsync', interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_secret_file(str(tmp_path / 'k.pem'), SECRET)
    assert os.listdir(str(tmp_path)) == []


def test_missing_directory_and_directory_dest(tmp_path):
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(tmp_path / 'nope' / 'k.pem'), SECRET)
    assert str(exc.value) == 'The directory %s does not exist.' % (tmp_path / 'nope')
    (tmp_path / 'sub').mkdir()
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(tmp_path / 'sub'), SECRET)
    assert str(exc.value) == 'Cannot write %s: it is a directory.' % (tmp_path / 'sub')


def test_staged_file_changes_nothing_until_replaced(tmp_path, umask0):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    with open_dir(str(tmp_path)) as folder:
        staged = folder.stage('key.pem', SECRET, 0o640)
        assert dest.read_bytes() == b'old'
        assert _mode(staged.tmp_path) == 0o640
        with open(staged.tmp_path, 'rb') as handle:
            assert handle.read() == SECRET
        staged.replace()
        staged.discard()
    assert dest.read_bytes() == SECRET and _mode(dest) == 0o640
    assert os.listdir(str(tmp_path)) == ['key.pem']


def test_discarded_staged_file_leaves_nothing(tmp_path):
    with open_dir(str(tmp_path)) as folder:
        staged = folder.stage('key.pem', SECRET)
        staged.discard()
        staged.discard()
    assert os.listdir(str(tmp_path)) == []


def test_read_gives_limit_plus_one_bytes_and_none_for_missing(tmp_path):
    (tmp_path / 'big').write_bytes(b'x' * 100)
    with open_dir(str(tmp_path)) as folder:
        assert folder.read('big', 10) == b'x' * 11
        assert folder.read('big', 1000) == b'x' * 100
        assert folder.read('missing', 10) is None
        assert folder.lstat('missing') is None


def test_read_of_a_fifo_or_directory_fails_without_hanging(tmp_path):
    os.mkfifo(str(tmp_path / 'fifo'))
    (tmp_path / 'dir').mkdir()
    with open_dir(str(tmp_path)) as folder:
        for name in ('fifo', 'dir'):
            with pytest.raises(SecretFileError) as exc:
                folder.read(name, 10)
            assert str(exc.value) == '%s exists and is not a regular file.' % (tmp_path / name)


@pytest.mark.parametrize('name', ['', '.', '..', 'a/b'])
def test_only_plain_names(tmp_path, name):
    with open_dir(str(tmp_path)) as folder:
        with pytest.raises(SecretFileError, match='is not a file name in'):
            folder.write(name, SECRET)


@root_only
def test_set_attributes_compares_then_narrows_the_mode_before_a_new_group_gets_the_file(tmp_path, monkeypatch):
    dest = tmp_path / 'key'
    dest.write_bytes(SECRET)
    os.chmod(str(dest), 0o644)
    with open_dir(str(tmp_path)) as folder:
        assert folder.set_attributes('key', 0o640, NOBODY, NOGROUP, check=True) is True
        assert _mode(dest) == 0o644 and _owner(dest) == (0, 0)   # check=True changes nothing
        steps = []
        real_fchown, real_fchmod = os.fchown, os.fchmod
        monkeypatch.setattr(_files.os, 'fchown', lambda fd, *a: steps.append(('chown', _mode_fd(fd))) or
                            real_fchown(fd, *a))
        monkeypatch.setattr(_files.os, 'fchmod', lambda fd, m: steps.append(('chmod', m)) or real_fchmod(fd, m))
        assert folder.set_attributes('key', 0o640, NOBODY, NOGROUP) is True
        # Never 0644 with the new group: narrowed to 0640 & 0644 first.
        assert steps == [('chmod', 0o640), ('chown', 0o640), ('chmod', 0o640)]
        assert folder.set_attributes('key', 0o640, NOBODY, NOGROUP) is False
        assert folder.set_attributes('key', None, None, None) is False
    assert _mode(dest) == 0o640 and _owner(dest) == (NOBODY, NOGROUP)


def _mode_fd(fd):
    return stat.S_IMODE(os.fstat(fd).st_mode)


@root_only
def test_open_dir_creates_missing_directories_0700_for_the_owner(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / 'a' / 'b'
        assert missing_dirs(str(target)) == [str(tmp_path / 'a'), str(target)]
        with open_dir(str(target), create=True, uid=NOBODY, gid=NOGROUP) as folder:
            assert folder.created == [str(tmp_path / 'a'), str(target)]
            folder.write('k', SECRET)
        for path in (tmp_path / 'a', target):
            assert _mode(path) == 0o700 and _owner(path) == (NOBODY, NOGROUP)
        assert missing_dirs(str(target)) == []
        with open_dir(str(target), create=True) as folder:
            assert folder.created == []
    finally:
        os.umask(old)


def test_a_directory_another_process_creates_meanwhile_is_opened_as_existing(tmp_path, monkeypatch):
    real_mkdir = os.mkdir

    def racing_mkdir(name, mode, dir_fd=None):
        real_mkdir(name, 0o755, dir_fd=dir_fd)  # the other process wins the race
        raise FileExistsError(17, 'File exists')
    monkeypatch.setattr(_files.os, 'mkdir', racing_mkdir)
    with open_dir(str(tmp_path / 'new'), create=True) as folder:
        assert folder.created == []
        folder.write('k', SECRET)
    assert (tmp_path / 'new' / 'k').read_bytes() == SECRET


@root_only
def test_a_directory_swapped_in_while_it_is_created_is_refused_and_left_alone(tmp_path, monkeypatch):
    """Between our mkdir and its open, the user owning the parent replaces the new directory with one of his (issue
    29, 12): nothing is written into it, and it keeps its owner and mode (no chown of his directory to the owner
    asked for, no chmod)."""
    parent = tmp_path / 'home'
    parent.mkdir()
    real_mkdir = os.mkdir

    def swapping_mkdir(name, mode, dir_fd=None):
        real_mkdir(name, mode, dir_fd=dir_fd)
        os.rmdir(name, dir_fd=dir_fd)  # what the user does: rmdir, then mkdir his own
        real_mkdir(name, 0o777, dir_fd=dir_fd)
        os.chown(name, NOBODY, NOGROUP, dir_fd=dir_fd)
        os.chmod(name, 0o777, dir_fd=dir_fd)
    monkeypatch.setattr(_files.os, 'mkdir', swapping_mkdir)
    with pytest.raises(SecretFileError) as caught:
        open_dir(str(parent / '.ssh' / 'keys'), create=True, mode=0o700, uid=0, gid=0)
    assert str(caught.value) == ('The directory %s was replaced while it was being created; nothing was written '
                                 'into it.' % (parent / '.ssh'))
    swapped = parent / '.ssh'
    assert os.listdir(str(swapped)) == [] and _owner(swapped) == (NOBODY, NOGROUP) and _mode(swapped) == 0o777


def test_resolve_owner_and_group():
    assert _files.resolve_uid(None) is None and _files.resolve_gid(None) is None
    assert _files.resolve_uid('nobody') == NOBODY and _files.resolve_uid('123') == 123
    assert _files.resolve_gid('0') == 0
    with pytest.raises(SecretFileError) as exc:
        _files.resolve_uid('no-such-user-kps')
    assert str(exc.value) == 'owner no-such-user-kps does not exist on this host; give an existing user name or uid.'
    with pytest.raises(SecretFileError, match='group no-such-group-kps does not exist'):
        _files.resolve_gid('no-such-group-kps')


def test_check_writable_leaves_nothing_and_names_the_directory(tmp_path, monkeypatch):
    with open_dir(str(tmp_path)) as folder:
        folder.check_writable('k.pem')
        assert os.listdir(str(tmp_path)) == []
        real_open = os.open

        def read_only(path, flags, *args, **kwargs):
            if flags & os.O_CREAT:
                raise OSError(30, 'Read-only file system')
            return real_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(_files.os, 'open', read_only)
        with pytest.raises(SecretFileError) as exc:
            folder.check_writable('k.pem')
    assert str(exc.value) == 'Cannot create a temporary file in %s: Read-only file system.' % tmp_path


def test_unlink_removes_a_link_not_its_target(tmp_path):
    (tmp_path / 'target').write_bytes(b'keep')
    os.symlink('target', str(tmp_path / 'link'))
    with open_dir(str(tmp_path)) as folder:
        assert folder.unlink('link') is True
        assert folder.unlink('link') is False
    assert (tmp_path / 'target').read_bytes() == b'keep'


# ----- only the file inspected is read and changed ------------------------------------------------------------

def _swap_in(tmp_path, name, content=b'swapped in\n', mode=0o644):
    """What the user owning a directory can do between a task's look and its fix: put another file at ``name``."""
    other = tmp_path / ('.other-' + name)
    other.write_bytes(content)
    os.chmod(str(other), mode)
    os.rename(str(other), str(tmp_path / name))
    return tmp_path / name


def test_set_attributes_and_read_act_only_on_the_file_inspected(tmp_path):
    (tmp_path / 'key').write_bytes(SECRET)
    os.chmod(str(tmp_path / 'key'), 0o644)
    with open_dir(str(tmp_path)) as folder:
        st = folder.lstat('key')
        assert folder.read('key', 1024, expect=st) == SECRET
        swapped = _swap_in(tmp_path, 'key')
        expected = ('%s was replaced by another file while the task ran; nothing was read from or changed on it. '
                    'Find out who replaces it, then run the task again.' % swapped)
        for attempt in (lambda: folder.set_attributes('key', 0o600, check=True, expect=st),
                        lambda: folder.set_attributes('key', 0o600, expect=st),
                        lambda: folder.read('key', 1024, expect=st)):
            with pytest.raises(SecretFileError) as exc:
                attempt()
            assert str(exc.value) == expected
        assert _mode(swapped) == 0o644 and swapped.read_bytes() == b'swapped in\n'
        # The file as it is now, inspected again, is changed.
        assert folder.set_attributes('key', 0o600, expect=folder.lstat('key')) is True
    assert _mode(swapped) == 0o600


@root_only
def test_set_attributes_never_gives_a_swapped_in_file_to_the_owner_asked_for(tmp_path):
    (tmp_path / 'key').write_bytes(SECRET)
    with open_dir(str(tmp_path)) as folder:
        st = folder.lstat('key')
        swapped = _swap_in(tmp_path, 'key', mode=0o4755)
        os.chown(str(swapped), NOBODY, NOGROUP)
        os.chmod(str(swapped), 0o4755)
        with pytest.raises(SecretFileError, match='was replaced by another file while the task ran'):
            folder.set_attributes('key', 0o600, 0, 0, expect=st)
    st = os.lstat(str(swapped))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOGROUP, 0o4755)


# ----- a file a task option names: links followed only when trusted ------------------------------------------

def _read(path, limit=1024):
    return _files.read_option_file(str(path), limit, 'private_key_path', 'private key')


def _read_error(path):
    with pytest.raises(SecretFileError) as exc:
        _read(path)
    return str(exc.value)


def test_read_option_file_follows_links_only_root_or_the_running_user_can_have_made(tmp_path):
    # Like /var/run -> /run and a key reached by a relative link: all made by us, in directories only we write.
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / 'deep' / 'real').mkdir(parents=True)
    (tmp_path / 'deep' / 'key.pem').write_bytes(SECRET)
    os.symlink('deep/real', str(tmp_path / 'alias'))
    os.symlink('../key.pem', str(tmp_path / 'deep' / 'real' / 'web.pem'))
    os.symlink(str(tmp_path / 'alias' / 'web.pem'), str(tmp_path / 'abs.pem'))
    # ../ of a link's target counts from where the link really is (deep/real), as the kernel does.
    assert _read(tmp_path / 'alias' / 'web.pem') == SECRET
    assert _read(tmp_path / 'abs.pem') == SECRET


def test_read_option_file_says_why_it_cannot_read(tmp_path):
    (tmp_path / 'file').write_bytes(b'x')
    (tmp_path / 'dir').mkdir()
    os.mkfifo(str(tmp_path / 'fifo'))  # opened non-blocking: it cannot hang the module
    prefix = 'Cannot read private_key_path %s on the host running the module: '
    assert _read_error(tmp_path / 'missing') == prefix % (tmp_path / 'missing') + 'No such file or directory'
    assert _read_error(tmp_path / 'dir') == prefix % (tmp_path / 'dir') + 'Is a directory'
    assert _read_error(tmp_path / 'fifo') == prefix % (tmp_path / 'fifo') + '%s is not a regular file.' % (
        tmp_path / 'fifo')
    assert _read_error(tmp_path / 'file' / 'k') == prefix % (tmp_path / 'file' / 'k') + (
        '%s is not a directory, so %s cannot be opened.' % (tmp_path / 'file', tmp_path / 'file' / 'k'))
    with pytest.raises(SecretFileError) as exc:
        _files.read_option_file(str(tmp_path / 'file'), 0, 'public_key_path', 'public key')
    assert str(exc.value) == 'public_key_path %s is larger than any public key (over 0 bytes).' % (tmp_path / 'file')


def _root_key_and_untrusted_dirs(tmp_path):
    """(vault, home, shared): root's own key in vault/id_rsa, which only root may read; another user's directory
    (their ~); a sticky world-writable directory like /tmp."""
    vault = tmp_path / 'vault'
    vault.mkdir(mode=0o700)
    (vault / 'id_rsa').write_bytes(SECRET)
    home = tmp_path / 'home'
    home.mkdir(mode=0o700)
    os.chown(str(home), NOBODY, NOGROUP)
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    return vault, home, shared


@root_only
def test_read_option_file_refuses_a_link_another_user_could_have_planted(tmp_path):
    vault, home, shared = _root_key_and_untrusted_dirs(tmp_path)
    os.symlink(str(vault / 'id_rsa'), str(home / 'web.pem'))
    os.lchown(str(home / 'web.pem'), NOBODY, NOGROUP)
    os.symlink(str(vault), str(home / 'keys'))
    os.lchown(str(home / 'keys'), NOBODY, NOGROUP)
    # A root-owned link in the shared directory proves nothing: anyone could have replaced it.
    os.symlink(str(vault / 'id_rsa'), str(shared / 'web.pem'))
    message = ('Cannot read private_key_path %s on the host running the module: %s is a symbolic link that another '
               'user could have made or can change, so it is not followed and nothing was read. If the file it leads '
               'to (%s) is the one to read, give that path.')
    real = vault / 'id_rsa'
    for path, link in ((home / 'web.pem', home / 'web.pem'), (home / 'keys' / 'id_rsa', home / 'keys'),
                       (shared / 'web.pem', shared / 'web.pem')):
        assert _read_error(path) == message % (path, link, real)
    assert _read(real) == SECRET  # given by its own path, as the message says


def refused_hard_link(path, there=None):
    there = there or path
    return ('Cannot read private_key_path %s on the host running the module: %s has other hard links, and another '
            'user can write to %s: they could have made this name for a file they cannot read, so nothing was read '
            'or sent. Give a path in a directory only root or you can write, or remove the extra link.'
            % (path, there, os.path.dirname(str(there))))


@root_only
def test_read_option_file_refuses_a_hard_link_in_a_directory_another_user_can_write(tmp_path):
    vault, home, shared = _root_key_and_untrusted_dirs(tmp_path)
    group_writable = tmp_path / 'team'
    group_writable.mkdir()
    os.chmod(str(group_writable), 0o775)            # root's, but its group can add names
    for directory in (home, shared, group_writable):
        os.link(str(vault / 'id_rsa'), str(directory / 'web.pem'))
        assert _read_error(directory / 'web.pem') == refused_hard_link(directory / 'web.pem')
    # Reached through a trusted link, the message names where the file really is.
    os.symlink(str(shared), str(tmp_path / 'alias'))
    assert _read_error(tmp_path / 'alias' / 'web.pem') == refused_hard_link(tmp_path / 'alias' / 'web.pem',
                                                                            shared / 'web.pem')


@root_only
def test_read_option_file_reads_single_files_anywhere_and_hard_links_in_trusted_directories(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / 'id_rsa').write_bytes(SECRET)
    os.link(str(tmp_path / 'id_rsa'), str(tmp_path / 'backup.pem'))  # root's own second name, in root's directory
    assert _read(tmp_path / 'id_rsa') == SECRET
    assert _read(tmp_path / 'backup.pem') == SECRET
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    (shared / 'upload.pem').write_bytes(SECRET)     # one name only: nobody can have made it for another file
    home = tmp_path / 'home'
    home.mkdir()
    (home / 'web.pem').write_bytes(SECRET)
    os.chown(str(home), NOBODY, NOGROUP)
    assert _read(shared / 'upload.pem') == SECRET
    assert _read(home / 'web.pem') == SECRET


@root_only
def test_read_option_file_follows_the_running_users_own_links():
    """A user's own link in their own directory, read by a module that runs as that user."""
    base = tempfile.mkdtemp(prefix='kps-read-')  # tmp_path's parents are root's alone
    try:
        os.chmod(base, 0o755)
        home = os.path.join(base, 'home')
        os.mkdir(home, 0o755)
        with open(os.path.join(home, 'id_ed25519'), 'wb') as handle:
            handle.write(SECRET)
        os.symlink('id_ed25519', os.path.join(home, 'current.pem'))
        for name in ('', 'id_ed25519', 'current.pem'):
            os.lchown(os.path.join(home, name), NOBODY, NOGROUP)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child runs as that user
            try:
                os.setgroups([])
                os.setegid(NOGROUP)
                os.seteuid(NOBODY)
                os.write(writer, _read(os.path.join(home, 'current.pem')))
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                os.write(writer, repr(exc).encode())
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, 'rb') as handle:
            got = handle.read()
        os.waitpid(pid, 0)
        assert got == SECRET
    finally:
        shutil.rmtree(base, ignore_errors=True)


@root_only
def test_read_for_a_user_gives_him_only_what_he_could_read_himself(tmp_path):
    """``reader``: a file whose content goes to another user (his authorized_keys lines) is read only when he could
    read it himself, and, with other hard links, only when it is his; otherwise nothing is read."""
    with open_dir(str(tmp_path)) as folder:
        folder.write('file', SECRET, 0o600, 0, 0)
        reader = (NOBODY, [NOGROUP])
        with pytest.raises(_files.NotReadableForError) as caught:
            folder.read('file', 1024, reader=reader)
        assert str(caught.value) == '%s belongs to root (mode 0600) and nobody cannot read it, so it is not read.' % (
            tmp_path / 'file')
        assert folder.read('file', 1024, reader=(0, [0])) == SECRET  # root could read it
        for mode, uid, gid in ((0o644, 0, 0), (0o640, 0, NOGROUP), (0o600, NOBODY, 0), (0o200, NOBODY, 0)):
            folder.set_attributes('file', mode, uid, gid)
            assert folder.read('file', 1024, reader=reader) == SECRET, (oct(mode), uid, gid)
        os.link(str(tmp_path / 'file'), str(tmp_path / 'other-name'))
        assert folder.read('file', 1024, reader=reader) == SECRET  # hard-linked, but his
        os.chown(str(tmp_path / 'file'), 0, 0)
        os.chmod(str(tmp_path / 'file'), 0o644)
        with pytest.raises(_files.NotReadableForError, match='file has other hard links and does not belong to nobody, '
                           'so it is not read.'):
            folder.read('file', 1024, reader=reader)
