# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_host_keys in-process, on files under tmp_path (the users' home directories are faked): report mode,
check mode that predicts the real run, one call that installs and authorizes, links never followed, absent that
removes only what the role installed, and no private key in any result."""
from __future__ import annotations

import base64
import json
import os
import pwd
import stat
import struct
import subprocess
import sys
import types
from unittest import mock

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils import _host_keys_runner
from ansible_collections.huaweicloud.kps.plugins.modules import kps_host_keys
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

ME = pwd.getpwuid(os.geteuid())


@pytest.fixture(scope='module')
def keypairs(tmp_path_factory):
    """name -> (private key text, public key line): Ed25519 keys in OpenSSH format, an RSA key in PEM (db) and one in
    OpenSSH format (ops)."""
    out = {}
    for name, argv in (('web', ['-t', 'ed25519']), ('db', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']),
                       ('new', ['-t', 'ed25519']), ('ops', ['-t', 'rsa', '-b', '2048'])):
        path = tmp_path_factory.mktemp('k') / name
        subprocess.run(['ssh-keygen', '-q', '-N', '', '-C', 'src', '-f', str(path)] + argv, check=True)
        out[name] = (path.read_text(), ' '.join(path.with_suffix('.pub').read_text().split()[:2]))
    return out


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Every user of the tests is ME with this home directory."""
    home = tmp_path / 'home'
    home.mkdir()
    account = ME._replace(pw_dir=str(home)) if hasattr(ME, '_replace') else None
    fake = types.SimpleNamespace(
        getpwnam=lambda name: account if name in (ME.pw_name, 'alice') else pwd.getpwnam(name),
        getpwuid=lambda uid: account if uid == ME.pw_uid else pwd.getpwuid(uid))
    if account is None:
        fields = list(ME)
        fields[5] = str(home)
        account = pwd.struct_passwd(fields)
        fake.getpwnam = lambda name: account if name in (ME.pw_name, 'alice') else pwd.getpwnam(name)
        fake.getpwuid = lambda uid: account if uid == ME.pw_uid else pwd.getpwuid(uid)
    monkeypatch.setattr(_host_keys_runner, 'pwd', fake)
    return home


def run(args, keypairs, check_mode=False, fail=False, private=None, tmpdir=None):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
    args.setdefault('public_keys', {name: pub for name, (_priv, pub) in keypairs.items()})
    if private is not None:
        args['private_keys'] = dict((name, keypairs[name][0]) for name in private)
    if tmpdir:
        args['_ansible_tmpdir'] = tmpdir
    with set_module_args(args):
        result = run_module(kps_host_keys.main, fail=fail)
    text = json.dumps(result)
    for private_key, public_key in keypairs.values():
        for line in private_key.strip().splitlines()[1:-1]:
            # (An OpenSSH-format file starts with its public key: such lines may rightly be in a result.)
            assert line not in text or line in public_key
    return result


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


KEYS = [{'name': 'web', 'authorized_users': ['alice']},
        {'name': 'db', 'private_key': {'mode': '0400', 'format': 'pem'}, 'authorized_users': ['alice'],
         'authorized_key_options': 'restrict'}]


def test_report_check_real_check_repeat(home, keypairs):
    ssh = home / '.ssh'
    report = run({'keys': KEYS}, keypairs)
    assert report['changed'] is False and report['pending'] is True
    assert report['needs_private_keys'] == {'openssh': ['web'], 'pem': ['db']}
    assert [(item['name'], item['status']) for item in report['key_files']] == [('web', 'missing'), ('db', 'missing')]
    assert not ssh.exists()

    checked = run({'keys': KEYS}, keypairs, check_mode=True, private=[])
    assert checked['changed'] is True
    expected_files = [
        {'path': str(ssh), 'kind': 'directory', 'action': 'create'},
        {'path': str(ssh / 'id_web'), 'kind': 'private_key', 'action': 'create', 'key_pair': 'web'},
        {'path': str(ssh / 'id_db'), 'kind': 'private_key', 'action': 'create', 'key_pair': 'db'},
        {'path': str(ssh / 'authorized_keys'), 'kind': 'authorized_keys', 'action': 'create',
         'key_pairs': ['db', 'web']}]
    assert checked['files'] == expected_files
    assert '+' + keypairs['web'][1] + ' huaweicloud.kps:web' not in json.dumps(checked['diff'])  # a text diff
    assert any(keypairs['web'][1] + ' huaweicloud.kps:web' in diff['after'] for diff in checked['diff'])
    # A key file is shown by the public key of its private key, and says so.
    assert ('private key of key pair web, with public key: %s\nformat: openssh\n' % keypairs['web'][1]
            in [diff['after'] for diff in checked['diff']][1]), checked['diff']
    assert not ssh.exists()

    real = run({'keys': KEYS}, keypairs, private=['web', 'db'])
    assert real['changed'] is True and real['files'] == expected_files
    assert mode(ssh) == 0o700 and mode(ssh / 'id_web') == 0o600 and mode(ssh / 'id_db') == 0o400
    assert mode(ssh / 'authorized_keys') == 0o600
    # In the order of the key list.
    assert (ssh / 'authorized_keys').read_text() == '%s huaweicloud.kps:web\nrestrict %s huaweicloud.kps:db\n' % (
        keypairs['web'][1], keypairs['db'][1])
    assert (ssh / 'id_db').read_text() == keypairs['db'][0].strip() + '\n'  # PEM: as given
    for path in (ssh / 'id_web', ssh / 'id_db'):
        derived = subprocess.run(['ssh-keygen', '-y', '-f', str(path)], check=True, capture_output=True, text=True)
        assert ' '.join(derived.stdout.split()[:2]) == keypairs[path.name[3:]][1]

    for check_mode in (True, False):
        again = run({'keys': KEYS}, keypairs, check_mode=check_mode, private=[])
        assert (again['changed'], again['files'], again['needs_private_keys']) == (False, [], {})
    assert run({'keys': KEYS}, keypairs)['pending'] is False


def test_msg_counts_the_files_in_words_would_in_check_mode_and_nothing_in_report_mode(home, keypairs):
    keys = [{'name': 'web'}]
    key_file = home / '.ssh' / 'id_web'
    assert run({'keys': keys}, keypairs)['msg'] == '2 files or directories to change.'
    assert run({'keys': keys}, keypairs, check_mode=True, private=[])['msg'] == 'Would change 2 files or directories.'
    assert not key_file.exists()
    assert run({'keys': keys}, keypairs, private=['web'])['msg'] == 'Changed 2 files or directories.'
    os.chmod(str(key_file), 0o644)
    assert run({'keys': keys}, keypairs)['msg'] == '1 file or directory to change.'
    assert mode(key_file) == 0o644  # report mode changes nothing
    assert run({'keys': keys}, keypairs, check_mode=True, private=[])['msg'] == 'Would change 1 file or directory.'
    assert mode(key_file) == 0o644
    assert run({'keys': keys}, keypairs, private=[])['msg'] == 'Changed 1 file or directory.'
    assert mode(key_file) == 0o600
    assert run({'keys': keys}, keypairs, private=[])['msg'] == 'Everything is up to date.'


def test_a_rotated_key_and_a_wrong_mode_are_found_and_fixed_in_one_call(home, keypairs):
    run({'keys': KEYS}, keypairs, private=['web', 'db'])
    ssh = home / '.ssh'
    os.chmod(str(ssh / 'id_db'), 0o644)
    rotated = dict(keypairs, web=keypairs['new'])
    report = run({'keys': KEYS}, rotated)
    assert report['needs_private_keys'] == {'openssh': ['web']}
    assert {item['name']: item['status'] for item in report['key_files']} == {'web': 'other_key', 'db': 'matches'}
    failed = run({'keys': KEYS}, rotated, private=[], fail=True)
    assert failed['msg'] == 'The private key of web was not given; nothing was changed.'
    result = run({'keys': KEYS}, rotated, private=['web'])
    assert [(item['path'][len(str(ssh)) + 1:], item['action']) for item in result['files']] == [
        ('id_web', 'replace'), ('id_db', 'attributes'), ('authorized_keys', 'update')]
    # The diff shows each key file by the public key of its private key, and says so.
    assert result['diff'][0]['before'].startswith('private key with public key: %s\nformat: openssh\n'
                                                  % keypairs['web'][1]), result['diff'][0]
    assert result['diff'][0]['after'].startswith('private key of key pair web, with public key: %s\n'
                                                 % keypairs['new'][1]), result['diff'][0]
    assert mode(ssh / 'id_db') == 0o400
    lines = (ssh / 'authorized_keys').read_text().splitlines()
    assert keypairs['new'][1] + ' huaweicloud.kps:web' in lines and len(lines) == 2


def test_a_key_pair_kps_does_not_have_fails_a_real_run_and_warns_in_check_mode(home, keypairs):
    keys = [{'name': 'ghost', 'authorized_users': ['alice']}]
    for report_mode in (True, False):
        failed = run({'keys': keys}, keypairs, private=None if report_mode else [], fail=True)
        assert failed['msg'] == 'No such key pair in KPS: ghost. Nothing was changed.'
    checked = run({'keys': keys}, keypairs, check_mode=True)
    assert checked['warnings'] == ['Key pair ghost does not exist in KPS yet: the files below show what would be '
                                   'installed once it does.']
    assert [item['action'] for item in checked['files']] == ['create', 'create', 'create']
    assert not (home / '.ssh').exists()


def test_ssh_dir_that_is_a_link_fails_and_nothing_changes(home, keypairs, tmp_path):
    victim = tmp_path / 'victim'
    victim.mkdir(mode=0o755)
    os.symlink(str(victim), str(home / '.ssh'))
    os.lchown(str(home / '.ssh'), 65534, 65534)  # planted by another user (a link of root's own is followed)
    for check_mode in (True, False):
        failed = run({'keys': KEYS}, keypairs, check_mode=check_mode, private=['web', 'db'], fail=True)
        assert failed['msg'].startswith('%s is a symbolic link that another user could have made' % (home / '.ssh'))
    assert os.listdir(str(victim)) == [] and mode(victim) == 0o755


def test_authorized_keys_link_fails_before_anything_is_written(home, keypairs, tmp_path):
    victim = tmp_path / 'shadow'
    victim.write_text('root:$6$secret:19000::::::\n')
    (home / '.ssh').mkdir(mode=0o700)
    os.symlink(str(victim), str(home / '.ssh' / 'authorized_keys'))
    failed = run({'keys': KEYS}, keypairs, private=['web', 'db'], fail=True)
    assert failed['msg'].startswith('%s is a symbolic link or not a regular file.' % (home / '.ssh' / 'authorized_keys'))
    assert 'root:$6$' not in json.dumps(failed)
    assert victim.read_text() == 'root:$6$secret:19000::::::\n'
    assert sorted(os.listdir(str(home / '.ssh'))) == ['authorized_keys']


def test_absent_removes_only_the_files_the_role_installed(home, keypairs):
    keys = [{'name': 'web', 'authorized_users': ['alice']},
            {'name': 'db', 'private_key': {'format': 'kps'}, 'authorized_users': ['alice']}]
    run({'keys': keys}, keypairs, private=['web', 'db'])
    ssh = home / '.ssh'
    (ssh / 'authorized_keys').write_text((ssh / 'authorized_keys').read_text() + 'ssh-ed25519 AAAAmine me@x\n')
    (ssh / 'id_mine').write_text(keypairs['new'][0])  # the user's own key under a key pair's name: not ours
    absent = [{'name': name, 'state': 'absent', 'authorized_users': ['alice']} for name in ('web', 'db', 'mine')]
    checked = run({'keys': absent}, keypairs, check_mode=True, private=[])
    result = run({'keys': absent}, keypairs, private=[])
    assert checked['files'] == result['files']
    assert [(item['path'][len(str(ssh)) + 1:], item['action']) for item in result['files']] == [
        ('id_web', 'remove'), ('id_db', 'remove'), ('authorized_keys', 'update')]
    assert sorted(os.listdir(str(ssh))) == ['authorized_keys', 'id_mine']
    assert (ssh / 'authorized_keys').read_text() == 'ssh-ed25519 AAAAmine me@x\n'
    assert result['warnings'] == ['Left %s in place: it is not a private key file that the role installed for key '
                                  'pair mine (a link, another key, or a key KPS cannot confirm). Remove it yourself if '
                                  'it should go.' % (ssh / 'id_mine')]
    assert run({'keys': absent}, keypairs, private=[])['changed'] is False


def test_absent_with_a_custom_path_and_a_user_the_host_does_not_have(home, keypairs, tmp_path):
    keydir = tmp_path / 'keys'
    keydir.mkdir()
    keys = [{'name': 'web', 'private_key': {'path': str(keydir / 'web.key')}}]
    run({'keys': keys}, keypairs, private=['web'])
    assert os.listdir(str(keydir)) == ['web.key']
    absent = [{'name': 'web', 'state': 'absent', 'private_key': {'path': str(keydir / 'web.key')},
               'authorized_users': ['no-such-user-kps']}]
    result = run({'keys': absent}, keypairs, private=[])
    assert result['changed'] is True and os.listdir(str(keydir)) == []


def test_missing_user_and_relative_path_fail_in_report_mode(home, keypairs):
    failed = run({'keys': [{'name': 'web', 'authorized_users': ['no-such-user-kps']}]}, keypairs, fail=True)
    assert failed['msg'] == 'No such user on this host: no-such-user-kps.'
    failed = run({'keys': [{'name': 'web', 'private_key': {'path': 'keys/web'}}]}, keypairs, fail=True)
    assert failed['msg'].startswith('private_key.path of key pair web must be an absolute path, not "keys/web"')


def test_warns_when_pipelining_is_off(home, keypairs, tmp_path):
    result = run({'keys': KEYS}, keypairs, tmpdir=str(tmp_path))
    assert any(warning.startswith('Pipelining is off for this host') for warning in result['warnings'])
    assert not any('Pipelining' in warning for warning in run({'keys': KEYS}, keypairs)['warnings'])


def test_a_failed_read_of_kps_fails_hosts_with_present_key_pairs_only(home, keypairs, tmp_path):
    keydir = tmp_path / 'keys'
    keydir.mkdir()
    keys = [{'name': 'web', 'private_key': {'path': str(keydir / 'web')}}]
    run({'keys': keys}, keypairs, private=['web'])
    failed = run({'keys': keys, 'public_keys': {}, 'public_keys_error': 'HTTP 401 APIGW.0301'}, keypairs, fail=True)
    assert failed['msg'] == 'Reading the key pairs from KPS failed: HTTP 401 APIGW.0301'
    absent = [{'name': 'web', 'state': 'absent', 'private_key': {'path': str(keydir / 'web')}}]
    result = run({'keys': absent, 'public_keys': {}, 'public_keys_error': 'HTTP 401 APIGW.0301'}, keypairs, private=[])
    assert result['changed'] is True and os.listdir(str(keydir)) == []  # the OpenSSH file carries the role's mark


@pytest.mark.parametrize('name', ['x/../../../tmp/kps-escape', '..', 'web.key', 'web server', ''])
def test_key_pair_names_are_checked_before_any_file_is_touched(home, keypairs, tmp_path, name):
    """The default key file is ~/.ssh/id_NAME: a name with '/..' would write outside ~/.ssh (issue 24, 9)."""
    keys = [{'name': name, 'authorized_users': ['alice']}]
    for check_mode, private in ((False, None), (True, []), (False, [])):
        failed = run({'keys': keys, 'public_keys': {name: keypairs['web'][1]}, 'private_keys': {name: keypairs['web'][0]}},
                     keypairs, check_mode=check_mode, fail=True)
        assert failed['msg'] == ('Invalid key pair name: %r. A key pair name has 1 to 255 letters, digits, "_" or "-".'
                                 % name)
    assert not (home / '.ssh').exists() and not os.path.exists('/tmp/kps-escape')


def test_authorized_keys_lines_are_split_at_newlines_only_as_sshd_splits_them(home, keypairs):
    """A CR, VT, FF, FS, NEL or LINE SEPARATOR inside a line is part of that line for sshd: the text after it is
    inert there and must stay inside that line, never become a line (an active key) of its own (issue 24, 8)."""
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    inert = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGF0dGFja2VyLWtleQ attacker'
    own = ''.join('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG93bi1rZXk mine%s%s\n' % (separator, inert)
                  for separator in ('\r', '\x0b', '\x0c', '\x1c', '\x85', '\u2028'))
    (ssh / 'authorized_keys').write_bytes(own.encode('utf-8'))
    os.chmod(str(ssh / 'authorized_keys'), 0o600)
    keys = [{'name': 'web', 'private_key': {'install': False}, 'authorized_users': ['alice']}]
    result = run({'keys': keys}, keypairs, private=[])
    assert result['changed'] is True
    assert (ssh / 'authorized_keys').read_bytes() == (own + keypairs['web'][1] + ' huaweicloud.kps:web\n').encode('utf-8')
    assert result['diff'][0]['before'] == '' and result['diff'][0]['after'] == keypairs['web'][1] + ' huaweicloud.kps:web\n'


def test_an_authorized_keys_over_4_mib_is_refused_not_read_truncated_and_rewritten(home, keypairs):
    """The user's own lines past the limit would be lost (issue 29, 9)."""
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    line = b'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG93bi1rZXk mine\n'
    content = line * (4 * 1024 * 1024 // len(line))
    content += b'#' * (4 * 1024 * 1024 - len(content) - 1) + b'\n'  # exactly 4 MiB, in whole lines
    exact, content = content, content + line  # and a line past the limit
    (ssh / 'authorized_keys').write_bytes(content)
    os.chmod(str(ssh / 'authorized_keys'), 0o600)
    keys = [{'name': 'web', 'private_key': {'install': False}, 'authorized_users': ['alice']}]
    for check_mode, private in ((False, None), (True, []), (False, [])):
        failed = run({'keys': keys}, keypairs, check_mode=check_mode, private=private, fail=True)
        assert failed['msg'] == ('%s is larger than 4194304 bytes; not an authorized_keys file the role manages.'
                                 % (ssh / 'authorized_keys'))
    assert (ssh / 'authorized_keys').read_bytes() == content
    (ssh / 'authorized_keys').write_bytes(exact)  # exactly 4 MiB is read whole
    assert run({'keys': keys}, keypairs, private=[])['changed'] is True
    assert (ssh / 'authorized_keys').read_bytes() == exact + (keypairs['web'][1] + ' huaweicloud.kps:web\n').encode()


@pytest.mark.parametrize('fmt', ['pem', 'pkcs8'])
def test_absent_leaves_a_pem_or_pkcs8_file_holding_another_key(home, keypairs, tmp_path, fmt):
    """PEM formats carry no comment, so only the key tells the role's file from another (issue 29, 10): a file
    holding another key at the key pair's path stays, with a warning; one holding the key of KPS goes."""
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    other = tmp_path / 'other'
    subprocess.run(['ssh-keygen', '-q', '-N', '', '-t', 'rsa', '-b', '2048', '-m', 'PEM' if fmt == 'pem' else 'PKCS8',
                    '-f', str(other)], check=True)
    (ssh / 'id_db').write_text(other.read_text())
    absent = [{'name': 'db', 'state': 'absent'}]
    for check_mode in (True, False):
        result = run({'keys': absent}, keypairs, check_mode=check_mode, private=[])
        assert result['changed'] is False and result['files'] == []
        assert result['warnings'] == ['Left %s in place: it is not a private key file that the role installed for key '
                                      'pair db (a link, another key, or a key KPS cannot confirm). Remove it yourself if '
                                      'it should go.' % (ssh / 'id_db')]
    assert (ssh / 'id_db').read_text() == other.read_text()
    ours = tmp_path / 'ours'
    ours.write_text(keypairs['db'][0])  # PEM, as KPS returns it
    os.chmod(str(ours), 0o600)
    if fmt == 'pkcs8':
        subprocess.run(['ssh-keygen', '-q', '-p', '-P', '', '-N', '', '-m', 'PKCS8', '-f', str(ours)], check=True)
    (ssh / 'id_db').write_text(ours.read_text())
    result = run({'keys': absent}, keypairs, private=[])
    assert [(item['path'], item['action']) for item in result['files']] == [(str(ssh / 'id_db'), 'remove')]
    assert not (ssh / 'id_db').exists()


NOBODY = pwd.getpwnam('nobody')


@pytest.mark.skipif(os.geteuid() != 0, reason='giving files to another user needs root')
@pytest.mark.parametrize('what', ['ssh_mode', 'ssh_owner', 'auth_mode', 'auth_owner'])
def test_a_wrong_mode_or_owner_of_ssh_dir_or_authorized_keys_is_found_and_fixed(home, keypairs, what):
    """sshd's StrictModes refuses a ~/.ssh or authorized_keys that another user owns or can write (issue 29, 8)."""
    keys = [{'name': 'web', 'private_key': {'install': False}, 'authorized_users': ['alice']}]
    ssh = home / '.ssh'
    run({'keys': keys}, keypairs, private=[])
    path = ssh if what.startswith('ssh') else ssh / 'authorized_keys'
    content = (ssh / 'authorized_keys').read_text()
    if what.endswith('mode'):
        os.chmod(str(path), 0o757 if path == ssh else 0o646)
    else:
        os.chown(str(path), NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(str(path), 0o777 if path == ssh else 0o666)
    expected = [{'path': str(path), 'kind': 'directory', 'action': 'attributes'} if path == ssh else
                {'path': str(path), 'kind': 'authorized_keys', 'action': 'update', 'key_pairs': ['web']}]
    assert run({'keys': keys}, keypairs)['files'] == expected
    checked = run({'keys': keys}, keypairs, check_mode=True, private=[])
    assert checked['changed'] is True and checked['files'] == expected
    steps = []
    real_fchown, real_fchmod = os.fchown, os.fchmod
    with mock.patch.object(_host_keys_runner.os, 'fchown', lambda fd, *a: steps.append(('chown', mode_fd(fd))) or
                           real_fchown(fd, *a)), \
            mock.patch.object(_host_keys_runner.os, 'fchmod', lambda fd, m: steps.append(('chmod', m)) or real_fchmod(fd, m)):
        result = run({'keys': keys}, keypairs, private=[])
    assert result['changed'] is True and result['files'] == expected
    st = os.lstat(str(path))
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700 if path == ssh else 0o600, ME.pw_uid)
    assert (ssh / 'authorized_keys').read_text() == content
    if path == ssh:
        # Narrowed before it is handed over: never the user's while others can still write into it.
        assert steps == [('chmod', 0o700), ('chown', 0o700)]
    assert run({'keys': keys}, keypairs, private=[])['changed'] is False


def mode_fd(fd):
    return stat.S_IMODE(os.fstat(fd).st_mode)


def test_an_administrators_options_on_a_managed_line_are_kept(home, keypairs):
    """restrict,command="..." added by an administrator to the role's line stays, unless the task sets
    authorized_key_options (issue 24, 7)."""
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    admin = 'restrict,command="/usr/bin/rsync --server . /srv/backup"'
    line = '%s %s huaweicloud.kps:web\n' % (admin, keypairs['web'][1])
    (ssh / 'authorized_keys').write_text(line)
    os.chmod(str(ssh / 'authorized_keys'), 0o600)
    keys = [{'name': 'web', 'private_key': {'install': False}, 'authorized_users': ['alice']}]
    for check_mode in (True, False):
        assert run({'keys': keys}, keypairs, check_mode=check_mode, private=[])['changed'] is False
    assert (ssh / 'authorized_keys').read_text() == line
    keys[0]['authorized_key_options'] = 'from="10.0.0.0/8"'
    result = run({'keys': keys}, keypairs, private=[])
    assert result['diff'][0]['before'] == line
    assert result['diff'][0]['after'] == 'from="10.0.0.0/8" %s huaweicloud.kps:web\n' % keypairs['web'][1]
    assert (ssh / 'authorized_keys').read_text() == result['diff'][0]['after']


PASSPHRASE = 'four words of passphrase'
SECRET_KEYS = [{'name': 'web', 'private_key': {'passphrase': PASSPHRASE}},
               {'name': 'ops', 'private_key': {'passphrase': PASSPHRASE, 'mode': '0400'}}]


def keygen(*args):
    return subprocess.run(['ssh-keygen'] + list(args), capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)


def run_secret(args, keypairs, **kwargs):
    """``run``, and the passphrase is nowhere in the result (diffs, messages, warnings)."""
    result = run(args, keypairs, **kwargs)
    assert PASSPHRASE not in json.dumps(result)
    return result


def test_passphrase_files_report_check_real_check_repeat(home, keypairs):
    """Key files encrypted as ssh-keygen -N does, loaded by ssh-keygen -y -P; unchanged on the next runs, which need
    no private key (the files are decrypted to check them)."""
    ssh = home / '.ssh'
    report = run_secret({'keys': SECRET_KEYS}, keypairs)
    assert report['needs_private_keys'] == {'openssh': ['ops', 'web']}
    checked = run_secret({'keys': SECRET_KEYS}, keypairs, check_mode=True, private=[])
    assert [item['action'] for item in checked['files']] == ['create', 'create', 'create']
    assert checked['diff'][1]['after'].endswith('format: openssh\nencryption: encrypted with the passphrase\n'
                                                'mode 0600, owner %s, group %s\n' % (ME.pw_name, group()))
    assert not ssh.exists()
    real = run_secret({'keys': SECRET_KEYS}, keypairs, private=['web', 'ops'])
    assert real['files'] == checked['files']
    assert mode(ssh / 'id_web') == 0o600 and mode(ssh / 'id_ops') == 0o400
    for name in ('web', 'ops'):
        text = (ssh / ('id_' + name)).read_text()
        assert text.startswith('-----BEGIN OPENSSH PRIVATE KEY-----\n') and 'huaweicloud.kps' not in text
        loaded = keygen('-y', '-P', PASSPHRASE, '-f', str(ssh / ('id_' + name)))
        assert loaded.returncode == 0 and ' '.join(loaded.stdout.split()[:2]) == keypairs[name][1], loaded.stderr
        assert keygen('-y', '-P', '', '-f', str(ssh / ('id_' + name))).returncode != 0
    for check_mode in (True, False):
        again = run_secret({'keys': SECRET_KEYS}, keypairs, check_mode=check_mode, private=[])
        assert (again['changed'], again['files'], again['needs_private_keys']) == (False, [], {})
    assert [(item['status'], item['public_key']) for item in run({'keys': SECRET_KEYS}, keypairs)['key_files']] == [
        ('matches', keypairs['web'][1]), ('matches', keypairs['ops'][1])]


def group():
    import grp  # pylint: disable=import-outside-toplevel
    return grp.getgrgid(ME.pw_gid).gr_name


def _encrypted(keypairs, name, passphrase, path):
    path.write_text(keypairs[name][0])
    path.chmod(0o600)
    keygen('-q', '-p', '-P', '', '-N', passphrase, '-f', str(path))


def test_a_wrong_passphrase_an_unencrypted_file_and_an_encrypted_one_without_passphrase_are_rewritten(home, keypairs):
    """The diff says why (never the passphrase); the new file is encrypted as the entry asks, or not at all."""
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    _encrypted(keypairs, 'web', 'an older passphrase', ssh / 'id_web')  # the right key, another passphrase
    (ssh / 'id_ops').write_text(keypairs['ops'][0])  # the right key, unencrypted
    os.chmod(str(ssh / 'id_ops'), 0o400)
    _encrypted(keypairs, 'new', 'an older passphrase', ssh / 'id_new')  # an entry without passphrase
    keys = SECRET_KEYS + [{'name': 'new'}]
    report = run_secret({'keys': keys}, keypairs)
    assert [item['status'] for item in report['key_files']] == ['other_encryption'] * 3
    assert report['needs_private_keys'] == {'openssh': ['new', 'ops', 'web']}
    checked = run_secret({'keys': keys}, keypairs, check_mode=True, private=[])
    result = run_secret({'keys': keys}, keypairs, private=['web', 'ops', 'new'])
    assert [item['action'] for item in result['files']] == [item['action'] for item in checked['files']] == [
        'replace', 'convert', 'replace']
    befores = ['encryption: encrypted with another passphrase', 'encryption: not encrypted', 'encryption: encrypted']
    afters = ['encryption: encrypted with the passphrase'] * 2 + ['encryption: not encrypted']
    for diff, before, after in zip(result['diff'], befores, afters):
        assert before + '\n' in diff['before'] and after + '\n' in diff['after'], diff
    for name, passphrase in (('web', PASSPHRASE), ('ops', PASSPHRASE), ('new', '')):
        loaded = keygen('-y', '-P', passphrase, '-f', str(ssh / ('id_' + name)))
        assert ' '.join(loaded.stdout.split()[:2]) == keypairs[name][1], (name, loaded.stderr)
    assert 'huaweicloud.kps:new' in keygen('-l', '-f', str(ssh / 'id_new')).stdout
    assert run_secret({'keys': keys}, keypairs, private=[])['changed'] is False


def test_a_file_asking_for_too_many_kdf_rounds_is_not_decrypted(home, keypairs, monkeypatch):
    """A user who owns the file could hold the task up with a huge KDF round count: it is not tried, but rewritten."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import with_openssh_comment  # pylint: disable=import-outside-toplevel
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import encrypt_openssh  # pylint: disable=import-outside-toplevel
    from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import openssh_armour  # pylint: disable=import-outside-toplevel

    text = encrypt_openssh(with_openssh_comment(keypairs['web'][0], 'x'), PASSPHRASE)
    raw = bytearray(base64.b64decode(''.join(text.splitlines()[1:-1])))
    rounds = raw.index(b'bcrypt') + len(b'bcrypt') + 4 + 4 + 16  # KDF options: length, salt length, salt, rounds
    raw[rounds:rounds + 4] = struct.pack('>I', 2 ** 32 - 1)
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    (ssh / 'id_web').write_text(openssh_armour(bytes(raw)))
    os.chmod(str(ssh / 'id_web'), 0o600)
    tried = []
    monkeypatch.setattr(_host_keys_runner, 'decrypted_public_key', lambda *args: tried.append(args))
    result = run_secret({'keys': SECRET_KEYS[:1]}, keypairs, check_mode=True, private=[])
    assert tried == [] and [item['action'] for item in result['files']] == ['replace']
    assert 'encryption: encrypted with more than 1024 KDF rounds (not tried)\n' in result['diff'][0]['before']


def test_a_passphrase_file_whose_header_names_the_key_of_kps_but_holds_another_is_replaced(home, keypairs):
    """Only the header of an encrypted file can be read without the passphrase: with it, the key the file really
    holds decides. Here an Ed25519 file whose public fields say web's key, with the secret half of another key."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import encrypt_openssh  # pylint: disable=import-outside-toplevel
    from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import openssh_armour  # pylint: disable=import-outside-toplevel

    def decoded(text):
        return base64.b64decode(''.join(text.strip().splitlines()[1:-1]))

    point = {name: base64.b64decode(keypairs[name][1].split()[1])[-32:] for name in ('web', 'new')}
    forged = openssh_armour(decoded(keypairs['new'][0]).replace(point['new'], point['web']))
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    (ssh / 'id_web').write_text(encrypt_openssh(forged, PASSPHRASE))
    os.chmod(str(ssh / 'id_web'), 0o600)
    report = run_secret({'keys': SECRET_KEYS[:1]}, keypairs)
    assert [(item['status'], item['public_key']) for item in report['key_files']] == [('unknown', None)]
    result = run_secret({'keys': SECRET_KEYS[:1]}, keypairs, private=['web'])
    assert 'encryption: encrypted with the passphrase, but its header does not match the key inside\n' in (
        result['diff'][0]['before'])
    assert [item['action'] for item in result['files']] == ['replace']
    loaded = keygen('-y', '-P', PASSPHRASE, '-f', str(ssh / 'id_web'))
    assert ' '.join(loaded.stdout.split()[:2]) == keypairs['web'][1]
    assert run_secret({'keys': SECRET_KEYS[:1]}, keypairs, private=[])['changed'] is False


def test_a_passphrase_file_whose_header_alone_names_the_key_of_kps_says_so_in_the_diff(home, keypairs):
    """A file holding another key (new's) behind a header naming web's key, encrypted with the entry's passphrase:
    cryptography refuses it, yet the passphrase is right (the check integers say so), so the diff must not blame
    the passphrase."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import encrypt_openssh  # pylint: disable=import-outside-toplevel
    from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import (  # pylint: disable=import-outside-toplevel
        decode_armour,
        openssh_armour,
    )

    blob = {name: base64.b64decode(keypairs[name][1].split()[1]) for name in ('web', 'new')}
    raw = decode_armour(encrypt_openssh(keypairs['new'][0], PASSPHRASE))
    assert raw.count(blob['new']) == 1  # in the header only: inside, it is encrypted
    ssh = home / '.ssh'
    ssh.mkdir(mode=0o700)
    (ssh / 'id_web').write_text(openssh_armour(raw.replace(blob['new'], blob['web'])))
    os.chmod(str(ssh / 'id_web'), 0o600)
    report = run_secret({'keys': SECRET_KEYS[:1]}, keypairs)
    assert [(item['status'], item['public_key']) for item in report['key_files']] == [('unknown', None)]
    checked = run_secret({'keys': SECRET_KEYS[:1]}, keypairs, check_mode=True, private=[])
    assert [item['action'] for item in checked['files']] == ['replace']
    assert checked['diff'][0]['before'] == (
        'private key with public key: (unknown)\nformat: openssh\nencryption: encrypted with the passphrase, but its '
        'header does not match the key inside\nmode 0600, owner %s, group %s\n' % (ME.pw_name, group()))
    # With another passphrase the same file is what it was: encrypted with another passphrase.
    other = [dict(SECRET_KEYS[0], private_key={'passphrase': 'not the one it has'})]
    wrong = run({'keys': other}, keypairs, check_mode=True, private=[])
    assert 'encryption: encrypted with another passphrase\n' in wrong['diff'][0]['before']
    run_secret({'keys': SECRET_KEYS[:1]}, keypairs, private=['web'])
    loaded = keygen('-y', '-P', PASSPHRASE, '-f', str(ssh / 'id_web'))
    assert ' '.join(loaded.stdout.split()[:2]) == keypairs['web'][1]


def test_absent_removes_a_passphrase_file_holding_the_key_of_kps_only(home, keypairs):
    """Its comment is encrypted: the public key of its header tells, as for the PEM formats."""
    ssh = home / '.ssh'
    run_secret({'keys': SECRET_KEYS}, keypairs, private=['web', 'ops'])
    _encrypted(keypairs, 'new', 'the users own passphrase', ssh / 'id_ops')  # another key at the path of ops
    absent = [{'name': 'web', 'state': 'absent'}, {'name': 'ops', 'state': 'absent'}]
    for check_mode in (True, False):
        result = run({'keys': absent}, keypairs, check_mode=check_mode, private=[])
        assert [(item['path'], item['action']) for item in result['files']] == [(str(ssh / 'id_web'), 'remove')]
        assert result['warnings'] == ['Left %s in place: it is not a private key file that the role installed for key '
                                      'pair ops (a link, another key, or a key KPS cannot confirm). Remove it yourself if '
                                      'it should go.' % (ssh / 'id_ops')]
    assert sorted(os.listdir(str(ssh))) == ['id_ops']


def test_passphrase_without_cryptography_or_bcrypt_fails_before_anything_is_read(home, keypairs, monkeypatch):
    from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(_keys, 'missing_for_passphrases', lambda: ['bcrypt'])
    inspected = []
    monkeypatch.setattr(_host_keys_runner.HostKeysRunner, 'inspect_key_file', lambda *args: inspected.append(args))
    for check_mode, private in ((False, None), (True, []), (False, ['web', 'ops'])):
        failed = run_secret({'keys': SECRET_KEYS + [{'name': 'new'}]}, keypairs, check_mode=check_mode,
                            private=private, fail=True)
        assert failed['msg'] == (
            'private_key.passphrase (key pair ops, web) needs the Python libraries cryptography and bcrypt on this '
            'host, for the Python that runs the module (%s), which lacks bcrypt. Install them (Debian, Ubuntu: apt '
            'install python3-cryptography python3-bcrypt; Fedora, RHEL: dnf install python3-cryptography '
            'python3-bcrypt; or pip install cryptography bcrypt), or leave passphrase out. Nothing was read or changed '
            'on this host.' % sys.executable)
    assert inspected == [] and not (home / '.ssh').exists()


def test_entries_that_install_no_key_with_a_passphrase_need_neither_library(home, keypairs, monkeypatch):
    from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(_keys, 'missing_for_passphrases', lambda: ['cryptography (3.1 or later)', 'bcrypt'])
    keys = [{'name': 'web', 'state': 'absent', 'private_key': {'passphrase': PASSPHRASE}},
            {'name': 'ops', 'private_key': {'install': False, 'passphrase': PASSPHRASE}}]
    assert run_secret({'keys': keys}, keypairs)['pending'] is False


@pytest.mark.parametrize('private_key, message', [
    ({'passphrase': ''}, 'private_key.passphrase of key pair web is empty.'),
    ({'passphrase': PASSPHRASE, 'format': 'pkcs8'}, 'private_key.passphrase of key pair web needs private_key.format '
                                                    'openssh'),
])
def test_bad_passphrase_settings_fail_before_anything_is_read(home, keypairs, private_key, message):
    failed = run_secret({'keys': [{'name': 'web', 'private_key': private_key}]}, keypairs, fail=True)
    assert failed['msg'].startswith(message)
    assert not (home / '.ssh').exists()


def test_the_passphrase_option_is_no_log():
    assert kps_host_keys.KEY_SPEC['private_key']['options']['passphrase'] == dict(type='str', no_log=True)
