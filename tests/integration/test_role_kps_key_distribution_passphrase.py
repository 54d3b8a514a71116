# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""private_key.passphrase of the roles (issue 27) on real SSH hosts: the key files are encrypted on the hosts as
``ssh-keygen -N`` does, load with ``ssh-keygen -y -P`` and log in through ssh-agent, for RSA, ECDSA and Ed25519
key pairs; a repeat run exports nothing (the hosts decrypt their files to check them); a file encrypted with
another passphrase, or unencrypted, is rewritten and the diff says why; the passphrase never shows, not even at
-vvvv with --diff; the rotation role carries it to the new key file and removes the old encrypted one."""
from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from integration.harness import CONNECTION
from integration.ssh_hosts import HOST_PYTHON, ssh_hosts
from integration.test_role_kps_key_distribution import ROLE, _changed, _generate, _kps_calls, _play, _recap, _stat

ROTATION = 'huaweicloud.kps.kps_key_rotation'
# Extra vars named *passphrase* are secrets to the harness's guard: a run that shows one fails the test.
PASSPHRASE = 'Correct Horse 7 Battery'
OTHER_HOST_PASSPHRASE = 'host2 has its own phrase'
WRONG = 'an older passphrase 42'
SECRETS = {'key_passphrase': PASSPHRASE, 'other_passphrase': OTHER_HOST_PASSPHRASE}
# One key pair per type; KPS holds each private key (PKCS#8, or PKCS#1 for RSA, as KPS returns them).
TYPES = {'pp-rsa': ('rsa', 2048), 'pp-ecdsa': ('ec', ec.SECP256R1()), 'pp-ed25519': ('ed25519', None)}
# host1 and host2 have different passphrases for the Ed25519 key pair: the export is shared, the encryption is not.
ED25519_PASSPHRASE = "{{ key_passphrase if inventory_hostname == 'host1' else other_passphrase }}"


def _host_libraries_missing():
    proc = subprocess.run([HOST_PYTHON, '-c', 'import bcrypt, cryptography'], capture_output=True, check=False)
    return proc.returncode != 0


pytestmark = pytest.mark.skipif(_host_libraries_missing(), reason='the SSH hosts\' Python (%s) needs bcrypt and '
                                'cryptography (make system-deps installs python3-bcrypt)' % HOST_PYTHON)


def _keys(ed25519_passphrase=ED25519_PASSPHRASE):
    ed25519 = {'passphrase': ed25519_passphrase} if ed25519_passphrase else {}
    return [{'name': 'pp-rsa', 'private_key': {'passphrase': '{{ key_passphrase }}'}},
            {'name': 'pp-ecdsa', 'private_key': {'passphrase': '{{ key_passphrase }}'}, 'authorized_users': ['root']},
            {'name': 'pp-ed25519', 'private_key': ed25519}]


@pytest.fixture
def kps_keys(emulator, ansible):
    """name -> public key of each key pair of TYPES, created in the emulator with its private key hosted."""
    client = emulator.client()
    created = {}
    for name, kind in TYPES.items():
        private_key, public_key = _generate(*kind)
        ansible.add_secret(private_key)
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
        created[name] = ' '.join(public_key.split()[:2])
    return created


def _load(host, name, passphrase):
    """'<type> <base64>' that ssh-keygen -y -P prints for /root/.ssh/id_NAME on the host, or None when it fails."""
    proc = host.run(['ssh-keygen', '-y', '-P', passphrase, '-f', '/root/.ssh/id_' + name], check=False)
    return ' '.join(proc.stdout.split()[:2]) if proc.returncode == 0 else None


def _passphrase(host, name):
    return OTHER_HOST_PASSPHRASE if (name == 'pp-ed25519' and host.name == 'host2') else PASSPHRASE


def _agent(host, passphrase, script):
    """Run ``script`` on the host under an ssh-agent, with SSH_ASKPASS answering ``passphrase`` (from a file in the
    host's own /root, so that it is in no command line)."""
    host.run(['sh', '-c', 'umask 077 && cat > /root/.pp && printf "#!/bin/sh\\ncat /root/.pp\\n" > /root/.askpass && '
              'chmod 700 /root/.askpass'], input=passphrase)
    return host.run(['env', 'SSH_ASKPASS=/root/.askpass', 'SSH_ASKPASS_REQUIRE=force', 'DISPLAY=:0',
                     'ssh-agent', 'sh', '-c', script], check=False)


def test_role_installs_passphrase_protected_keys_idempotently(emulator, ansible, kps_keys, tmp_path_factory):
    with ssh_hosts(2, tmp_path_factory.mktemp('ssh-hosts')) as hosts:
        inventory = ('-i', hosts.inventory)
        play = _play(_keys())

        # 1. Check mode: every file would be created; nothing exported, nothing written.
        emulator.clear_requests()
        result = ansible.playbook(play, *inventory, '--check', '--diff', extra_vars=SECRETS)
        assert all(changed > 0 for changed in _changed(result, hosts).values())
        assert result.stdout.count('+encryption: encrypted with the passphrase') == 3 * len(hosts)
        assert _kps_calls(emulator) == [('GET', 'list_keypairs')]
        assert all(_stat(host, '/root/.ssh/id_pp-rsa') is None for host in hosts)

        # 2. The real run at -vvvv with --diff: one batch export for both hosts, each host encrypts its files.
        emulator.clear_requests()
        result = ansible.playbook(play, *inventory, '-vvvv', '--diff', extra_vars=SECRETS)
        assert all(changed > 0 for changed in _changed(result, hosts).values())
        assert _kps_calls(emulator) == [('GET', 'list_keypairs'), ('GET', 'list_keypairs'),
                                        ('POST', 'batch_export_private_keys')]
        _assert_no_passphrase(result)
        assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in result.stdout  # the comparison's arguments, masked
        for host in hosts:
            for name, public_key in kps_keys.items():
                path = '/root/.ssh/id_' + name
                assert _stat(host, path) == ('600', 'root', 'root')
                assert host.run(['head', '-n1', path]).stdout == '-----BEGIN OPENSSH PRIVATE KEY-----\n'
                assert _load(host, name, _passphrase(host, name)) == public_key, (host.name, name)
                assert _load(host, name, WRONG) is None and _load(host, name, '') is None
        # The keys work: ssh-add asks for the passphrase, shows the role's comment, and logs in to the other host.
        login = _agent(hosts[0], PASSPHRASE, 'ssh-add /root/.ssh/id_pp-ecdsa </dev/null && ssh-add -l && %s' % ' '.join(
            hosts[1].ssh_argv('/root/.ssh/id_pp-ecdsa', command=['echo', 'logged-in'])))
        assert login.returncode == 0, login.stderr
        assert 'huaweicloud.kps:pp-ecdsa (ECDSA)' in login.stdout and 'logged-in' in login.stdout

        # 3. Check mode again and a repeat run change nothing and export nothing.
        result = ansible.playbook(play, *inventory, '--check', '--diff', '-vvvv', extra_vars=SECRETS)
        assert set(_changed(result, hosts).values()) == {0}
        _assert_no_passphrase(result)
        emulator.clear_requests()
        result = ansible.playbook(play, *inventory, extra_vars=SECRETS)
        assert set(_changed(result, hosts).values()) == {0}
        assert _kps_calls(emulator) == [('GET', 'list_keypairs')]

        # 4. On host1, the RSA file gets another passphrase (ssh-keygen -p, as a user would) and the ECDSA file none;
        #    the Ed25519 entry drops its passphrase. All are rewritten, exported once; the diff says why.
        host1, host2 = hosts
        host1.run(['ssh-keygen', '-q', '-p', '-P', PASSPHRASE, '-N', WRONG, '-f', '/root/.ssh/id_pp-rsa'])
        host1.run(['ssh-keygen', '-q', '-p', '-P', PASSPHRASE, '-N', '', '-f', '/root/.ssh/id_pp-ecdsa'])
        plain = _play(_keys(ed25519_passphrase=None))
        emulator.clear_requests()
        result = ansible.playbook(plain, *inventory, '--diff', '-vvvv', extra_vars=SECRETS)
        assert _changed(result, hosts) == {host1.name: 1, host2.name: 1}
        _assert_no_passphrase(result)
        compare = result.stdout.split('Compare the keys on this host with KPS]')[1].split('TASK [')[0]
        assert compare.count('-encryption: encrypted with another passphrase') == 1
        assert compare.count('-encryption: not encrypted') == 1
        assert compare.count('+encryption: encrypted with the passphrase') == 2
        assert compare.count('-encryption: encrypted\n') == 2 and compare.count('+encryption: not encrypted') == 2
        assert _kps_calls(emulator) == [('GET', 'list_keypairs'), ('GET', 'list_keypairs'),
                                        ('POST', 'batch_export_private_keys')]
        for name in ('pp-rsa', 'pp-ecdsa'):
            assert _load(host1, name, PASSPHRASE) == kps_keys[name]
            assert _load(host1, name, '') is None
        for host in hosts:
            assert _load(host, 'pp-ed25519', '') == kps_keys['pp-ed25519']
            assert host.run(['ssh-keygen', '-l', '-f', '/root/.ssh/id_pp-ed25519']).stdout.split()[2] == \
                'huaweicloud.kps:pp-ed25519'
        emulator.clear_requests()
        result = ansible.playbook(plain, *inventory, extra_vars=SECRETS)
        assert set(_changed(result, hosts).values()) == {0}
        assert _kps_calls(emulator) == [('GET', 'list_keypairs')]


def _assert_no_passphrase(result):
    """The guard of the harness checks every run; this says it in the test, in plain text and every form."""
    for passphrase in (PASSPHRASE, OTHER_HOST_PASSPHRASE, WRONG):
        assert passphrase not in result.stdout + result.stderr


def test_a_host_without_bcrypt_fails_naming_it_before_anything_is_written(emulator, ansible, kps_keys, tmp_path):
    hide = tmp_path / 'no-bcrypt' / 'bcrypt'
    hide.mkdir(parents=True)
    (hide / '__init__.py').write_text("raise ImportError('bcrypt is hidden by the test')\n")
    keys_dir = tmp_path / 'keys'
    keys_dir.mkdir()
    keys = [{'name': 'pp-rsa', 'private_key': {'path': str(keys_dir / 'id_pp-rsa'), 'passphrase': '{{ key_passphrase }}'}}]
    play = [{'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': ROLE, 'kps_key_distribution_keys': keys, 'kps_key_distribution_auth': CONNECTION}]}]
    for args in (('--check',), ()):
        emulator.clear_requests()
        result = ansible.playbook(play, *args, env={'PYTHONPATH': str(hide.parent)}, extra_vars=SECRETS, check=False)
        assert result.returncode != 0 and _recap(result)['localhost']['failed'] == 1
        assert ('private_key.passphrase (key pair pp-rsa) needs the Python libraries cryptography and bcrypt on this '
                'host') in result.stdout
        assert 'which lacks bcrypt. Install them (Debian, Ubuntu: apt install python3-cryptography python3-bcrypt;' \
            in result.stdout
        assert 'Error while evaluating conditional' not in result.stdout  # the role's changed_when on a failed host
        assert _kps_calls(emulator) == [('GET', 'list_keypairs')]  # no export
        assert list(keys_dir.iterdir()) == []


def test_rotation_keeps_the_passphrase_and_removes_the_old_encrypted_file(emulator, ansible, tmp_path_factory):
    """The new key file is encrypted like the old one; the old, encrypted one goes once the new key pair logs in
    (the login proof uses the key from KPS in an ssh-agent, never the files)."""
    old, new = 'pp-old', 'pp-new'
    private_key, public_key = _generate('ed25519', None)
    ansible.add_secret(private_key)
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': old, 'public_key': public_key, 'key_protection': {
        'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
    entry = {'name': old, 'authorized_users': ['root'], 'private_key': {'passphrase': '{{ key_passphrase }}'}}
    rotation = [{'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [{
        'role': ROTATION, 'kps_key_rotation_old': entry, 'kps_key_rotation_new_name': new,
        'kps_key_rotation_auth': CONNECTION}]}]
    with ssh_hosts(1, tmp_path_factory.mktemp('ssh-hosts')) as hosts:
        [host] = hosts
        ansible.playbook(_play([entry]), '-i', hosts.inventory, extra_vars=SECRETS)
        assert _load(host, old, PASSPHRASE) == ' '.join(public_key.split()[:2])

        result = ansible.playbook(rotation, '-i', hosts.inventory, '--diff', extra_vars=SECRETS)
        assert 'rotated on host1; old key pair in KPS: cleared of its private key' in result.stdout
        _assert_no_passphrase(result)
        new_public = ' '.join(emulator.keypair(new)['public_key'].split()[:2])
        assert _load(host, new, PASSPHRASE) == new_public and _load(host, new, '') is None
        assert _stat(host, '/root/.ssh/id_' + old) is None
        assert host.run(['cat', '/root/.ssh/authorized_keys']).stdout == '%s huaweicloud.kps:%s\n' % (new_public, new)

        result = ansible.playbook(rotation, '-i', hosts.inventory, extra_vars=SECRETS)
        assert set(_changed(result, hosts).values()) == {0}
