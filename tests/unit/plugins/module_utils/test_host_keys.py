# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of kps_host_keys on plain data: defaults, refused input, authorized_keys lines, key file actions,
and the OpenSSH comment that marks the key files the role installs."""
from __future__ import annotations

import base64
import struct
import subprocess

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import (
    ENCRYPTED,
    NOT_ENCRYPTED,
    NOT_OPENSSH_RSA,
    OTHER_PASSPHRASE,
    TOO_MANY_ROUNDS,
    WITH_PASSPHRASE,
    HostKeysError,
    authorized_lines,
    check_paths,
    encryption_wanted,
    kept_attributes,
    key_file_action,
    key_format,
    line_options,
    normalise_keys,
    openssh_comment,
    openssh_rsa_public_key,
    with_openssh_comment,
)
from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import openssh_header

RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCrsa'
ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIed'
ED2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIrotated'
USER_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIusers someone@laptop'


def test_defaults_are_filled_in():
    [entry] = normalise_keys([{'name': 'web'}])
    assert entry == dict(name='web', state='present', install=True, owner=None, group=None, path=None, mode=None,
                         format='openssh', passphrase=None, authorized_users=[], options=None)
    [entry] = normalise_keys([{'name': 'web', 'state': 'absent', 'private_key': {'install': False, 'path': '/k/w'},
                               'authorized_users': ['git'], 'authorized_key_options': 'restrict'}])
    assert (entry['state'], entry['install'], entry['path'], entry['authorized_users'], entry['options']) == \
        ('absent', False, '/k/w', ['git'], 'restrict')


@pytest.mark.parametrize('path', ['keys/id_web', '~/id_web', './id_web', 'id_web'])
def test_relative_paths_are_refused_naming_the_key_pair_and_path(path):
    with pytest.raises(HostKeysError) as err:
        normalise_keys([{'name': 'web', 'private_key': {'path': path}}])
    assert err.value.msg == ('private_key.path of key pair web must be an absolute path, not "%s": a relative path '
                             'would depend on the directory the module runs in.' % path)


def test_a_key_pair_both_present_and_absent_is_refused():
    with pytest.raises(HostKeysError, match='Key pairs listed both present and absent: b. '):
        normalise_keys([{'name': 'a'}, {'name': 'b'}, {'name': 'b', 'state': 'absent'}])


def test_one_key_pair_in_two_formats_on_one_host_is_refused():
    normalise_keys([{'name': 'a', 'private_key': {'format': 'pem', 'owner': 'x'}},
                    {'name': 'a', 'private_key': {'format': 'pem', 'owner': 'y'}},
                    {'name': 'a', 'private_key': {'install': False}}])
    with pytest.raises(HostKeysError, match=r'^Key pair a is listed with two formats \(openssh and pem\); '):
        normalise_keys([{'name': 'a', 'private_key': {'owner': 'x'}}, {'name': 'a', 'private_key': {'format': 'pem'}}])


def test_a_passphrase_is_kept_and_needs_the_openssh_format_and_a_value():
    [entry] = normalise_keys([{'name': 'web', 'private_key': {'passphrase': 'p4ss w0rd'}}])
    assert (entry['format'], entry['passphrase']) == ('openssh', 'p4ss w0rd')
    with pytest.raises(HostKeysError) as err:
        normalise_keys([{'name': 'web', 'private_key': {'passphrase': ''}}])
    assert err.value.msg == ('private_key.passphrase of key pair web is empty. Give a non-empty passphrase, or leave it '
                             'out to install the key unencrypted.')
    for fmt in ('pkcs8', 'pem', 'kps'):
        with pytest.raises(HostKeysError) as err:
            normalise_keys([{'name': 'db', 'private_key': {'passphrase': 'p4ss w0rd', 'format': fmt}}])
        assert err.value.msg == (
            'private_key.passphrase of key pair db needs private_key.format openssh: key files are encrypted only in '
            'the OpenSSH private key format, as ssh-keygen -N writes them (format %s cannot be). Use format openssh, '
            'or leave passphrase out.' % fmt)
        assert 'p4ss' not in err.value.msg


def test_two_key_pairs_at_one_path_are_refused():
    check_paths([('/k/a', 'a'), ('/k/a', 'a'), ('/k/b', 'b')])
    with pytest.raises(HostKeysError, match='Key pairs a and b would both be installed at /k/a;'):
        check_paths([('/k/a', 'a'), ('/k/a', 'b')])


@pytest.mark.parametrize('text, expected', [
    ('-----BEGIN OPENSSH PRIVATE KEY-----\nabc', 'openssh'),
    ('-----BEGIN PRIVATE KEY-----\nabc', 'pkcs8'),
    ('-----BEGIN RSA PRIVATE KEY-----\nabc', 'pem'),
    ('-----BEGIN EC PRIVATE KEY-----\nabc', 'pem'),
    ('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nabc', 'encrypted'),
    ('-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc', 'encrypted'),
    ('root:$6$hash:19000:0:99999:7:::\n', None),
    ('', None),
])
def test_key_format_from_the_armour(text, expected):
    assert key_format(text) == expected
    assert key_format(text.encode()) == expected


def _file(**kwargs):
    base = dict(exists=True, type='file', mode=0o600, uid=1000, gid=1000, format='openssh', public_key=ED)
    base.update(kwargs)
    return base


@pytest.mark.parametrize('current, wanted_format, expected', [
    (dict(exists=False, type=None), None, 'create'),
    (_file(), None, None),
    (_file(), 'openssh', None),
    (_file(format='pem'), None, None),
    (_file(format='pem'), 'kps', None),
    (_file(format='pem'), 'openssh', 'convert'),
    (_file(public_key=ED2), None, 'replace'),
    (_file(public_key=None), None, 'replace'),  # no public key could be derived: damaged, or unknown tools
    (_file(type='link'), None, 'replace'),
    (_file(type='other'), None, 'replace'),
    (_file(mode=0o644), None, 'attributes'),
    (_file(uid=0), None, 'attributes'),
    (_file(gid=0), None, 'attributes'),
])
def test_key_file_action(current, wanted_format, expected):
    assert key_file_action(current, ED + ' comment', wanted_format, 0o600, 1000, 1000) == expected


@pytest.mark.parametrize('encryption, passphrase, expected', [
    (NOT_ENCRYPTED, False, None),
    (None, False, None),  # what a file inspected before encryption was known says
    (WITH_PASSPHRASE, True, None),
    (NOT_ENCRYPTED, True, 'convert'),  # the right key (checked), to be encrypted
    (OTHER_PASSPHRASE, True, 'replace'),  # its key cannot be checked: only its header names the key
    (TOO_MANY_ROUNDS, True, 'replace'),
    (ENCRYPTED, False, 'replace'),  # an entry without passphrase: written unencrypted
])
def test_key_file_action_with_and_without_a_passphrase(encryption, passphrase, expected):
    current = _file(encryption=encryption)
    assert key_file_action(current, ED, 'openssh', 0o600, 1000, 1000, passphrase=passphrase) == expected
    # Another key or another format comes first; the attributes come after the encryption.
    assert key_file_action(dict(current, public_key=ED2), ED, 'openssh', 0o600, 1000, 1000, passphrase) == 'replace'
    assert key_file_action(dict(current, format='pem'), ED, 'openssh', 0o600, 1000, 1000, passphrase) == 'convert'
    assert key_file_action(dict(current, mode=0o644), ED, 'openssh', 0o600, 1000, 1000, passphrase) == (
        expected or 'attributes')


@pytest.mark.parametrize('encryption', [NOT_ENCRYPTED, None, WITH_PASSPHRASE, OTHER_PASSPHRASE, TOO_MANY_ROUNDS,
                                        ENCRYPTED])
@pytest.mark.parametrize('passphrase', [False, True])
def test_one_test_of_the_wanted_encryption_for_the_plan_and_the_report(encryption, passphrase):
    """encryption_wanted decides both what the file needs (key_file_action) and its status in the report."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys_runner import (  # pylint: disable=import-outside-toplevel
        HostKeysRunner,
    )
    wanted = encryption in ((WITH_PASSPHRASE,) if passphrase else (NOT_ENCRYPTED, None))
    current = _file(encryption=encryption)
    assert encryption_wanted(current, passphrase) is wanted
    action = key_file_action(current, ED, 'openssh', 0o600, 1000, 1000, passphrase=passphrase)
    item = dict(name='web', path='/home/u/.ssh/id_web', state='present', format='openssh',
                passphrase='words' if passphrase else None)
    status = HostKeysRunner._report_entry(item, current, ED)['status']  # pylint: disable=protected-access
    assert (action, status) == ((None, 'matches') if wanted else (action, 'other_encryption'))
    assert action in ((None,) if wanted else ('convert', 'replace'))


def test_key_file_action_without_a_public_key_from_kps():
    assert key_file_action(dict(exists=False, type=None), None, None, 0o600, 0, 0) == 'create'
    assert key_file_action(_file(), None, None, 0o600, 1000, 1000) == 'replace'


def test_authorized_lines_added_after_the_users_own_lines():
    new, removed, added = authorized_lines([USER_LINE, '# a comment', ''], {'web': (None, ED)}, set())
    assert new == [USER_LINE, '# a comment', '', ED + ' huaweicloud.kps:web']
    assert (removed, added) == ([], [ED + ' huaweicloud.kps:web'])


def test_authorized_lines_unchanged_when_the_line_is_there():
    lines = [USER_LINE, 'restrict ' + ED + ' huaweicloud.kps:web']
    assert authorized_lines(lines, {'web': ('restrict', ED)}, set()) == (lines, [], [])


def test_a_rotated_key_replaces_its_old_line_in_place():
    lines = ['restrict ' + ED + ' huaweicloud.kps:web', USER_LINE]
    new, removed, added = authorized_lines(lines, {'web': ('restrict', ED2)}, set())
    assert new == ['restrict ' + ED2 + ' huaweicloud.kps:web', USER_LINE]
    assert (removed, added) == ([lines[0]], [new[0]])


def test_a_line_holding_the_same_key_gets_the_options_and_duplicates_go():
    lines = [ED + ' old-comment', USER_LINE, 'from="10.0.0.1" ' + ED + ' huaweicloud.kps:web']
    new, removed, _added = authorized_lines(lines, {'web': ('restrict', ED)}, set())
    assert new == ['restrict ' + ED + ' huaweicloud.kps:web', USER_LINE]
    assert removed == [lines[0], lines[2]]


ADMIN = 'restrict,command="/usr/bin/rsync --server -e.LsfxC . /srv/backup",from="10.0.0.1"'


@pytest.mark.parametrize('key', [ED, ED2])  # the same key, or a key rotated in KPS (found by the role's comment)
def test_a_managed_line_keeps_the_options_an_administrator_added_unless_the_task_sets_some(key):
    lines = [USER_LINE, ADMIN + ' ' + ED + ' huaweicloud.kps:web']
    kept = ADMIN + ' ' + key + ' huaweicloud.kps:web'
    assert authorized_lines(lines, {'web': (None, key)}, set())[0] == [USER_LINE, kept]
    assert authorized_lines(lines, {'web': ('restrict', key)}, set())[0] == [USER_LINE, 'restrict ' + key + ' huaweicloud.kps:web']
    assert authorized_lines(lines, {'web': ('', key)}, set())[0] == [USER_LINE, key + ' huaweicloud.kps:web']
    assert authorized_lines([USER_LINE], {'web': (None, key)}, set())[0] == [USER_LINE, key + ' huaweicloud.kps:web']


@pytest.mark.parametrize('line, options', [
    (ED + ' c', None),
    ('  ' + ED, None),
    ('restrict ' + ED, 'restrict'),
    ('command="echo a b",no-pty\t' + ED, 'command="echo a b",no-pty'),
    ('command="echo \\"a b\\" c",restrict ' + ED, 'command="echo \\"a b\\" c",restrict'),
    ('sk-ssh-ed25519@openssh.com AAAA x', None),
    ('', None),
])
def test_line_options_as_sshd_reads_them(line, options):
    assert line_options(line) == options


def test_kept_attributes_root_stays_root_anything_else_becomes_the_users():
    # Root's ~/.ssh (or authorized_keys), made so by an administrator: root's, minus group and other write.
    assert kept_attributes((0o755, 0, 0), 1000, 1000, 0o700) == (0o755, 0, 0)
    assert kept_attributes((0o777, 0, 50), 1000, 1000, 0o700) == (0o755, 0, 50)
    assert kept_attributes((0o644, 0, 0), 1000, 1000, 0o600) == (0o644, 0, 0)
    # The user's own, another user's, or none yet: the user's, with the role's mode.
    assert kept_attributes((0o755, 1000, 1000), 1000, 1000, 0o700) == (0o700, 1000, 1000)
    assert kept_attributes((0o700, 1001, 1001), 1000, 1000, 0o700) == (0o700, 1000, 1000)
    assert kept_attributes(None, 1000, 1000, 0o600) == (0o600, 1000, 1000)
    assert kept_attributes((0o644, 0, 0), 0, 0, 0o600) == (0o600, 0, 0)  # root's own: 0600


def test_absent_removes_only_lines_with_the_roles_comment():
    lines = [USER_LINE, ED + ' huaweicloud.kps:web', ED + ' kept-because-not-ours', RSA + ' huaweicloud.kps:other']
    new, removed, added = authorized_lines(lines, {}, {'web'})
    assert new == [USER_LINE, ED + ' kept-because-not-ours', RSA + ' huaweicloud.kps:other']
    assert (removed, added) == ([lines[1]], [])
    # A comment that merely starts with the marker is another key pair's.
    assert authorized_lines([ED + ' huaweicloud.kps:web2'], {}, {'web'})[0] == [ED + ' huaweicloud.kps:web2']


def test_commented_out_lines_are_never_touched():
    lines = ['# ' + ED + ' huaweicloud.kps:web']
    assert authorized_lines(lines, {}, {'web'}) == (lines, [], [])


@pytest.fixture(scope='module', params=['ed25519', 'rsa', 'ecdsa'])
def openssh_key(request, tmp_path_factory):
    path = tmp_path_factory.mktemp('keys') / 'id'
    subprocess.run(['ssh-keygen', '-q', '-t', request.param, '-N', '', '-C', 'me@laptop', '-f', str(path)], check=True)
    return path


def test_openssh_comment_is_read_and_replaced_and_ssh_keygen_still_loads_the_key(openssh_key, tmp_path):
    text = openssh_key.read_text()
    assert openssh_comment(text) == 'me@laptop'
    marked = with_openssh_comment(text, 'huaweicloud.kps:web')
    assert openssh_comment(marked) == 'huaweicloud.kps:web'
    assert with_openssh_comment(marked, 'huaweicloud.kps:web') == marked
    path = tmp_path / 'marked'
    path.write_text(marked)
    path.chmod(0o600)
    public = subprocess.run(['ssh-keygen', '-y', '-f', str(path)], check=True, capture_output=True, text=True).stdout
    assert public.split()[:2] == openssh_key.with_suffix('.pub').read_text().split()[:2]
    listed = subprocess.run(['ssh-keygen', '-l', '-f', str(path)], check=True, capture_output=True, text=True).stdout
    assert 'huaweicloud.kps:web' in listed  # ssh-keygen reads the comment from the private key itself


def test_pem_and_encrypted_keys_have_no_comment_and_are_left_as_they_are():
    pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n'
    assert openssh_comment(pem) is None
    assert with_openssh_comment(pem, 'x') == pem
    broken = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n'
    assert openssh_comment(broken) is None
    assert with_openssh_comment(broken, 'x') == broken


def test_openssh_header_shows_the_public_key_and_encryption_with_or_without_a_passphrase(openssh_key, tmp_path):
    public = ' '.join(openssh_key.with_suffix('.pub').read_text().split()[:2])
    assert openssh_header(openssh_key.read_text()) == dict(public_key=public, encrypted=False, cipher='none', kdf='none',
                                                           rounds=None)
    encrypted = tmp_path / 'encrypted'
    encrypted.write_bytes(openssh_key.read_bytes())
    encrypted.chmod(0o600)
    subprocess.run(['ssh-keygen', '-q', '-p', '-P', '', '-N', 'secret words', '-a', '20', '-f', str(encrypted)],
                   check=True)
    assert openssh_header(encrypted.read_bytes()) == dict(public_key=public, encrypted=True, cipher='aes256-ctr',
                                                          kdf='bcrypt', rounds=20)
    assert openssh_comment(encrypted.read_text()) is None  # inside the encrypted part


def test_openssh_header_of_anything_else_is_none():
    assert openssh_header('-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n') is None
    assert openssh_header('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n'
                          '-----END OPENSSH PRIVATE KEY-----\n') is None
    assert openssh_header('-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n') is None
    assert openssh_header(b'\xff\xfe') is None


def _damaged(text, field):
    """``text`` (an OpenSSH-format RSA key) with one bit flipped in private number ``field`` (0 = n ... 5 = q)."""
    start = text.index('-----\n') + 6
    raw = bytearray(base64.b64decode(''.join(text[start:text.index('-----END')].split())))
    offset = raw.index(b'ssh-rsa', raw.index(b'ssh-rsa') + 7) + 7  # the type name in the private section
    for _index in range(field):
        offset += 4 + struct.unpack('>I', bytes(raw[offset:offset + 4]))[0]
    length = struct.unpack('>I', bytes(raw[offset:offset + 4]))[0]
    raw[offset + 4 + length // 2] ^= 0x10
    body = base64.b64encode(bytes(raw)).decode()
    return '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' % body


@pytest.mark.parametrize('bits', [2048, 4096])
def test_openssh_rsa_public_key_is_derived_and_checked_without_cryptography(tmp_path, bits):
    path = tmp_path / 'id'
    subprocess.run(['ssh-keygen', '-q', '-t', 'rsa', '-b', str(bits), '-N', '', '-f', str(path)], check=True)
    text = path.read_text()
    expected = ' '.join(path.with_suffix('.pub').read_text().split()[:2])
    assert openssh_rsa_public_key(text) == expected
    assert openssh_rsa_public_key(text.encode()) == expected
    for field in range(6):  # n, e, d, iqmp, p, q: any damaged number is found
        assert openssh_rsa_public_key(_damaged(text, field)) is None, field


def test_openssh_rsa_public_key_leaves_other_keys_to_cryptography(openssh_key):
    text = openssh_key.read_text()
    result = openssh_rsa_public_key(text)
    if 'ssh-rsa' in openssh_key.with_suffix('.pub').read_text():
        assert result == ' '.join(openssh_key.with_suffix('.pub').read_text().split()[:2])
    else:
        assert result is NOT_OPENSSH_RSA
    assert openssh_rsa_public_key('-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n') is NOT_OPENSSH_RSA
    assert openssh_rsa_public_key('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n') is None


def _run_command(args, data=None, binary_data=False, check_rc=False):
    # What AnsibleModule.run_command does with these arguments: data on stdin, text output.
    proc = subprocess.run(args, input=data if isinstance(data, bytes) else data.encode(), capture_output=True,
                          check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_ssh_keygen_derives_the_public_key_from_stdin_and_fails_closed(tmp_path):
    from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys_runner import _ssh_keygen_public_key

    key = tmp_path / 'k'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ecdsa', '-N', '', '-f', str(key)], check=True)
    expected = ' '.join(key.with_suffix('.pub').read_text().split()[:2])
    assert _ssh_keygen_public_key(key.read_bytes(), _run_command) == expected
    assert _ssh_keygen_public_key(b'not a key', _run_command) is None
    assert _ssh_keygen_public_key(key.read_bytes(), None) is None
