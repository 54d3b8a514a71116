# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side (kps_host_keys, the role's step 4) against a real unprivileged user whose ~/.ssh it manages.

The module runs as root through real ansible-playbook processes, as the role runs it. The user (tests/integration/
attacker.py) owns his home, so he can rename any file in it, a root-owned one included (a ``~/.viminfo`` that
``sudo`` with a preserved HOME left there), and, where ``fs.protected_hardlinks`` is 0, hard-link any file of the
file system into it. Whatever he puts at ``~/.ssh/authorized_keys``, the role must never hand him a copy of a file
he could not read: each test asserts what he can read afterwards and that the root file is unchanged.
"""
from __future__ import annotations

import json
import os
import stat

import pytest

from integration.attacker import file_state, needs_root
from integration.harness import CONNECTION
from kps_emulator import keys

pytestmark = needs_root

SECRET = 'root-only: the content of a file only root may read\n'
ROLE = 'huaweicloud.kps.kps_key_distribution'


@pytest.fixture
def fleet(ansible):
    """(private key, public key line) of key pair "fleet", hosted in the emulator."""
    private_key, public_key = keys.generate('ed25519')
    ansible.add_secret(private_key)
    client = ansible.emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': 'fleet', 'public_key': public_key, 'key_protection': {
        'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
    return private_key, public_key


def host_keys(ansible, keys_list, public_keys, check_mode=False, diff=False, private_keys=()):
    """One kps_host_keys task as root on localhost (failures kept); returns (registered result, stdout).

    ``private_keys``: None for report mode, else the keys to install (through an extra var, in a no_log task)."""
    args = dict(keys=keys_list, public_keys=public_keys)
    if private_keys is not None:
        args['private_keys'] = '{{ host_private_keys }}' if private_keys else {}
    result_file = os.path.join(ansible.workdir, 'result.json')
    proc = ansible.playbook([{
        'name': 'host side', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'kps_host_keys', 'huaweicloud.kps.kps_host_keys': args, 'register': 'out', 'ignore_errors': True,
             'no_log': bool(private_keys)},
            {'name': 'keep the result', 'ansible.builtin.copy': {
                'content': '{{ out | to_json }}', 'dest': result_file, 'mode': '0600'}, 'check_mode': False},
        ]}], *(['--check'] if check_mode else []), *(['--diff'] if diff else []),
        extra_vars={'host_private_keys': private_keys} if private_keys else None)
    with open(result_file) as handle:
        return json.load(handle), proc.stdout


def role(ansible, keys_list, *args):
    play = [{'name': 'distribute', 'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION},
             'tasks': [{'name': 'The role', 'ansible.builtin.include_role': {'name': ROLE},
                        'vars': {'kps_key_distribution_keys': keys_list}}]}]
    return ansible.playbook(play, *args, check=False, env={'ANSIBLE_PIPELINING': '1'})


def root_file(path, mode=0o600, content=SECRET):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), 'w') as handle:
        handle.write(content)
    os.chmod(path, mode)
    return path


def refused(path, why, user):
    return ('%s %s, so it is not read. The role keeps the lines of an authorized_keys file in the file it writes, '
            'which %s can read: if this is his file, give it to him (chown %s), otherwise remove it. Nothing was read '
            'or changed on this host.' % (path, why, user, user))


def test_a_root_only_file_renamed_to_authorized_keys_is_not_read_into_a_file_he_can_read(
        ansible, attacker, fleet):
    """Finding 1 of issue 24: the role run used to give the user a copy of root's file as his authorized_keys."""
    viminfo = root_file(os.path.join(attacker.home, '.viminfo'))  # left by sudo with a preserved HOME
    assert not attacker.can_read(viminfo)
    attacker.run(['mkdir', '-m', '700', os.path.join(attacker.home, '.ssh')])
    planted = os.path.join(attacker.home, '.ssh', 'authorized_keys')
    attacker.run(['mv', viminfo, planted])
    before = file_state(planted)
    ansible.emulator.clear_requests()
    keys_list = [{'name': 'fleet', 'private_key': {'owner': attacker.name}, 'authorized_users': [attacker.name]}]
    for args in (('--check',), ()):
        result = role(ansible, keys_list, *args)
        assert result.returncode != 0
        # ansible-core 2.17 prints the message inside the JSON result, with its quotes escaped.
        message = refused(planted, 'belongs to root (mode 0600) and %s cannot read it' % attacker.name, attacker.name)
        assert message in result.stdout.replace('\\"', '"'), result.stdout[-3000:]
        assert SECRET.strip() not in result.stdout
    assert file_state(planted) == before and not attacker.can_read(planted)
    assert os.listdir(os.path.dirname(planted)) == ['authorized_keys']  # no key file either: nothing written
    assert [entry for entry in ansible.emulator.requests() if 'export' in (entry['call'] or '')] == []


def test_a_hard_link_to_a_root_file_is_never_read_into_his_authorized_keys(
        ansible, attacker, base, fleet, unprotected_hardlinks):
    """With fs.protected_hardlinks=0 he can link any file of the file system into ~/.ssh: one he cannot read
    (think /etc/shadow) and one he can (0644) are both refused, since the rewritten file would be his."""
    etc = os.path.join(base, 'etc')
    os.mkdir(etc, 0o755)
    shadow, motd = root_file(os.path.join(etc, 'shadow'), 0o640), root_file(os.path.join(etc, 'motd'), 0o644)
    ssh = os.path.join(attacker.home, '.ssh')
    attacker.run(['mkdir', '-m', '700', ssh])
    planted = os.path.join(ssh, 'authorized_keys')
    _private, public = fleet
    for victim, why in ((shadow, 'belongs to root (mode 0640) and %s cannot read it' % attacker.name),
                        (motd, 'has other hard links and does not belong to %s' % attacker.name)):
        attacker.run(['ln', '-f', victim, planted])
        before = file_state(victim)
        for check_mode in (True, False):
            result, _out = host_keys(ansible, [{'name': 'fleet', 'private_key': {'install': False},
                                                'authorized_users': [attacker.name]}], {'fleet': public}, check_mode)
            assert result['failed'] is True and result['msg'] == refused(planted, why, attacker.name)
            assert result['changed'] is False and result['files'] == []
        assert file_state(victim) == before and os.stat(victim).st_nlink == 2
        assert os.lstat(planted).st_ino == before[-1]  # still his link, nothing written in its place
    assert not attacker.can_read(shadow)


def test_files_he_could_read_himself_are_kept_in_his_authorized_keys(ansible, attacker, fleet):
    """Not every foreign file is refused: a root-owned one he can read (an administrator's 0644 file with one
    link) is read and gets the role's line; it stays root's (issue 24, 7)."""
    _private, public = fleet
    ssh = os.path.join(attacker.home, '.ssh')
    attacker.run(['mkdir', '-m', '700', ssh])
    path = os.path.join(ssh, 'authorized_keys')
    own_line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwn0wn0wn0wn0wn0wn0wn0wn0wn0wn0wn0wn0wn0wn0 his own\n'
    root_file(path, 0o644, own_line)
    keys_list = [{'name': 'fleet', 'private_key': {'install': False}, 'authorized_users': [attacker.name]}]
    result, _out = host_keys(ansible, keys_list, {'fleet': public})
    assert not result.get('failed'), result.get('msg')
    with open(path) as handle:
        assert handle.read() == own_line + '%s huaweicloud.kps:fleet\n' % ' '.join(public.split()[:2])
    st = os.lstat(path)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o644, 0, 0)


def test_what_an_administrator_set_up_stays_and_a_real_diff_run_shows_the_changes(ansible, attacker, fleet):
    """Issue 24, 7: a root-owned ~/.ssh and authorized_keys (the user may not change them) stay root's, the
    options an administrator put on the key's line stay, and --diff of the real run shows the authorized_keys
    change and the key file's metadata, as --check --diff does (never the private key: the guard checks)."""
    private, public = fleet
    blob = ' '.join(public.split()[:2])
    ssh = os.path.join(attacker.home, '.ssh')
    os.mkdir(ssh, 0o755)  # root's, as an administrator made it
    path = os.path.join(ssh, 'authorized_keys')
    admin_line = 'restrict,command="/usr/bin/rsync --server . /srv/backup" %s backup@admin\n' % blob
    root_file(path, 0o644, admin_line)
    keys_list = [{'name': 'fleet', 'private_key': {'owner': attacker.name}, 'authorized_users': [attacker.name]}]
    new_line = 'restrict,command="/usr/bin/rsync --server . /srv/backup" %s huaweicloud.kps:fleet' % blob
    outputs = [role(ansible, keys_list, *args) for args in (('--check', '--diff'), ('--diff',), ('--check', '--diff'),
                                                            ('--diff',))]
    for result in outputs:
        assert result.returncode == 0, result.stdout[-3000:]
    recaps = [result.stdout.split('PLAY RECAP')[1] for result in outputs]
    assert ['changed=1 ' in recap for recap in recaps] == [True, True, False, False], recaps
    for result in outputs[:2]:  # the check run predicts, the real run shows, the same changes
        text = result.stdout
        assert '--- before: %s (mode 0644, owner root, group root)' % path in text
        assert '+++ after: %s (mode 0644, owner root, group root)' % path in text
        assert '-' + admin_line.strip() in text and '+' + new_line in text
        assert '+++ after: %s/id_fleet' % ssh in text and '+mode 0600, owner %s, group %s' % (
            attacker.name, attacker.group) in text
        assert private.splitlines()[1] not in text
    with open(path) as handle:
        assert handle.read() == new_line + '\n'
    for name, mode, uid in ((ssh, 0o755, 0), (path, 0o644, 0), (os.path.join(ssh, 'id_fleet'), 0o600, attacker.uid)):
        st = os.lstat(name)
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (mode, uid), name


def test_a_root_only_key_renamed_to_his_key_file_is_not_read_and_is_replaced(ansible, attacker, fleet):
    """The same rule for key files: a root-only private key he renames to ~/.ssh/id_fleet is not read (not even to
    derive its public key for the report) and is replaced by his key of key pair fleet."""
    private, public = fleet
    root_key, root_public = keys.generate('ed25519')
    ansible.add_secret(root_key)
    stolen = root_file(os.path.join(attacker.home, 'root.key'), 0o600, root_key)
    ssh = os.path.join(attacker.home, '.ssh')
    attacker.run(['mkdir', '-m', '700', ssh])
    path = os.path.join(ssh, 'id_fleet')
    attacker.run(['mv', stolen, path])
    keys_list = [{'name': 'fleet', 'private_key': {'owner': attacker.name, 'format': 'kps'}}]
    report, out = host_keys(ansible, keys_list, {'fleet': public}, private_keys=None, diff=True)
    assert not report.get('failed'), report.get('msg')
    assert [(item['status'], item['public_key']) for item in report['key_files']] == [('unknown', None)]
    assert ' '.join(root_public.split()[:2]) not in json.dumps(report) + out
    # The diff says the file was not read, not what it holds ("not a private key" would be a guess).
    assert [item['before'] for item in report['diff']] == [
        '(not read: the user it is for could not read it himself)\nmode 0600, owner root, group root\n']
    result, _out = host_keys(ansible, keys_list, {'fleet': public}, private_keys={'fleet': private})
    assert not result.get('failed') and [item['action'] for item in result['files']] == ['replace'], result
    st = os.lstat(path)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (attacker.uid, 0o600)
    with open(path) as handle:
        assert handle.read() == private.strip() + '\n'


def test_text_after_a_carriage_return_stays_inside_its_line(ansible, attacker, fleet):
    """Issue 24, 8: sshd splits authorized_keys at "\\n" only. His account's file is an administrator's (root's), with
    his key restricted to one command; he gave that key with a comment that hides a second, unrestricted key after a
    CR. Inert for sshd; the role, rewriting the file to add its line, must not turn it into a line of its own."""
    _private, public = fleet
    _unused, hidden = keys.generate('ed25519')
    _unused, his = keys.generate('ed25519')
    hidden_blob = ' '.join(hidden.split()[:2])
    ssh = os.path.join(attacker.home, '.ssh')
    os.mkdir(ssh, 0o755)  # root's, as an administrator made it
    path = os.path.join(ssh, 'authorized_keys')
    admin_line = 'restrict,command="/usr/bin/true" %s him@laptop\r%s free\n' % (' '.join(his.split()[:2]), hidden_blob)
    root_file(path, 0o644, admin_line)
    keys_list = [{'name': 'fleet', 'private_key': {'install': False}, 'authorized_users': [attacker.name]}]
    for check_mode in (True, False, True, False):
        result, _out = host_keys(ansible, keys_list, {'fleet': public}, check_mode=check_mode)
        assert not result.get('failed'), result.get('msg')
    with open(path, 'rb') as handle:
        lines = handle.read().split(b'\n')
    assert lines == [admin_line.strip('\n').encode(), ('%s huaweicloud.kps:fleet' % ' '.join(public.split()[:2])).encode(),
                     b'']
    assert not any(line.lstrip().startswith(hidden_blob.encode()) for line in lines)


def test_a_key_pair_name_with_a_path_in_it_writes_nothing(ansible, attacker, fleet):
    """Issue 24, 9: kps_host_keys is public; a name is a file name (~/.ssh/id_NAME), so one that walks out of ~/.ssh
    is refused with the KPS modules' rule before any file is looked at, whoever owns the directories on the way."""
    private, public = fleet
    name = 'fleet/../../../../%s/evil' % attacker.home.strip('/')
    keys_list = [{'name': name, 'private_key': {'owner': attacker.name}, 'authorized_users': [attacker.name]}]
    for check_mode in (True, False):
        result, out = host_keys(ansible, keys_list, {name: public}, check_mode=check_mode,
                                private_keys=None if check_mode else {name: private})
        assert result.get('failed') and result['msg'] == (
            'Invalid key pair name: %r. A key pair name has 1 to 255 letters, digits, "_" or "-".' % name), result
        assert private.splitlines()[1] not in out
    assert sorted(os.listdir(attacker.home)) == sorted(os.listdir('/etc/skel'))
