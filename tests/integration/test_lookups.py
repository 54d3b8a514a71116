# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookups with their connection options from the controller's environment, as users of the modules set them.

The target lookup_kps_keys runs the lookups with options as keyword arguments; here the same HW_* variables that
the modules read reach them through Ansible's configuration (the doc fragment huaweicloud.kps.auth.lookup), and
win over the HUAWEICLOUD_SDK_* ones, which hold a wrong key pair of credentials; then a password login from the
HW_USER_* variables. At -vvvv, through the secret guard (password and IAM tokens included).
"""
from __future__ import annotations

import os

from kps_emulator.keys import public_key_of
from kps_emulator.testing import DEFAULTS


def test_lookups_read_the_hw_environment_variables(ansible):
    made = ansible.seed_hosted(2, 'env-')
    names = sorted(made)
    dest = os.path.join(ansible.workdir, 'id_env')
    expected = [public_key_of(made[name]) for name in names]
    play = [{'name': 'lookups configured by the environment', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Read the public keys',
         'ansible.builtin.set_fact': {'env_public': "{{ query('huaweicloud.kps.kps_public_key', %r) }}" % names}},
        {'name': 'Install a private key',
         'ansible.builtin.copy': {'content': "{{ lookup('huaweicloud.kps.kps_private_key', '%s') }}" % names[0],
                                  'dest': dest, 'mode': '0600'}},
        {'name': 'Warn about a missing key pair',
         'ansible.builtin.set_fact': {
             'env_warned': "{{ lookup('huaweicloud.kps.kps_public_key', 'ghost', errors='warn') }}"}},
        {'name': 'Check', 'ansible.builtin.assert': {'that': ['env_public == %r' % expected, 'env_warned is none']}},
    ]}]
    emulator = ansible.emulator
    env = {'HW_KPS_ENDPOINT': emulator.url, 'HW_IAM_ENDPOINT': emulator.url, 'HW_REGION_NAME': emulator.region,
           'HW_PROJECT_ID': emulator.project_id, 'HW_ACCESS_KEY': emulator.access_key,
           'HW_SECRET_KEY': emulator.secret_key,
           'HUAWEICLOUD_SDK_AK': 'WRONGACCESSKEY000001', 'HUAWEICLOUD_SDK_SK': 'wrong-secret-key-of-the-sdk'}
    result = ansible.playbook(play, '-vvvv', env=env)
    assert 'ok=4' in result.stdout and 'failed=0' in result.stdout
    with open(dest) as handle:
        installed = handle.read()
    assert installed.startswith('-----BEGIN OPENSSH PRIVATE KEY-----\n')
    assert public_key_of_openssh(installed) == expected[0]
    output = result.stdout + result.stderr
    assert "An error occurred while running the lookup plugin 'huaweicloud.kps.kps_public_key'" in output
    assert 'Key pair ghost does not exist in KPS.' in output
    calls = [entry['call'] for entry in emulator.requests()]
    assert calls == ['list_keypairs', 'show_keypair', 'export_private_key', 'show_keypair']

    # A password login (HW_USER_*): one IAM login per lookup call; the password and the token never shown.
    emulator.clear_requests()
    login = {'HW_KPS_ENDPOINT': emulator.url, 'HW_IAM_ENDPOINT': emulator.url, 'HW_REGION_NAME': emulator.region,
             'HW_USER_NAME': DEFAULTS['user'], 'HW_USER_PASSWORD': DEFAULTS['password'],
             'HW_DOMAIN_NAME': DEFAULTS['domain']}
    play[0]['tasks'] = [play[0]['tasks'][0], play[0]['tasks'][3]]
    play[0]['tasks'][1] = {'name': 'Check', 'ansible.builtin.assert': {'that': ['env_public == %r' % expected]}}
    result = ansible.playbook(play, '-vvvv', env=login)
    assert 'ok=2' in result.stdout and 'failed=0' in result.stdout
    assert [entry['call'] for entry in emulator.requests()] == ['iam_token', 'list_keypairs']


def public_key_of_openssh(text):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    key = serialization.load_ssh_private_key(text.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
