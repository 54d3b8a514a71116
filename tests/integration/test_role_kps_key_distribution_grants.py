# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role kps_key_distribution decides on the controller what each host receives, and keeps secrets off disks.

Three hosts of the local connection, each with its own Python (integration/recording_python.py), which records
the names of the private keys every ``kps_host_keys`` call was given; one host is compromised: its reports ask
for key pairs it has no entry for. Also: what a later task dumping hostvars shows, the check-mode run's calls on
KPS, and the controller-side tasks of both roles under ``become_method: su``.
"""
from __future__ import annotations

import json
import os
import re

import yaml

from integration.harness import CONNECTION, find_leaks, secret_forms
from integration.recording_python import interpreter

ROLE = 'huaweicloud.kps.kps_key_distribution'
ROTATION = 'huaweicloud.kps.kps_key_rotation'
LOCAL_TEMP_CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'local_temp_capture')
RECAP_RE = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)', re.M)


def _received(log):
    """[(host, names of the private keys given)] of the install calls (kps_host_keys with private keys)."""
    if not os.path.exists(log):
        return []
    with open(log) as handle:
        entries = [json.loads(line) for line in handle]
    os.unlink(log)
    return sorted((entry['host'], entry['private_keys']) for entry in entries if entry['private_keys'] is not None)


def test_a_host_receives_only_the_private_keys_of_its_own_entries(emulator, ansible, tmp_path):
    first, second, unlisted = sorted(ansible.seed_hosted(3, 'grant-'))
    log = str(tmp_path / 'received.jsonl')
    hosts = {}
    for host, names, fake in (('h1', [first], ()), ('h2', [second], ()), ('h3', [first], (second, unlisted))):
        directory = tmp_path / host
        directory.mkdir()
        hosts[host] = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': interpreter(str(tmp_path / ('python-' + host)), host, log, fake),
            'kps_key_distribution_keys': [{'name': name, 'private_key': {'path': str(directory / ('id_' + name))}}
                                          for name in names]}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
    play = [{'hosts': 'all', 'gather_facts': False,
             'roles': [{'role': ROLE, 'kps_key_distribution_auth': CONNECTION}]},
            # What a later task of the play can show: no private key is left in any host's variables (all but the
            # test's own extra vars, kps_*, which hold the emulator's credentials).
            {'hosts': 'all', 'gather_facts': False, 'tasks': [{'name': 'Dump hostvars', 'ansible.builtin.debug': {
                'msg': "{{ hostvars[inventory_hostname] | dict2items | rejectattr('key', 'match', 'kps_') | items2dict }}"}}]}]
    run = {'inventory': str(inventory), 'env': {'ANSIBLE_PIPELINING': '1'}}

    # Check mode: only the listing of public keys reaches KPS, no export; no host is sent a private key.
    emulator.clear_requests()
    result = ansible.playbook(play, '--check', **run)
    assert [entry['call'] for entry in emulator.requests()] == ['list_keypairs']
    assert _received(log) == []
    assert 'Dump hostvars' in result.stdout

    # The real run: each host gets the keys of its own entries, whatever it asks for; the compromised host's
    # extra requests export nothing that no host installs, and nothing reaches it.
    result = ansible.playbook(play, **run)
    assert _received(log) == [('h1', [first]), ('h2', [second]), ('h3', [first])]
    for host, name in (('h1', first), ('h2', second), ('h3', first)):
        assert sorted(os.listdir(str(tmp_path / host))) == ['id_' + name]
    assert 'PRIVATE KEY' not in result.stdout and '"_kps_key_distribution_export": {}' in result.stdout

    # Check mode again and a repeat run: nothing exported, nothing sent, nothing changed (but for the check-mode
    # report of the compromised host, which still claims to need keys).
    for args, changed in (('--check',), {'h1': 0, 'h2': 0, 'h3': 1}), ((), {'h1': 0, 'h2': 0, 'h3': 0}):
        emulator.clear_requests()
        result = ansible.playbook(play, *args, **run)
        assert {host: int(count) for host, count, _failed in RECAP_RE.findall(result.stdout)} == changed, args
        assert [entry['call'] for entry in emulator.requests()] == ['list_keypairs'], args
        assert _received(log) in ([], [('h3', [])]), args


def test_controller_tasks_keep_the_sk_off_the_disk_under_become_method_su(emulator, ansible, tmp_path):
    """su turns pipelining off for the tasks that use it; the controller-side tasks of the roles do not use it.
    The distribution of a key pair, then its rotation (key files only: no login check), in one play."""
    [name] = ansible.seed_hosted(1, 'su-')
    old = {'name': name, 'private_key': {'path': str(tmp_path / ('id_' + name))}}
    play = [{'hosts': 'localhost', 'gather_facts': False, 'become': True, 'become_method': 'su', 'roles': [
        {'role': ROLE, 'kps_key_distribution_auth': CONNECTION, 'kps_key_distribution_keys': [old]},
        {'role': ROTATION, 'kps_key_rotation_auth': CONNECTION, 'kps_key_rotation_old': old,
         'kps_key_rotation_new_name': name + '-2',
         'kps_key_rotation_new_private_key_path': str(tmp_path / ('id_%s-2' % name))}]}]
    captured = tmp_path / 'local-temp-capture'
    result = ansible.playbook(play, env={'ANSIBLE_PIPELINING': '1', 'PYTHONPATH': LOCAL_TEMP_CAPTURE,
                                         'KPS_LOCAL_TEMP_CAPTURE': str(captured)})
    # Rotated: the new key file, the old one gone; KPS no longer hosts the old private key.
    assert [entry for entry in os.listdir(str(tmp_path)) if entry.startswith('id_')] == ['id_%s-2' % name]
    assert emulator.keypair(name)['is_key_protection'] is False
    # su was in effect for the host's tasks: the module warns that they ran from files.
    assert 'Pipelining is off for this host' in result.stdout + result.stderr
    files = [os.path.join(root, file) for root, _dirs, names in os.walk(str(captured)) for file in names]
    assert files  # the capture worked
    sk_forms = secret_forms(emulator.secret_key)
    leaks = []
    for path in files:
        with open(path, 'rb') as handle:
            if find_leaks(sk_forms, handle.read().decode('utf-8', 'replace')):
                leaks.append(os.path.basename(path))
    assert leaks == []

    # An extra var that would escalate the controller-side tasks too: refused before any call to KPS.
    reason = ('ansible_become is true for the tasks that run on the controller (an extra var?); they need no '
              'privilege escalation, and become_method su turns pipelining off')
    roles = play[0]['roles']
    for role, message in ((ROLE, 'kps_key_distribution: %s; nothing was sent to KPS.' % reason),
                          (ROTATION, 'kps_key_rotation: %s' % reason)):
        emulator.clear_requests()
        play[0]['roles'] = [item for item in roles if item['role'] == role]
        result = ansible.playbook(play, '-e', 'ansible_become=true', check=False, env={'ANSIBLE_PIPELINING': '1'})
        assert result.returncode != 0
        assert message in result.stdout, role
        assert emulator.requests() == [], role
