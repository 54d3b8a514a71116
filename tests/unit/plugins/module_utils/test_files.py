# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret files: 0600 from the first byte, atomic replace, nothing left behind on failure."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils import _files
from ansible_collections.huaweicloud.kps.plugins.module_utils._files import SecretFileError, write_secret_file

SECRET = b'-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n'


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


def test_new_file_is_0600_from_first_byte(tmp_path, umask0, monkeypatch):
    dest = tmp_path / 'key.pem'
    seen = []
    real_fdopen = os.fdopen

    class Spy(object):
        """Checks the temp file's mode at the moment the secret is written."""

        def __init__(self, handle):
            self._h = handle

        def write(self, data):
            seen.append(stat.S_IMODE(os.fstat(self._h.fileno()).st_mode))
            return self._h.write(data)

        def __getattr__(self, name):
            return getattr(self._h, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._h.__exit__(*exc)

    monkeypatch.setattr(_files.os, 'fdopen', lambda fd, mode: Spy(real_fdopen(fd, mode)))
    assert write_secret_file(str(dest), SECRET) is None
    assert seen == [0o600]
    assert dest.read_bytes() == SECRET
    assert _mode(dest) == 0o600
    assert os.listdir(tmp_path) == ['key.pem']


def test_text_content_and_custom_mode(tmp_path, umask0):
    dest = tmp_path / 'key.pem'
    write_secret_file(str(dest), SECRET.decode(), mode=0o640)
    assert dest.read_bytes() == SECRET and _mode(dest) == 0o640
    write_secret_file(str(dest), SECRET, mode=None)
    assert _mode(dest) == 0o600


def test_replaces_existing_file_atomically(tmp_path):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chmod(dest, 0o644)
    old_inode = os.stat(dest).st_ino
    write_secret_file(str(dest), SECRET)
    assert dest.read_bytes() == SECRET
    assert _mode(dest) == 0o600
    assert os.stat(dest).st_ino != old_inode  # a new file was renamed over it, not rewritten in place


def test_backup_keeps_old_content_and_mode(tmp_path):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chmod(dest, 0o600)
    backup = write_secret_file(str(dest), SECRET, backup=True)
    assert backup and backup.startswith(str(dest) + '.') and backup.endswith('~')
    with open(backup, 'rb') as handle:
        assert handle.read() == b'old'
    assert _mode(backup) == 0o600
    assert dest.read_bytes() == SECRET


def test_backup_copy_fallback_when_links_fail(tmp_path, monkeypatch):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    os.chmod(dest, 0o640)

    def no_link(*_args):
        raise OSError(1, 'Operation not permitted')
    monkeypatch.setattr(_files.os, 'link', no_link)
    backup = write_secret_file(str(dest), SECRET, backup=True)
    with open(backup, 'rb') as handle:
        assert handle.read() == b'old'
    assert _mode(backup) == 0o640
    assert sorted(os.listdir(tmp_path)) == sorted(['key.pem', os.path.basename(backup)])


def test_no_backup_when_file_is_new(tmp_path):
    assert write_secret_file(str(tmp_path / 'new.pem'), SECRET, backup=True) is None


@pytest.mark.parametrize('failing', ['write', 'fsync', 'replace'])
def test_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch, failing):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')

    def boom(*_args, **_kwargs):
        raise OSError(28, 'No space left on device')
    if failing == 'write':
        real_fdopen = os.fdopen

        class Broken(object):
            def __init__(self, handle):
                self._h = handle

            def write(self, data):
                raise OSError(28, 'No space left on device')

            def __getattr__(self, name):
                return getattr(self._h, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._h.__exit__(*exc)
        monkeypatch.setattr(_files.os, 'fdopen', lambda fd, mode: Broken(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(_files.os, failing, boom)
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(dest), SECRET)
    assert 'No space left on device' in str(exc.value) and str(dest) in str(exc.value)
    assert 'not-a-real-key' not in str(exc.value)
    assert dest.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['key.pem']


def test_unexpected_exception_also_removes_temp(tmp_path, monkeypatch):
    def interrupt(_fd):
        raise KeyboardInterrupt()
    monkeypatch.setattr(_files.os, 'fsync', interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_secret_file(str(tmp_path / 'k.pem'), SECRET)
    assert os.listdir(tmp_path) == []


def test_missing_directory_and_directory_dest(tmp_path):
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(tmp_path / 'nope' / 'k.pem'), SECRET)
    assert 'does not exist' in str(exc.value)
    with pytest.raises(SecretFileError) as exc:
        write_secret_file(str(tmp_path), SECRET)
    assert 'is a directory' in str(exc.value)


def test_symlink_destination_writes_target(tmp_path):
    target = tmp_path / 'real.pem'
    target.write_bytes(b'old')
    link = tmp_path / 'link.pem'
    os.symlink(str(target), str(link))
    write_secret_file(str(link), SECRET)
    assert os.path.islink(link)
    assert target.read_bytes() == SECRET and _mode(target) == 0o600


def test_staged_file_changes_nothing_until_replaced(tmp_path, umask0):
    dest = tmp_path / 'key.pem'
    dest.write_bytes(b'old')
    staged = _files.stage_secret_file(str(dest), SECRET, 0o640)
    assert dest.read_bytes() == b'old'
    assert _mode(staged.tmp) == 0o640
    with open(staged.tmp, 'rb') as handle:
        assert handle.read() == SECRET
    staged.replace()
    assert dest.read_bytes() == SECRET and _mode(dest) == 0o640
    assert os.listdir(tmp_path) == ['key.pem']


def test_discarded_staged_file_leaves_nothing(tmp_path):
    staged = _files.stage_secret_file(str(tmp_path / 'key.pem'), SECRET)
    staged.discard()
    staged.discard()
    assert os.listdir(tmp_path) == []
