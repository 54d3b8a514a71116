# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role kps_key_distribution against real SSH hosts (network namespaces, one sshd each) and the emulator.

What a user would check by hand: the keys land on every host with the right owner and modes, they are the
keys KPS holds, the hosts let each other in with them (and not with a key they were not told to trust),
a second run changes nothing and costs the same KPS calls for one host as for three, state=absent takes a
key away again, and no private key shows up in the output, even at -vvvv, or stays on the controller's disk.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import stat

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import with_openssh_comment
from ansible_collections.huaweicloud.kps.tests.unit.role_spec import PRIVATE_KEY_MARKER_RE

from integration.harness import CONNECTION, exported_text
from integration.ssh_hosts import ssh_hosts
from kps_emulator import keys

ROLE = 'huaweicloud.kps.kps_key_distribution'
# sitecustomize.py there copies every file Ansible deletes from its local temp dir (see the module docstring).
LOCAL_TEMP_CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'local_temp_capture')
COMMENT = 'huaweicloud.kps:%s'
ROLE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles',
                        'kps_key_distribution')
# A result line of a host (or loop item) at -vvvv: "changed: [host1] => {" (its JSON follows on the next lines).
RESULT_RE = re.compile(r'^(?:ok|changed|failed|fatal|skipping): \[([^\]]+)\].*=> \{$', re.M)
RECAP_RE = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
# fleet: installed on every host and trusted by root everywhere; deploy: only trusted (its private key
# never goes to the hosts); solo: installed, trusted nowhere; unused: in KPS, not asked for. All four have
# their private keys hosted in KPS. trusted (TRUSTED_ONLY): only trusted, and KPS has its public key only.
KEY_PAIRS = ('fleet', 'deploy', 'solo', 'unused')
# Installed everywhere and trusted by root like fleet (an Ed25519 key), one per other key type: every type logs in.
TYPED = {'rsa2048': ('rsa', 2048), 'rsa4096': ('rsa', 4096), 'ecdsa256': ('ec', ec.SECP256R1()),
         'ecdsa384': ('ec', ec.SECP384R1())}
TRUSTED_ONLY = 'trusted'
FOREIGN_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzZXJzIG93biBrZXkgdGhhdCB3ZSBtdXN0IG5vdCB0b3VjaA someone@else'


def _keys(fleet_state='present'):
    return [
        {'name': 'fleet', 'state': fleet_state, 'authorized_users': ['root']},
    ] + [{'name': name, 'authorized_users': ['root']} for name in TYPED] + [
        {'name': 'deploy', 'private_key': {'install': False}, 'authorized_users': ['root'],
         'authorized_key_options': 'restrict'},
        {'name': 'solo'},
        {'name': TRUSTED_ONLY, 'private_key': {'install': False}, 'authorized_users': ['root']},
    ]


def _play(keys_list, auth_in_role=True):
    """The playbook a user would write; credentials either as a role variable or as play module_defaults."""
    role = {'role': ROLE, 'kps_key_distribution_keys': keys_list}
    play = {'name': 'distribute KPS keys', 'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [role]}
    if auth_in_role:
        role['kps_key_distribution_auth'] = CONNECTION
    else:
        play['module_defaults'] = {'group/huaweicloud.kps.kps': CONNECTION}
    return [play]


def _recap(result):
    return {host: {'ok': int(ok), 'changed': int(changed), 'unreachable': int(unreachable), 'failed': int(failed)}
            for host, ok, changed, unreachable, failed in RECAP_RE.findall(result.stdout)}


def _changed(result, hosts):
    recap = _recap(result)
    assert sorted(recap) == sorted(hosts.names if hasattr(hosts, 'names') else hosts), result.stdout[-3000:]
    assert all(row['failed'] == 0 and row['unreachable'] == 0 for row in recap.values()), result.stdout[-3000:]
    return {host: row['changed'] for host, row in recap.items()}


def _kps_calls(emulator):
    return [(entry['method'], entry['call']) for entry in emulator.requests()]


def _blob(public_key):
    return ' '.join(public_key.split()[:2])


def _md5(public_key):
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()  # KPS fingerprint form
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _stat(host, path):
    """(octal mode, owner, group) of a path on the host, or None when it does not exist."""
    proc = host.run(['stat', '-c', '%a %U %G', path], check=False)
    return tuple(proc.stdout.split()) if proc.returncode == 0 else None


def _authorized_keys(host):
    proc = host.run(['cat', '/root/.ssh/authorized_keys'], check=False)
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def _generate(kind, size):
    """(PEM private key as KPS holds it, OpenSSH public key) of a new key of that kind."""
    if kind == 'ed25519':
        return keys.generate('ed25519')
    key = rsa.generate_private_key(public_exponent=65537, key_size=size) if kind == 'rsa' else ec.generate_private_key(size)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return pem.decode(), public.decode()


@pytest.fixture
def kps_keys(emulator, ansible):
    """RSA key pairs in the emulator with hosted private keys (RSA PEM is what KPS returns and what every
    OpenSSH reads; Debian 12's OpenSSH cannot load an Ed25519 key in PKCS#8 PEM). Returns name -> metadata."""
    client = emulator.client()
    created = {}
    for name in KEY_PAIRS + tuple(TYPED):
        private_key, public_key = _generate(*TYPED.get(name, ('ed25519' if name == 'fleet' else 'rsa', 2048)))
        ansible.add_secret(private_key)
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
        _status, _headers, body = client.json('GET', client.kps('/' + name), expect=200)
        created[name] = dict(body['keypair'], private_key=private_key)
    # A key pair whose private key KPS does not host: its owner keeps it (here: the test), hosts only trust it.
    private_key, public_key = keys.generate('rsa')
    ansible.add_secret(private_key)
    client.json('POST', client.kps(), {'keypair': {'name': TRUSTED_ONLY, 'public_key': public_key}}, expect=200)
    _status, _headers, body = client.json('GET', client.kps('/' + TRUSTED_ONLY), expect=200)
    assert body['keypair']['is_key_protection'] is False
    created[TRUSTED_ONLY] = dict(body['keypair'], private_key=private_key)
    return created


@pytest.fixture
def hosts(tmp_path_factory):
    """Three SSH hosts; stopped and removed after the test, also when it fails."""
    with ssh_hosts(3, tmp_path_factory.mktemp('ssh-hosts')) as started:
        started[2].run(['sh', '-c', 'mkdir -m 700 /root/.ssh && echo "$0" > /root/.ssh/authorized_keys',
                        FOREIGN_LINE])
        for host in started:
            host.run(['sh', '-c', 'echo "$0" > /root/whoami', host.name])
        yield started


def _ssh(from_host, to_host, identity):
    """Log in from one host to another with a key file that lives on the first host."""
    return from_host.run(to_host.ssh_argv(identity, command=['cat', '/root/whoami']), check=False)


def test_role_distributes_kps_keys_to_real_ssh_hosts(emulator, ansible, kps_keys, hosts, tmp_path):
    # Every file the runs below create and delete in Ansible's local temp dir is kept in `captured`, which step 6
    # scans for private keys: the hosts' inventory turns pipelining on, so the keys must never be in one.
    captured = tmp_path / 'local-temp-capture'
    ansible_run = ansible.playbook

    def playbook(*args, **kwargs):
        kwargs['env'] = {'PYTHONPATH': LOCAL_TEMP_CAPTURE, 'KPS_LOCAL_TEMP_CAPTURE': str(captured)}
        return ansible_run(*args, **kwargs)

    inventory = ('-i', hosts.inventory)

    # 1. Check mode reports changes on every host and changes nothing.
    result = playbook(_play(_keys()), *inventory, '--check', '--diff')
    assert all(changed > 0 for changed in _changed(result, hosts).values())
    # Which host and which file would change, and how: never key material, and not "(censored due to no_log)".
    compare = result.stdout.split('Compare the keys on this host with KPS]')[1].split('TASK [')[0]
    for host in hosts:
        assert 'changed: [%s]' % host.name in compare
    assert compare.count('+++ after: /root/.ssh/id_fleet') == len(hosts)
    assert compare.count('+++ after: /root/.ssh/authorized_keys') == len(hosts)
    assert 'censored' not in compare
    for host in hosts:
        assert _stat(host, '/root/.ssh/id_fleet') is None
    assert _authorized_keys(hosts[2]) == [FOREIGN_LINE]

    # The real run, at -vvvv: the secret guard of the runner fails the test if any private key shows up.
    emulator.clear_requests()
    result = playbook(_play(_keys()), *inventory, '-vvvv')
    assert all(changed > 0 for changed in _changed(result, hosts).values())
    _assert_results_hidden(result.stdout, hosts)
    first_run_calls = _kps_calls(emulator)
    # One listing for the public keys, then one export of the key pairs the hosts lack (fleet, solo: a listing,
    # then one batch export), whatever the number of hosts. Exporting `trusted` would fail: KPS has no private
    # key for it; deploy and trusted are only authorized, so their private keys are not exported.
    assert first_run_calls == [('GET', 'list_keypairs'), ('GET', 'list_keypairs'),
                               ('POST', 'batch_export_private_keys')], first_run_calls

    # 2. Files, contents, owners, modes and authorized_keys lines on every host.
    fleet, deploy, solo, trusted = (kps_keys[name] for name in ('fleet', 'deploy', 'solo', TRUSTED_ONLY))
    expected_lines = (['%s %s' % (_blob(fleet['public_key']), COMMENT % 'fleet')]
                      + ['%s %s' % (_blob(kps_keys[name]['public_key']), COMMENT % name) for name in TYPED]
                      + ['restrict %s %s' % (_blob(deploy['public_key']), COMMENT % 'deploy'),
                         '%s %s' % (_blob(trusted['public_key']), COMMENT % TRUSTED_ONLY)])
    for host in hosts:
        assert _stat(host, '/root/.ssh') == ('700', 'root', 'root')
        for keypair in [fleet, solo] + [kps_keys[name] for name in TYPED]:
            path = '/root/.ssh/id_' + keypair['name']
            assert _stat(host, path) == ('600', 'root', 'root')
            derived = host.run(['ssh-keygen', '-y', '-f', path]).stdout  # OpenSSH itself reads the key
            assert _blob(derived) == _blob(keypair['public_key'])
            assert _md5(derived) == keypair['fingerprint']
            # The OpenSSH format (every key type loads in ssh), marked as installed by the role for this key pair.
            # Exactly the export module's serialisation of the key KPS holds, with the role's comment.
            assert host.run(['cat', path]).stdout == with_openssh_comment(exported_text(keypair['private_key']),
                                                                          COMMENT % keypair['name'])
            assert host.run(['ssh-keygen', '-l', '-f', path]).stdout.split()[2] == COMMENT % keypair['name']
        assert _stat(host, '/root/.ssh/id_deploy') is None  # only trusted, never installed
        assert _stat(host, '/root/.ssh/id_' + TRUSTED_ONLY) is None
        assert _stat(host, '/root/.ssh/authorized_keys') == ('600', 'root', 'root')
        foreign = [FOREIGN_LINE] if host is hosts[2] else []
        assert _authorized_keys(host) == foreign + expected_lines

    # 3. The keys work: A logs in to B with the distributed key that B trusts; not with one B does not trust.
    for source, target in ((hosts[0], hosts[1]), (hosts[1], hosts[2]), (hosts[2], hosts[0])):
        for name in ('fleet',) + tuple(TYPED):  # Ed25519, RSA 2048/4096, ECDSA P-256/P-384
            login = _ssh(source, target, '/root/.ssh/id_' + name)
            assert login.returncode == 0, (name, login.stderr)
            assert login.stdout.strip() == target.name
        refused = _ssh(source, target, '/root/.ssh/id_solo')
        assert refused.returncode == 255 and 'Permission denied' in refused.stderr, refused.stderr
    # The private keys of deploy and trusted stay with their real owners (here: the test); KPS does not even
    # host the one of trusted. Both let their owners in everywhere.
    for keypair in (deploy, trusted):
        owner_key = tmp_path / ('owner-key-' + keypair['name'])
        owner_key.write_text(keypair['private_key'])
        owner_key.chmod(0o600)
        for host in hosts:
            proc = host.run(host.ssh_argv(str(owner_key), command=['cat', '/root/whoami']), check=False)
            assert proc.stdout.strip() == host.name, proc.stderr
        owner_key.unlink()

    # 4. Check mode again and a repeat run change nothing and export nothing: the hosts' files already hold the
    #    keys KPS has. KPS calls are the same for 1 host and for 3 hosts: one listing.
    result = playbook(_play(_keys()), *inventory, '--check')
    assert set(_changed(result, hosts).values()) == {0}
    emulator.clear_requests()
    result = playbook(_play(_keys()), *inventory)
    assert set(_changed(result, hosts).values()) == {0}
    calls_for_three = _kps_calls(emulator)
    emulator.clear_requests()
    result = playbook(_play(_keys()), *inventory, '--limit', hosts[0].name)
    assert _changed(result, [hosts[0].name]) == {hosts[0].name: 0}
    calls_for_one = _kps_calls(emulator)
    assert calls_for_one == calls_for_three == [('GET', 'list_keypairs')]

    # A key rotated in KPS (here: one host's file damaged, another's replaced by another key) is exported once
    # for the hosts that need it, and only for them.
    hosts[0].run(['sh', '-c', 'echo damaged > /root/.ssh/id_solo'])
    hosts[1].run(['cp', '/root/.ssh/id_fleet', '/root/.ssh/id_solo'])
    emulator.clear_requests()
    result = playbook(_play(_keys()), *inventory)
    assert _changed(result, hosts) == {hosts[0].name: 1, hosts[1].name: 1, hosts[2].name: 0}
    assert _kps_calls(emulator) == [('GET', 'list_keypairs'), ('GET', 'show_keypair'), ('POST', 'export_private_key')]
    for host in hosts:
        derived = host.run(['ssh-keygen', '-y', '-f', '/root/.ssh/id_solo']).stdout
        assert _blob(derived) == _blob(solo['public_key'])

    # 5. state=absent removes the key file and its authorized_keys line, and leaves everything else alone;
    #    this time the credentials come from the play's module_defaults.
    absent_play = _play(_keys(fleet_state='absent'), auth_in_role=False)
    result = playbook(absent_play, *inventory)
    assert set(_changed(result, hosts).values()) == {1}  # one call: the file and the line
    for host in hosts:
        assert _stat(host, '/root/.ssh/id_fleet') is None
        assert _stat(host, '/root/.ssh/id_solo') == ('600', 'root', 'root')
        foreign = [FOREIGN_LINE] if host is hosts[2] else []
        assert _authorized_keys(host) == foreign + expected_lines[1:]
    result = playbook(absent_play, *inventory)
    assert set(_changed(result, hosts).values()) == {0}

    # An unchanged host list with one key pair: one listing, no export.
    emulator.clear_requests()
    result = playbook(_play([{'name': 'solo'}]), *inventory)
    assert set(_changed(result, hosts).values()) == {0}
    assert _kps_calls(emulator) == [('GET', 'list_keypairs')]

    # 6. No private key stayed on the controller's disk (work dir, Ansible's local temp dir, host dirs), nor was
    #    one there for a moment (the files Ansible deleted from its local temp dir, copied into `captured`).
    assert len(os.listdir(str(captured))) > 0  # the capture worked: Ansible does use its local temp dir
    leftovers = []
    for directory in (str(tmp_path), os.path.dirname(hosts.inventory)):
        for root, _dirs, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                if not stat.S_ISREG(os.lstat(path).st_mode):  # ssh control sockets
                    continue
                with open(path, 'rb') as handle:
                    data = handle.read().decode('utf-8', 'replace')
                if any(_private_body(keypair) in data for keypair in kps_keys.values()):
                    leftovers.append(path)
    assert leftovers == []


def _private_key_tasks():
    """The names of the role's tasks that touch private keys (the same rule as the static no_log check in
    tests/unit/test_role_kps_key_distribution.py)."""
    with open(os.path.join(ROLE_DIR, 'tasks', 'main.yml')) as handle:
        tasks = yaml.safe_load(handle)
    return [task['name'] for task in tasks if 'ansible.builtin.fail' not in task
            and PRIVATE_KEY_MARKER_RE.search(yaml.safe_dump(task))]


def _assert_results_hidden(stdout, hosts):
    """In -vvvv output, every result of every task of the role that touches private keys is censored."""
    sections = re.split(r'^TASK \[', stdout, flags=re.M)
    names = _private_key_tasks()
    assert len(names) == 3, names  # the export, the install and the forgetting of the keys
    for name in names:
        [section] = [text for text in sections if text.startswith('%s : %s]' % (ROLE, name))]
        lines = section.splitlines()
        results = [index for index, line in enumerate(lines) if RESULT_RE.match(line)]
        assert results, name
        for index in results:
            assert lines[index + 1].strip().startswith('"censored": '), (name, lines[index:index + 3])
    install = [text for text in sections if text.startswith('%s : Install the private keys' % ROLE)][0]
    assert sorted(RESULT_RE.findall(install)) == sorted(hosts.names)


def _private_body(keypair):
    """A line from the middle of the private key's PEM body: enough to recognise it anywhere."""
    lines = keypair['private_key'].strip().splitlines()
    return lines[len(lines) // 2]


def test_role_fails_clearly_for_a_key_pair_without_hosted_private_key(emulator, ansible, hosts):
    """A key pair whose private key KPS does not host: the role fails on every host with the module's message,
    before anything is written."""
    client = emulator.client()
    _private_key, public_key = keys.generate('rsa')
    client.json('POST', client.kps(), {'keypair': {'name': 'nokey', 'public_key': public_key}}, expect=200)
    result = ansible.playbook(_play([{'name': 'nokey', 'authorized_users': ['root']}]), '-i', hosts.inventory,
                              check=False)
    assert result.returncode != 0
    recap = _recap(result)
    assert sorted(recap) == hosts.names and all(row['failed'] == 1 for row in recap.values())
    assert 'exporting the key pairs from KPS failed' in result.stdout
    assert 'nokey' in result.stdout
    for host in hosts:
        assert _stat(host, '/root/.ssh/id_nokey') is None
        assert _authorized_keys(host) == ([FOREIGN_LINE] if host is hosts[2] else [])

    # Only trusting it works (KPS need not host the private key for that), but a key pair KPS does not have
    # fails on every host that asks for it, naming it, before anything is written.
    result = ansible.playbook(_play([{'name': 'nokey', 'private_key': {'install': False}, 'authorized_users': ['root']},
                                     {'name': 'ghost', 'private_key': {'install': False}, 'authorized_users': ['root']}]),
                              '-i', hosts.inventory, check=False)
    assert result.returncode != 0
    recap = _recap(result)
    assert sorted(recap) == hosts.names and all(row['failed'] == 1 for row in recap.values())
    assert 'No such key pair in KPS: ghost.' in result.stdout
    for host in hosts:
        assert _authorized_keys(host) == ([FOREIGN_LINE] if host is hosts[2] else [])
