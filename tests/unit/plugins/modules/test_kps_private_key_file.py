# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_file: atomic 0600 writes, byte-for-byte idempotency, check mode that predicts the real run,
and no content (nor a hash of it) in any result or diff."""
from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys
from unittest import mock

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils import _files
from ansible_collections.huaweicloud.kps.plugins.modules import kps_private_key_file
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

SECRET = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtest+secret+body+line+one\nc2VjcmV0LWJvZHktdHdv\n' \
         '-----END RSA PRIVATE KEY-----\n'
OTHER = SECRET.replace('one', 'two')
ME = pwd.getpwuid(os.geteuid()).pw_name
MY_GROUP = grp.getgrgid(os.getegid()).gr_name


def run(args, check_mode=False, diff=True, fail=False):
    args = dict(args)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    with set_module_args(args):
        result = run_module(kps_private_key_file.main, fail=fail)
    assert_no_secret(result)
    return result


def assert_no_secret(result):
    text = json.dumps(result)
    for secret in (SECRET, OTHER):
        for form in (secret, secret.strip(), 'test+secret+body', 'c2VjcmV0LWJvZHktdHdv',
                     hashlib.sha256(secret.encode()).hexdigest()[:12], hashlib.md5(secret.encode()).hexdigest()[:12]):
            assert form not in text


def read(path):
    with open(path) as handle:
        return handle.read()


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_check_then_real_then_check_then_repeat(tmp_path):
    path = str(tmp_path / 'id_web')
    args = {'path': path, 'content': SECRET}

    checked = run(args, check_mode=True)
    assert checked['changed'] is True and checked['content_changed'] is True
    assert checked['msg'] == 'Would create the file.'
    assert not os.path.exists(path)
    assert checked['diff']['before'] == {'exists': False}
    predicted = checked['diff']['after']
    assert predicted['exists'] is True and predicted['mode'] == '0600'

    real = run(args)
    assert real['changed'] is True and real['content_changed'] is True and real['msg'] == 'Created the file.'
    assert read(path) == SECRET and mode_of(path) == 0o600
    assert real['diff']['after'] == predicted  # check mode predicted the real run
    assert real['diff']['after']['owner'] == ME and real['diff']['after']['group'] == MY_GROUP
    assert real['backup_file'] is None and real['path'] == path and real['state'] == 'present'
    assert sorted(os.listdir(str(tmp_path))) == ['id_web']  # no temp file left behind

    for check_mode in (True, False):
        again = run(args, check_mode=check_mode)
        assert again['changed'] is False and again['content_changed'] is False
        assert again['diff']['before'] == again['diff']['after']
        assert again['msg'] == 'The file is up to date.'


def test_new_content_replaces_atomically_with_backup(tmp_path):
    path = str(tmp_path / 'id_web')
    run({'path': path, 'content': SECRET})
    inode = os.stat(path).st_ino

    checked = run({'path': path, 'content': OTHER, 'backup': True}, check_mode=True)
    assert checked['changed'] is True and checked['content_changed'] is True and checked['backup_file'] is None
    assert read(path) == SECRET
    assert checked['diff']['before']['content'] != checked['diff']['after']['content']

    real = run({'path': path, 'content': OTHER, 'backup': True})
    assert real['changed'] is True and real['content_changed'] is True
    assert read(path) == OTHER and os.stat(path).st_ino != inode  # a new file took the name (rename)
    assert read(real['backup_file']) == SECRET and mode_of(real['backup_file']) == 0o600
    assert real['diff'] == dict(checked['diff'])


def test_the_temp_file_is_0600_with_its_final_owner_until_it_is_complete(tmp_path):
    """Even with a wide requested mode and umask 0, the secret is only ever in a 0600 file (already with its
    final owner and group) until it is complete; it gets its final mode just before the rename."""
    path = str(tmp_path / 'shared_secret')
    owner, group = (('nobody', 'nogroup') if os.geteuid() == 0 else (ME, MY_GROUP))
    uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
    seen = {}
    real_write, real_replace = os.write, os.replace

    def spy_write(fd, data):
        st = os.fstat(fd)
        seen.setdefault('write', (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
        return real_write(fd, data)

    def spy_replace(src, dst, **kwargs):
        st = os.stat(src, dir_fd=kwargs['src_dir_fd'])
        seen['replace'] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        return real_replace(src, dst, **kwargs)

    old_umask = os.umask(0)
    try:
        with mock.patch.object(_files.os, 'write', spy_write), mock.patch.object(_files.os, 'replace', spy_replace):
            run({'path': path, 'content': SECRET, 'mode': '0644', 'owner': owner, 'group': group})
    finally:
        os.umask(old_umask)
    assert seen == {'write': (0o600, uid, gid), 'replace': (0o644, uid, gid)}
    assert mode_of(path) == 0o644


@pytest.mark.parametrize('mode, expected', [('0640', 0o640), ('u=rw,g=r', 0o640), (0o400, 0o400)])
def test_mode_of_an_unchanged_file_is_fixed_without_rewriting(tmp_path, mode, expected):
    path = str(tmp_path / 'id_web')
    run({'path': path, 'content': SECRET})
    inode = os.stat(path).st_ino

    checked = run({'path': path, 'content': SECRET, 'mode': mode}, check_mode=True)
    assert checked['changed'] is True and checked['content_changed'] is False
    assert checked['msg'] == 'Would fix the mode, owner or group of the file.'
    assert mode_of(path) == 0o600
    assert checked['diff']['after']['mode'] == '0%03o' % expected
    assert checked['diff']['before']['content'] == checked['diff']['after']['content']

    real = run({'path': path, 'content': SECRET, 'mode': mode})
    assert real['changed'] is True and real['content_changed'] is False
    assert real['msg'] == 'Fixed the mode, owner or group of the file.'
    assert mode_of(path) == expected and os.stat(path).st_ino == inode
    assert real['diff']['after'] == checked['diff']['after']

    assert run({'path': path, 'content': SECRET, 'mode': mode})['changed'] is False


def test_a_wrong_mode_is_put_back_to_0600_by_default(tmp_path):
    path = str(tmp_path / 'id_web')
    run({'path': path, 'content': SECRET})
    os.chmod(path, 0o644)
    assert run({'path': path, 'content': SECRET}, check_mode=True)['changed'] is True
    assert mode_of(path) == 0o644
    result = run({'path': path, 'content': SECRET})
    assert result['changed'] is True and result['content_changed'] is False and mode_of(path) == 0o600


root_only = pytest.mark.skipif(os.geteuid() != 0, reason='giving files to another user needs root')


@root_only
def test_owner_and_group_are_applied_with_a_non_root_user_and_group(tmp_path):
    path = str(tmp_path / 'id_web')
    args = {'path': path, 'content': SECRET, 'owner': 'nobody', 'group': 'nogroup'}
    checked = run(args, check_mode=True)
    assert checked['diff']['after']['owner'] == 'nobody' and checked['diff']['after']['group'] == 'nogroup'
    result = run(args)
    assert result['changed'] is True and result['diff']['after'] == checked['diff']['after']
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (pwd.getpwnam('nobody').pw_uid, grp.getgrnam('nogroup').gr_gid)
    assert run(args)['changed'] is False
    # Unchanged content, another owner asked for: only the owner changes.
    os.chown(path, 0, 0)
    again = run(args)
    assert again['changed'] is True and again['content_changed'] is False
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (st.st_uid, st.st_gid)


@root_only
def test_a_replaced_file_belongs_to_the_running_user_not_to_its_old_owner(tmp_path):
    """Another user pre-creates the file (say in a sticky world-writable directory): without owner/group the
    new file is the running user's, not theirs."""
    path = str(tmp_path / 'web.pem')
    with open(path, 'w') as handle:
        handle.write('planted\n')
    os.chown(path, pwd.getpwnam('nobody').pw_uid, grp.getgrnam('nogroup').gr_gid)
    os.chmod(path, 0o666)
    checked = run({'path': path, 'content': SECRET}, check_mode=True)
    assert checked['diff']['before']['owner'] == 'nobody'
    assert checked['diff']['after']['owner'] == ME and checked['diff']['after']['group'] == MY_GROUP
    result = run({'path': path, 'content': SECRET})
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, mode_of(path)) == (os.geteuid(), os.getegid(), 0o600)
    assert result['diff']['after'] == checked['diff']['after']


@root_only
def test_a_hard_link_to_another_file_with_the_same_secret_is_replaced_not_chowned(tmp_path):
    """Say root's own copy of the key, hard-linked by a user into their directory: the task must not give
    root's file to that user (it only would have to fix the owner, the content being the same)."""
    roots = tmp_path / 'root-only'
    roots.mkdir(mode=0o700)
    victim = roots / 'id_web'
    victim.write_text(SECRET)
    victim.chmod(0o600)
    home = tmp_path / 'home'
    home.mkdir()
    path = str(home / 'id_web')
    os.link(str(victim), path)
    result = run({'path': path, 'content': SECRET, 'owner': 'nobody'})
    assert result['changed'] is True and result['content_changed'] is True
    st = os.stat(str(victim))
    assert (st.st_uid, mode_of(str(victim)), st.st_nlink) == (0, 0o600, 1)
    assert os.stat(path).st_uid == pwd.getpwnam('nobody').pw_uid and read(path) == SECRET


def test_unknown_owner_or_group_fails_before_anything_is_written(tmp_path):
    path = str(tmp_path / 'id_web')
    failed = run({'path': path, 'content': SECRET, 'owner': 'no-such-user-kps'}, fail=True)
    assert failed['msg'] == 'owner no-such-user-kps does not exist on this host; give an existing user name or uid.'
    failed = run({'path': path, 'content': SECRET, 'group': 'no-such-group-kps'}, fail=True)
    assert failed['msg'].startswith('group no-such-group-kps does not exist')
    assert os.listdir(str(tmp_path)) == []


def test_absent_check_then_real_then_repeat(tmp_path):
    path = str(tmp_path / 'id_web')
    run({'path': path, 'content': SECRET})

    checked = run({'path': path, 'state': 'absent'}, check_mode=True)
    assert checked['changed'] is True and os.path.exists(path) and checked['msg'] == 'Would remove the file.'
    assert checked['diff']['before']['exists'] is True and checked['diff']['after'] == {'exists': False}

    real = run({'path': path, 'state': 'absent', 'backup': True})
    assert real['changed'] is True and not os.path.exists(path) and real['msg'] == 'Removed the file.'
    assert read(real['backup_file']) == SECRET
    assert real['diff'] == checked['diff']

    for check_mode in (True, False):
        again = run({'path': path, 'state': 'absent'}, check_mode=check_mode)
        assert again['changed'] is False and again['diff']['before'] == {'exists': False}
        assert again['msg'] == 'The file does not exist.'


def test_a_symlink_is_replaced_not_followed_and_removed_itself(tmp_path):
    target = tmp_path / 'real_key'
    link = tmp_path / 'id_web'
    target.write_text('old\n')
    os.chmod(str(target), 0o644)
    link.symlink_to(target)
    checked = run({'path': str(link), 'content': SECRET}, check_mode=True)
    assert checked['changed'] is True and checked['diff']['before'] == {'exists': True, 'symlink': True}
    result = run({'path': str(link), 'content': SECRET})
    assert result['changed'] is True and result['msg'] == 'Replaced the file.'
    assert not link.is_symlink() and read(str(link)) == SECRET and mode_of(str(link)) == 0o600
    assert read(str(target)) == 'old\n' and mode_of(str(target)) == 0o644
    assert run({'path': str(link), 'content': SECRET})['changed'] is False
    link.unlink()
    link.symlink_to(target)
    run({'path': str(link), 'state': 'absent'})
    assert not os.path.lexists(str(link)) and read(str(target)) == 'old\n'


def test_failures_name_the_problem_not_the_content(tmp_path):
    missing_dir = str(tmp_path / 'nope' / 'id_web')
    failed = run({'path': missing_dir, 'content': SECRET}, fail=True)
    assert 'does not exist' in failed['msg']
    # Check mode does not fail for a directory that an earlier task would create in a real run.
    assert run({'path': missing_dir, 'content': SECRET}, check_mode=True)['changed'] is True

    assert 'is a directory' in run({'path': str(tmp_path), 'content': SECRET}, fail=True)['msg']
    assert 'is a directory' in run({'path': str(tmp_path), 'state': 'absent'}, fail=True)['msg']
    assert 'content is empty' in run({'path': str(tmp_path / 'x'), 'content': ''}, fail=True)['msg']
    assert 'content' in run({'path': str(tmp_path / 'x')}, fail=True)['msg']  # required with present
    assert 'neither octal nor' in run({'path': str(tmp_path / 'x'), 'content': SECRET, 'mode': 'bogus'},
                                      fail=True)['msg']
    assert not os.path.exists(str(tmp_path / 'x'))


def test_content_is_a_no_log_option():
    """AnsibleModule masks every no_log value in whatever the module returns or logs."""
    captured = {}

    def capture(runner):
        captured['no_log_values'] = set(runner.module.no_log_values)

    with set_module_args({'path': '/tmp/x', 'content': SECRET}), \
            mock.patch.object(kps_private_key_file.SecretFileRunner, 'execute', capture):
        kps_private_key_file.main()
    assert SECRET in captured['no_log_values']


def test_the_module_needs_neither_requests_nor_cryptography():
    """It runs on managed hosts: importing it (and its module_utils) must not pull in the KPS client's needs."""
    code = '\n'.join([
        'import sys',
        'for name in ("requests", "cryptography", "urllib3"):',
        '    sys.modules[name] = None  # any import of them raises ImportError',
        'sys.path.insert(0, %r)' % os.environ['KPS_TEST_COLLECTIONS_DIR'],
        'from ansible_collections.huaweicloud.kps.plugins.modules import kps_private_key_file',
        'loaded = sorted(m for m in sys.modules if m.startswith("ansible_collections.huaweicloud.kps.plugins"))',
        'print("\\n".join(loaded))',
    ])
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.split()
    prefix = 'ansible_collections.huaweicloud.kps.plugins.'
    assert sorted(name[len(prefix):] for name in loaded if name.count('.') == 5) == [
        'module_utils._errors', 'module_utils._files', 'module_utils._runner', 'module_utils._secret_file_runner',
        'modules.kps_private_key_file']


@pytest.mark.parametrize('extra', ['\n', 'x', '-----BEGIN RSA PRIVATE KEY-----\n'])
def test_a_file_holding_the_content_and_more_is_rewritten_not_counted_unchanged(tmp_path, extra):
    """The content followed by anything (issue 29, 11): the file is not what the task asks for."""
    path = str(tmp_path / 'id_web')
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
        handle.write(SECRET + extra)
    for check_mode in (True, False):
        result = run({'path': path, 'content': SECRET}, check_mode=check_mode)
        assert result['changed'] is True and result['content_changed'] is True
    assert read(path) == SECRET
    assert run({'path': path, 'content': SECRET})['changed'] is False
