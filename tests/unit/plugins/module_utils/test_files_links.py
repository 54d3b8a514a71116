# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The write core never follows a link another user could have planted: a link at a file name is replaced
(its target untouched), a directory that is such a link fails naming the path, and a directory swapped
after it was opened does not redirect the write."""
from __future__ import annotations

import os
import pwd
import stat

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._files import (
    SecretFileError,
    missing_dirs,
    open_dir,
    write_secret_file,
)

SECRET = b'-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n'
NOBODY = pwd.getpwnam('nobody').pw_uid

root_only = pytest.mark.skipif(os.geteuid() != 0, reason='planting links as another user needs root')


def _snapshot(path):
    st = os.lstat(str(path))
    with open(str(path), 'rb') as handle:
        return handle.read(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_ino


@pytest.fixture
def victim(tmp_path):
    """A root-owned file elsewhere, the kind an attacker wants written or chowned."""
    vault = tmp_path / 'vault'
    vault.mkdir(mode=0o755)
    path = vault / 'shadow'
    path.write_bytes(b'root:secret-hash:\n')
    os.chmod(str(path), 0o640)
    return path


def test_a_link_at_the_destination_is_replaced_and_its_target_untouched(tmp_path, victim):
    before = _snapshot(victim)
    link = tmp_path / 'id_web'
    os.symlink(str(victim), str(link))
    write_secret_file(str(link), SECRET, mode=0o600)
    assert not os.path.islink(str(link)) and stat.S_ISREG(os.lstat(str(link)).st_mode)
    assert link.read_bytes() == SECRET
    assert _snapshot(victim) == before


def test_a_dangling_link_is_replaced_and_its_target_not_created(tmp_path):
    link = tmp_path / 'web.pem'
    os.symlink(str(tmp_path / 'created-through-the-link'), str(link))
    write_secret_file(str(link), SECRET)
    assert sorted(os.listdir(str(tmp_path))) == ['web.pem']
    assert not os.path.islink(str(link)) and link.read_bytes() == SECRET


def test_a_link_is_not_read_through(tmp_path, victim):
    os.symlink(str(victim), str(tmp_path / 'id_web'))
    with open_dir(str(tmp_path)) as folder:
        assert folder.read('id_web', 1024) is None
        assert stat.S_ISLNK(folder.lstat('id_web').st_mode)
        with pytest.raises(SecretFileError, match='does not exist or is a symbolic link'):
            folder.set_attributes('id_web', 0o600, NOBODY, NOBODY)
    assert _snapshot(victim)[1:4] == (0, 0, 0o640)


@root_only
@pytest.mark.parametrize('last', [True, False], ids=['the directory', 'a directory on the way'])
def test_a_directory_link_planted_by_another_user_is_refused_and_nothing_touched(tmp_path, victim, last):
    home = tmp_path / 'home'
    home.mkdir()
    os.chown(str(home), NOBODY, NOBODY)
    os.symlink(str(victim.parent), str(home / '.ssh'))
    os.lchown(str(home / '.ssh'), NOBODY, NOBODY)
    before = sorted(os.listdir(str(victim.parent))), _snapshot(victim)
    path = home / '.ssh' if last else home / '.ssh' / 'sub'
    expected = ('%s is a symbolic link that another user could have made or can change; it is not followed and '
                'nothing was written. Make it a real directory, or give the path it points to.' % (home / '.ssh'))
    for attempt in (lambda: open_dir(str(path), create=True, uid=NOBODY, gid=NOBODY),
                    lambda: write_secret_file(str(path / 'id_web'), SECRET),
                    lambda: missing_dirs(str(path))):
        with pytest.raises(SecretFileError) as exc:
            attempt()
        assert str(exc.value) == expected
    assert (sorted(os.listdir(str(victim.parent))), _snapshot(victim)) == before


@root_only
def test_a_root_link_in_a_world_writable_directory_is_not_followed_either(tmp_path, victim):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    os.symlink(str(victim.parent), str(shared / 'keys'))  # root-owned link, but anyone could have put it there
    with pytest.raises(SecretFileError, match='is a symbolic link that another user could have made'):
        open_dir(str(shared / 'keys'))


def test_a_link_only_root_or_the_running_user_could_make_is_followed(tmp_path):
    # Like /var/run -> /run: the link and its directory belong to root (or us) and nobody else can write there.
    real = tmp_path / 'real'
    real.mkdir()
    os.chmod(str(tmp_path), 0o755)
    os.symlink('real', str(tmp_path / 'alias'))
    write_secret_file(str(tmp_path / 'alias' / 'k'), SECRET)
    assert (real / 'k').read_bytes() == SECRET


def test_a_file_in_the_way_of_a_directory(tmp_path):
    (tmp_path / 'file').write_bytes(b'x')
    with pytest.raises(SecretFileError) as exc:
        open_dir(str(tmp_path / 'file' / 'sub'), create=True)
    assert str(exc.value) == '%s is not a directory, so %s cannot be created.' % (
        tmp_path / 'file', tmp_path / 'file' / 'sub')
    with pytest.raises(SecretFileError) as exc:
        open_dir(str(tmp_path / 'file'))
    assert str(exc.value) == '%s is not a directory, so %s cannot be opened.' % (tmp_path / 'file', tmp_path / 'file')


def test_a_directory_swapped_for_a_link_after_opening_does_not_redirect_writes(tmp_path, victim):
    keys = tmp_path / 'keys'
    keys.mkdir()
    with open_dir(str(keys)) as folder:
        os.rename(str(keys), str(tmp_path / 'moved'))
        os.symlink(str(victim.parent), str(keys))
        folder.write('shadow', SECRET)
        folder.set_attributes('shadow', 0o644)
    assert (tmp_path / 'moved' / 'shadow').read_bytes() == SECRET
    assert victim.read_bytes() == b'root:secret-hash:\n' and stat.S_IMODE(os.stat(str(victim)).st_mode) == 0o640


def test_a_file_with_other_hard_links_is_not_changed_in_place(tmp_path, victim):
    os.link(str(victim), str(tmp_path / 'id_web'))
    before = _snapshot(victim)
    with open_dir(str(tmp_path)) as folder:
        assert folder.set_attributes('id_web', 0o600, check=True) is True
        with pytest.raises(SecretFileError) as exc:
            folder.set_attributes('id_web', 0o600)
        assert str(exc.value) == ('%s has other hard links; its owner and mode are not changed in place.'
                                  % (tmp_path / 'id_web'))
        folder.write('id_web', SECRET)
    assert _snapshot(victim) == before and (tmp_path / 'id_web').read_bytes() == SECRET


@root_only
def test_creating_a_directory_never_goes_through_a_link(tmp_path, victim):
    os.symlink(str(victim.parent / 'new'), str(tmp_path / '.ssh'))
    os.lchown(str(tmp_path / '.ssh'), NOBODY, NOBODY)
    with pytest.raises(SecretFileError, match='is a symbolic link'):
        open_dir(str(tmp_path / '.ssh'), create=True)
    assert not os.path.lexists(str(victim.parent / 'new'))
