# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role kps_key_distribution against a hostile user of the managed host, and its #14 fixes.

As root (the role's usual ``become``), on localhost, for a real unprivileged user created by the test whose home is
the one the role writes into (default ``~/.ssh`` paths). The user owns their home, so they can plant links in it:
``~/.ssh`` to a root-owned directory, ``~/.ssh/id_NAME`` and ``~/.ssh/authorized_keys`` to a root-owned file like
``/etc/shadow``. Each victim must stay unchanged (content, owner, mode).

Also: ``state: absent`` with the default and a custom path (only what the role installed goes), a relative path
refused before any export, and first use in check mode (the import only would create the key pair).
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import uuid

import pytest

from integration.harness import CONNECTION
from kps_emulator import keys

ROLE = 'huaweicloud.kps.kps_key_distribution'
VICTIM_TEXT = 'root:$6$rootpasswordhash$abcdefghijklmnopqrstuvwxyz0123456789:19000:0:99999:7:::\n'


def _run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture
def attacker(tmp_path):
    """A real unprivileged user with a home of their own, removed again with it after the test."""
    if os.geteuid() != 0 or shutil.which('useradd') is None or shutil.which('setpriv') is None:
        pytest.skip('attack tests need root, useradd and setpriv')
    name = 'kpsatk' + uuid.uuid4().hex[:8]
    home = '/home/' + name
    _run(['useradd', '--create-home', '--home-dir', home, '--shell', '/bin/sh', '--user-group', name])
    try:
        entry = pwd.getpwnam(name)

        def act(script):
            """Run a shell script as the attacker, in their home."""
            return _run(['setpriv', '--reuid=%d' % entry.pw_uid, '--regid=%d' % entry.pw_gid, '--clear-groups',
                         '--', 'sh', '-c', 'cd && ' + script], env={'HOME': home, 'PATH': '/usr/bin:/bin'})

        yield type('Attacker', (), {'name': name, 'home': home, 'uid': entry.pw_uid, 'gid': entry.pw_gid,
                                    'act': staticmethod(act)})
    finally:
        subprocess.run(['userdel', '--remove', name], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def victims(tmp_path):
    """A root-only directory and a root-only file like /etc/shadow, as (path, snapshot function)."""
    base = tmp_path / 'victims'
    base.mkdir(mode=0o755)
    directory = base / 'root-only'
    directory.mkdir(mode=0o700)
    (directory / 'secret').write_text(VICTIM_TEXT)
    shadow = base / 'shadow'
    shadow.write_text(VICTIM_TEXT)
    shadow.chmod(0o640)
    return directory, shadow


def _snapshot(path):
    """What an attacker would change: content (or listing), owner, group and mode."""
    st = os.lstat(str(path))
    content = sorted(os.listdir(str(path))) if stat.S_ISDIR(st.st_mode) else open(str(path)).read()
    return content, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.fixture
def fleet_key(emulator, ansible):
    """Key pair "fleet" in the emulator, its private key hosted; returns its public key line."""
    client = emulator.client()
    private_key, public_key = keys.generate('ed25519')
    ansible.add_secret(private_key)
    client.json('POST', client.kps(), {'keypair': {'name': 'fleet', 'public_key': public_key, 'key_protection': {
        'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
    return public_key


def _role_play(keys_list, tasks_before=()):
    return [{'name': 'distribute', 'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION},
             'tasks': list(tasks_before) + [{'name': 'The role', 'ansible.builtin.include_role': {'name': ROLE},
                                             'vars': {'kps_key_distribution_keys': keys_list}}]}]


def _keys_for(user):
    return [{'name': 'fleet', 'private_key': {'owner': user.name}, 'authorized_users': [user.name]}]


def _playbook(ansible, play, *args, check=True):
    return ansible.playbook(play, *args, check=check, env={'ANSIBLE_PIPELINING': '1'})


def _exports(emulator):
    return [entry['call'] for entry in emulator.requests() if 'export' in (entry['call'] or '')]


def test_ssh_dir_linked_to_a_root_directory(emulator, ansible, fleet_key, attacker, victims):
    directory, _shadow = victims
    before = _snapshot(directory)
    attacker.act('ln -s %s .ssh' % directory)
    for args in (('--check',), ()):
        result = _playbook(ansible, _role_play(_keys_for(attacker)), *args, check=False)
        assert result.returncode != 0
        assert '%s/.ssh is a symbolic link that another user could have made' % attacker.home in result.stdout
    assert _snapshot(directory) == before
    assert _exports(emulator) == []  # refused before any private key left KPS


@pytest.mark.parametrize('planted', ['id_fleet', 'authorized_keys'])
def test_key_file_or_authorized_keys_linked_to_a_root_file(emulator, ansible, fleet_key, attacker, victims, planted):
    _directory, shadow = victims
    before = _snapshot(shadow)
    attacker.act('mkdir -m 700 .ssh && ln -s %s .ssh/%s' % (shadow, planted))
    result = _playbook(ansible, _role_play(_keys_for(attacker)), check=False)
    assert _snapshot(shadow) == before
    assert 'root:$6$' not in result.stdout  # the victim's content was never read into a diff or message
    ssh = os.path.join(attacker.home, '.ssh')
    if planted == 'id_fleet':
        # The link is replaced by a regular file of the attacker's own, holding the key they were meant to get.
        assert result.returncode == 0, result.stdout[-3000:]
        st = os.lstat(os.path.join(ssh, 'id_fleet'))
        assert stat.S_ISREG(st.st_mode) and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (attacker.uid, attacker.gid, 0o600)
        derived = _run(['ssh-keygen', '-y', '-f', os.path.join(ssh, 'id_fleet')]).stdout
        assert derived.split()[:2] == fleet_key.split()[:2]
    else:
        # Replacing it would drop the lines of the file it points to: the host fails naming it, writes nothing.
        assert result.returncode != 0
        assert '%s/authorized_keys is a symbolic link or not a regular file.' % ssh in result.stdout
        assert sorted(os.listdir(ssh)) == ['authorized_keys']
        assert _exports(emulator) == []


def test_absent_with_default_and_custom_paths_removes_only_what_the_role_installed(
        emulator, ansible, fleet_key, attacker, tmp_path):
    custom_dir = tmp_path / 'keys'
    custom_dir.mkdir()
    custom = str(custom_dir / 'fleet.key')
    present = _keys_for(attacker) + [{'name': 'fleet', 'private_key': {'path': custom}}]
    result = _playbook(ansible, _role_play(present))
    ssh = os.path.join(attacker.home, '.ssh')
    assert sorted(os.listdir(ssh)) == ['authorized_keys', 'id_fleet'] and os.listdir(str(custom_dir)) == ['fleet.key']
    # The user keeps a key of their own under the name of an authorize-only key pair: not the role's, it stays.
    attacker.act('ssh-keygen -q -t ed25519 -N "" -C mine -f .ssh/id_deploy')
    absent = [{'name': 'fleet', 'state': 'absent', 'private_key': {'owner': attacker.name},
               'authorized_users': [attacker.name]},
              {'name': 'fleet', 'state': 'absent', 'private_key': {'path': custom}},
              {'name': 'deploy', 'state': 'absent', 'private_key': {'owner': attacker.name},
               'authorized_users': [attacker.name]}]
    for args, changes in ((('--check',), True), ((), True), (('--check',), False), ((), False)):
        result = _playbook(ansible, _role_play(absent), *args)
        assert ('changed=0 ' not in result.stdout.split('PLAY RECAP')[1]) == changes, (args, result.stdout[-2000:])
    assert sorted(os.listdir(ssh)) == ['authorized_keys', 'id_deploy', 'id_deploy.pub']
    assert open(os.path.join(ssh, 'authorized_keys')).read() == ''
    assert os.listdir(str(custom_dir)) == []
    assert 'Left %s/id_deploy in place' % ssh in result.stderr  # a warning


def test_relative_path_is_refused_before_any_export(emulator, ansible, fleet_key):
    result = _playbook(ansible, _role_play([{'name': 'fleet', 'private_key': {'path': 'keys/fleet'}}]), check=False)
    assert result.returncode != 0
    # ansible-core 2.17 prints the message only inside the JSON result, with its quotes escaped.
    assert re.search(r'private_key.path of key pair fleet must be an absolute path, not \\?"keys/fleet\\?"',
                     result.stdout)
    assert _exports(emulator) == []


def test_first_use_in_check_mode_reports_what_would_be_installed(emulator, ansible, attacker):
    """The README's playbook: import a key pair, then the role. In check mode the import only would create it."""
    private_key, _public_key = keys.generate('ed25519')
    ansible.add_secret(private_key)
    key_file = os.path.join(ansible.workdir, 'deploy.pem')
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
        handle.write(private_key)
    import_task = {'name': 'Import',
                   'huaweicloud.kps.kps_private_key_import': {'name': 'fleet', 'private_key_path': key_file}}
    play = _role_play(_keys_for(attacker), tasks_before=[import_task])
    result = _playbook(ansible, play, '--check', '--diff')
    assert 'Key pair fleet does not exist in KPS yet' in result.stderr  # a warning
    assert '+++ after: %s/.ssh/id_fleet' % attacker.home in result.stdout
    assert 'huaweicloud.kps:fleet' in result.stdout  # the authorized_keys line it would add
    assert not os.path.exists(os.path.join(attacker.home, '.ssh'))
    assert emulator.keypair('fleet') is None
    _playbook(ansible, play)
    assert os.path.exists(os.path.join(attacker.home, '.ssh', 'id_fleet'))


def test_a_failed_read_of_kps_fails_the_host_with_the_reason(emulator, ansible, fleet_key):
    result = ansible.playbook(_role_play([{'name': 'fleet', 'private_key': {'path': '/nonexistent/fleet'}}]),
                              check=False, extra_vars={'kps_secret_key': 'WrongSecretKeyForThisTest0000000000000000'},
                              env={'ANSIBLE_PIPELINING': '1'})
    assert result.returncode != 0
    assert 'Reading the key pairs from KPS failed: ' in result.stdout and 'APIGW.0301' in result.stdout
    assert _exports(emulator) == []


def test_warns_when_pipelining_is_off(emulator, ansible, fleet_key, tmp_path):
    """Without pipelining Ansible writes module arguments (the private keys) to temp files: the role says so."""
    keys_list = [{'name': 'fleet', 'private_key': {'path': str(tmp_path / 'fleet')}}]
    warning = 'Pipelining is off for this host'
    result = ansible.playbook(_role_play(keys_list), env={'ANSIBLE_PIPELINING': '0'})
    assert warning in result.stderr
    result = _playbook(ansible, _role_play(keys_list))
    assert warning not in result.stderr
