# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret guard of tests/integration/harness.py finds what it must find, and only that.

One playbook (with ``--diff``) shows secrets in the ways a module could: in a result that the default
callback does not print, in a diff, as an IAM token nobody registered, as another encoding of a registered
private key, as a private key the emulator hosts but no test registered; and it shows what is not secret: a
result hidden by ``no_log`` and the public half of a registered key. The run goes through a runner that
records instead of checking; each task's output and recorded results are then checked by a fresh guard.
"""
from __future__ import annotations

import glob

import pytest
from cryptography.hazmat.primitives import serialization

from integration.harness import AnsibleRunner, SecretLeak
from kps_emulator import keys


class RecordingRunner(AnsibleRunner):
    """Keeps stdout and the kps_result_log records of each run instead of checking them."""

    def check_run(self, env, stdout, stderr):
        self.recorded_stdout = stdout
        self.recorded_results = ''
        for name in sorted(glob.glob(env['KPS_RESULT_LOG'])):
            with open(name) as handle:
                self.recorded_results += handle.read()


def by_task(stdout, results):
    """{task name: its stdout section + its recorded result lines}."""
    sections = {}
    for chunk in stdout.split('TASK [')[1:]:
        name = chunk.split(']', 1)[0]
        sections[name] = chunk
    for line in results.splitlines():
        for name in sections:
            if '"task": "%s"' % name in line:
                sections[name] += line
    return sections


def test_guard_finds_secrets_in_every_place(emulator, tmp_path):
    recorder = RecordingRunner(emulator, tmp_path / 'run')
    (tmp_path / 'run').mkdir()
    registered_rsa, rsa_public = keys.generate('rsa')          # PKCS#1; registered in that form only
    rsa_key = serialization.load_pem_private_key(registered_rsa.encode(), password=None)
    rsa_pkcs8 = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    hosted, hosted_public = keys.generate('ed25519')           # hosted by the emulator, never registered
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': 'hosted', 'public_key': hosted_public, 'key_protection': {
        'private_key': hosted, 'encryption': {'type': 'default'}}}}, expect=200)
    token = emulator.client().login()                          # never registered: found by its form
    tasks = [
        {'name': 'result', 'ansible.builtin.set_fact': {'shown': '{{ guard_secret }}'}},
        {'name': 'no_log', 'ansible.builtin.set_fact': {'hidden': '{{ guard_secret }}'}, 'no_log': True},
        {'name': 'diff', 'ansible.builtin.copy': {'content': '{{ guard_secret }}\n', 'dest': str(tmp_path / 'f'),
                                                  'mode': '0600'}},
        {'name': 'token', 'ansible.builtin.debug': {'msg': 'token %s' % token}},
        # a line of the private part (the first lines hold the modulus, which is public)
        {'name': 'pkcs8', 'ansible.builtin.debug': {'msg': rsa_pkcs8.splitlines()[-4]}},
        {'name': 'hosted', 'ansible.builtin.debug': {'msg': ''.join(hosted.splitlines()[1:-1])}},
        {'name': 'public', 'ansible.builtin.debug': {'msg': rsa_public}},
    ]
    recorder.playbook([{'name': 'guard', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], '--diff',
                      extra_vars={'guard_secret': 'a-secret-value-of-this-run-0123456789'})
    sections = by_task(recorder.recorded_stdout, recorder.recorded_results)
    assert sorted(sections) == sorted(task['name'] for task in tasks)
    assert 'a-secret-value-of-this-run' not in recorder.recorded_stdout.split('TASK [diff]')[0], \
        'the default callback does not print results: only the result log can see the first task'

    guard = AnsibleRunner(emulator, tmp_path)
    guard.add_secret('a-secret-value-of-this-run-0123456789')   # what _vars_file registers from "guard_secret"
    guard.add_secret(registered_rsa)
    guard._add_emulator_keys()  # pylint: disable=protected-access
    for name in ('result', 'diff', 'token', 'pkcs8', 'hosted'):
        with pytest.raises(SecretLeak):
            guard.check_no_secret(sections[name], name)
    for name in ('no_log', 'public'):
        guard.check_no_secret(sections[name], name)
    # The extra var was registered by its name alone.
    assert 'a-secret-value-of-this-run-0123456789' in recorder.secrets


def test_guard_knows_keys_and_passphrases_the_run_left_in_its_work_dir(ansible):
    """Keys a target generates or exports into output_dir need no registration: printing one is caught."""
    plays = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'generate a key as a target would', 'ansible.builtin.command': {
            'argv': ['ssh-keygen', '-q', '-t', 'ecdsa', '-m', 'PEM', '-N', '', '-f', '{{ output_dir }}/made_here'],
            'creates': '{{ output_dir }}/made_here'}},
        {'name': 'leak it', 'ansible.builtin.command': {'argv': ['sed', '-n', '2p', '{{ output_dir }}/made_here']},
         'changed_when': False},
    ]}]
    with pytest.raises(SecretLeak):
        ansible.playbook(plays, '-v')
