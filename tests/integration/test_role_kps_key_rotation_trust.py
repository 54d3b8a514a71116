# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rotation concludes does not depend on anything a user of a host controls, nor on an earlier rotation.

Real SSH hosts (network namespaces, one sshd each) and a real unprivileged user created by the test, with a home
of its own on each host (a tmpfs mounted over it in the host's mount namespace), who trusts the key pairs next to
root. What a user or an attacker observes: which key logs in, the ``authorized_keys`` lines, the key pairs in
KPS, the summary line and the failures, the ssh command lines of the login check, and what a later task shows.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from integration.harness import CONNECTION
from integration.ssh_hosts import ssh_hosts
from integration.test_role_kps_key_rotation import DISTRIBUTION, ROLE, _keypair, _recap
from kps_emulator import keys

# Every key pair of these tests, with the users that trust it (root and the test's user, in that order).
LOOP_A, LOOP_B, PROOF = 'loop-a', 'loop-b', 'proof'
SSH_RECORDER = """#!{python}
# ssh as the login check runs it (-l USER): its arguments, and where its identity file lies, then the real ssh.
import json, os, sys
argv = sys.argv[1:]
if '-l' in argv:
    entry = {{'argv': argv}}
    if '-i' in argv:
        path = argv[argv.index('-i') + 1]
        st = os.lstat(os.path.dirname(path))
        with open(path) as handle:
            entry['identity'] = {{'dir_mode': st.st_mode & 0o7777, 'dir_uid': st.st_uid, 'content': handle.read()}}
    with open({log!r}, 'a') as handle:
        handle.write(json.dumps(entry) + '\\n')
os.execv('/usr/bin/ssh', ['ssh'] + argv)
"""


def _entry(name, user, **extra):
    return dict({'name': name, 'authorized_users': ['root', user.name]}, **extra)


def _lines(host, user, name):
    """The authorized_keys lines of ``user`` on ``host`` that carry the role's comment for ``name``."""
    home = '/root' if user == 'root' else user.home
    proc = host.run(['cat', home + '/.ssh/authorized_keys'], check=False)
    return [line for line in proc.stdout.splitlines() if line.endswith(' huaweicloud.kps:' + name)]


@pytest.fixture
def user(attacker):
    # No password, but not a locked account ('!', which useradd sets): sshd without PAM refuses locked accounts.
    subprocess.run(['usermod', '-p', '*', attacker.name], check=True, capture_output=True)
    return attacker


@pytest.fixture
def hosts(tmp_path_factory, user):
    """Three SSH hosts; on each one the user has a home of its own (a tmpfs), as on separate machines."""
    with ssh_hosts(3, tmp_path_factory.mktemp('ssh-hosts')) as started:
        for host in started:
            host.run(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=4m', 'kps-user-home', user.home])
            host.run(['chown', '%d:%d' % (user.uid, user.gid), user.home])
        yield started


def _seed(emulator, ansible, *names):
    """Key pairs hosted by KPS (Ed25519, fast to make)."""
    client = emulator.client()
    for name in names:
        private_key, public_key = keys.generate('ed25519')
        ansible.add_secret(private_key)
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)


def _distribute(ansible, hosts, entries):
    play = [{'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [{
        'role': DISTRIBUTION, 'kps_key_distribution_keys': entries, 'kps_key_distribution_auth': CONNECTION}]}]
    ansible.playbook(play, '-i', hosts.inventory)


def _rotations(*rotations, later_play=False):
    """The documented loop of include_role, one item per rotation (old entry, new name, extra role variables)."""
    play = [{'name': 'rotate', 'hosts': 'kps_hosts', 'gather_facts': False, 'tasks': [{
        'name': 'Rotate', 'ansible.builtin.include_role': {'name': ROLE},
        'vars': {'kps_key_rotation_old': '{{ item.old }}', 'kps_key_rotation_new_name': '{{ item.new }}',
                 'kps_key_rotation_auth': CONNECTION, 'kps_key_rotation_verify_from': '{{ item.verify_from }}',
                 'kps_key_rotation_verify_ssh_args': '-F /dev/null -o StrictHostKeyChecking=no '
                                                     '-o UserKnownHostsFile=/dev/null'},
        'loop': [{'old': old, 'new': new, 'verify_from': verify_from} for old, new, verify_from in rotations],
        'loop_control': {'label': '{{ item.new }}'}}]}]
    if later_play:
        # What a later task can show: no private key is left in the hosts' variables (all but the test's own
        # extra vars, kps_*, which hold the emulator's credentials).
        play.append({'hosts': 'kps_hosts', 'gather_facts': False, 'tasks': [{
            'name': 'Dump hostvars', 'ansible.builtin.debug': {
                'msg': "{{ hostvars[inventory_hostname] | dict2items | rejectattr('key', 'match', 'kps_') | items2dict }}"}}]})
    return play


def _summary(stdout, new):
    """The rotation's summary without its key type part, which must say the (Ed25519) type stayed."""
    found = re.findall(r'"msg": "kps_key_rotation [^"]* -> %s: ([^"]*)"' % re.escape(new), stdout)
    assert len(found) == 1, stdout[-5000:]
    summary, key_type = found[0].rsplit('; key type: ', 1)
    assert key_type == 'Ed25519, as before'
    return summary


def test_a_loop_of_rotations_judges_each_rotation_on_its_own(emulator, ansible, user, hosts):
    """Two rotations in one play (a loop of include_role); the second fails on host3 at the distribution, as its
    user made ~/.ssh/authorized_keys a link: host3 passed the first rotation, but must not pass the second."""
    _seed(emulator, ansible, LOOP_A, LOOP_B)
    _distribute(ansible, hosts, [{'name': LOOP_A, 'authorized_users': ['root']}, _entry(LOOP_B, user)])
    host3 = hosts[2]
    user_keys = user.home + '/.ssh/authorized_keys'
    mine = user.home + '/mine'
    host3.run(user.argv(['sh', '-c', 'cp %s %s && ln -sf %s %s' % (user_keys, mine, mine, user_keys)]))
    inventory = ('-i', hosts.inventory)

    result = ansible.playbook(_rotations(({'name': LOOP_A, 'authorized_users': ['root']}, LOOP_A + '-2', 'controller'),
                                         (_entry(LOOP_B, user), LOOP_B + '-2', 'controller')), *inventory, check=False)
    assert result.returncode != 0
    assert _recap(result.stdout)['host3']['failed'] == 1
    assert '%s/.ssh/authorized_keys is a symbolic link' % user.home in result.stdout
    assert _summary(result.stdout, LOOP_A + '-2') == (
        'rotated on host1, host2, host3; old key pair in KPS: cleared of its private key')
    assert _summary(result.stdout, LOOP_B + '-2') == (
        'rotated on host1, host2; keeping %s on host3; old key pair in KPS: kept (clear after every host has passed)'
        % LOOP_B)
    assert _keypair(emulator, LOOP_A)['is_key_protection'] is False
    assert _keypair(emulator, LOOP_B)['is_key_protection'] is True  # host3 still trusts it
    assert len(_lines(host3, 'root', LOOP_B)) == 1 and _lines(host3, 'root', LOOP_B + '-2') == []

    # The same rotation limited to the hosts that passed: they have rotated, but hosts outside the play (host3)
    # may still use the old key pair, so KPS keeps it.
    result = ansible.playbook(_rotations((_entry(LOOP_B, user), LOOP_B + '-2', 'controller')), *inventory,
                              '--limit', 'host1,host2')
    assert _summary(result.stdout, LOOP_B + '-2') == (
        'rotated on host1, host2; old key pair in KPS: kept (--limit is set: hosts outside the play may still use it)')
    assert _keypair(emulator, LOOP_B)['is_key_protection'] is True


def _freeze_for(host, user, also_trusted):
    """From now on the host's sshd reads the user's keys from a frozen copy, which also trusts ``also_trusted``
    (a line the user's admin added): the old key logs in as the user, the new one never will (root is not
    affected)."""
    user_keys = user.home + '/.ssh/authorized_keys'
    host.run(user.argv(['sh', '-c', 'cp "$0" "$0_frozen" && echo "$1" >> "$0_frozen"', user_keys, also_trusted]))
    config = os.path.join(host.workdir, 'sshd_config')
    with open(config, 'a') as handle:
        handle.write('Match User %s\n    AuthorizedKeysFile .ssh/authorized_keys_frozen\n' % user.name)
    host.reload()


def test_the_login_proof_is_the_new_key_for_every_user(emulator, ansible, user, hosts, tmp_path):
    """host2 lets root in with the new key but not the user (the second of authorized_users). The user there also
    trusts a fleet key of root's (a root-only file on the controller, which the hosts see too), and Ansible's
    ssh options for host2 name it. Then the check runs from host1, where the user keeps replacing the installed
    ~/.ssh/id_NEW with a link to that fleet key."""
    _seed(emulator, ansible, PROOF)
    old = _entry(PROOF, user, private_key={'owner': user.name})
    _distribute(ansible, hosts, [old])
    host1, host2, host3 = hosts
    fleet_dir = tmp_path / 'root-only'
    fleet_dir.mkdir(mode=0o700)
    fleet_key = str(fleet_dir / 'id_fleet')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', fleet_key], check=True)
    with open(fleet_key + '.pub') as handle:
        fleet_public = handle.read().strip()
    for host in hosts:  # root's fleet key logs in as root everywhere, and as the user on host2
        with open(os.path.join(host.workdir, 'admin_authorized_keys'), 'a') as handle:
            handle.write(fleet_public + '\n')
    _freeze_for(host2, user, fleet_public)
    with open(hosts.inventory) as handle:
        inventory_data = yaml.safe_load(handle)
    inventory_data['all']['children']['kps_hosts']['hosts']['host2']['ansible_ssh_extra_args'] = '-i ' + fleet_key
    with open(hosts.inventory, 'w') as handle:
        yaml.safe_dump(inventory_data, handle)
    recorder_dir = tmp_path / 'ssh-recorder'
    recorder_dir.mkdir()
    log = str(tmp_path / 'ssh-calls.jsonl')
    (recorder_dir / 'ssh').write_text(SSH_RECORDER.format(python=sys.executable, log=log))
    (recorder_dir / 'ssh').chmod(0o755)
    new = PROOF + '-2'

    result = ansible.playbook(_rotations((old, new, 'controller'), later_play=True), '-i', hosts.inventory,
                              check=False, env={'PATH': '%s:%s' % (recorder_dir, os.environ['PATH'])})
    recap = _recap(result.stdout)
    assert [recap[host.name]['failed'] for host in hosts] == [0, 1, 0]
    assert re.search(r'fatal: \[host2\]: FAILED! => .*the new key pair %s does not log in on host2 \(failed %s: the '
                     r'server did not accept the new key \(another key logged in\)\);' % (new, user.name), result.stdout)
    assert _summary(result.stdout, new) == ('rotated on host1, host3; keeping %s on host2; old key pair in KPS: kept '
                                            '(clear after every host has passed)' % PROOF)
    assert _keypair(emulator, PROOF)['is_key_protection'] is True
    for who in ('root', user):  # host2 keeps the old lines, for the user that refused the new key and for root
        assert len(_lines(host2, who, PROOF)) == 1 and len(_lines(host2, who, new)) == 1
        assert _lines(host1, who, PROOF) == [] and len(_lines(host1, who, new)) == 1
    # The ssh command lines of the check: one identity, the new public key, in a directory only root can enter;
    # ssh offers no other key of its own (IdentitiesOnly).
    new_public = _keypair(emulator, new)['public_key']
    with open(log) as handle:
        calls = [json.loads(line) for line in handle]
    assert sorted((call['argv'][call['argv'].index('-l') + 1]) for call in calls) == sorted(
        ['root', user.name] * 3)
    for call in calls:
        argv = call['argv']
        assert 'IdentitiesOnly=yes' in argv[:argv.index('-i')]  # the check's own options, before the host's
        identities = [argv[index + 1] for index, word in enumerate(argv) if word == '-i']
        assert identities[1:] == ([fleet_key] if host2.address in argv else [])
        assert call['identity']['content'].split()[:2] == new_public.split()[:2]
        assert (call['identity']['dir_mode'], call['identity']['dir_uid']) == (0o700, 0)
    # A later task showing the hosts' variables shows no private key (the secret guard checks every form).
    assert '"_kps_key_rotation_new_key": {}' in result.stdout and 'PRIVATE KEY' not in result.stdout

    # From host1, while its user keeps ~/.ssh/id_NEW a link to root's fleet key, which logs in everywhere.
    installed = '%s/.ssh/id_%s' % (user.home, new)
    relink = ('while :; do if [ -f {p} ] && [ ! -L {p} ]; then ln -sfn {k} {p}.tmp && mv -T {p}.tmp {p}; fi; '
              'sleep 0.02; done').format(p=installed, k=fleet_key)
    attack = subprocess.Popen(host1.nsenter(user.argv(['sh', '-c', relink])))  # pylint: disable=consider-using-with
    try:
        result = ansible.playbook(_rotations((old, new, 'host1')), '-i', hosts.inventory, check=False)
    finally:
        attack.kill()
        attack.wait()
    assert host1.run(['test', '-L', installed], check=False).returncode == 0  # the attack did run
    recap = _recap(result.stdout)
    assert [recap[host.name]['failed'] for host in hosts] == [0, 1, 0]
    assert 'ok: [host2 -> host1(' in result.stdout
    assert _keypair(emulator, PROOF)['is_key_protection'] is True
    assert len(_lines(host2, user, PROOF)) == 1
