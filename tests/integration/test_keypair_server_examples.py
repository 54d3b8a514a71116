# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_keypair_server's EXAMPLES as written, against the emulator: in check mode on new servers (as a user
previews a play), for real, and in check mode and for real again; each a real ``ansible-playbook`` process
through the secret guard."""
from __future__ import annotations

import ast
import os

import yaml

from integration.harness import TESTS_DIR
from kps_emulator import keys

PASSWORD = 'root-password-of-the-example-servers'
RUNNING = ['2f4e0c4c-0f3b-4a6e-9f0e-5d2c1b8a7e61', '7a1d2c3b-4e5f-4061-8273-9a8b7c6d5e4f']
STOPPED = 'c0ffee00-1234-4abc-9def-0123456789ab'


def examples():
    path = os.path.join(os.path.dirname(TESTS_DIR), 'plugins', 'modules', 'kps_keypair_server.py')
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    return yaml.safe_load(next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                               and getattr(node.targets[0], 'id', None) == 'EXAMPLES'))


def test_the_examples_run_in_check_mode_on_new_servers_then_for_real(ansible, tmp_path):
    emu = ansible.emulator
    client = emu.client()
    private = {}
    for name in ('deploy', 'deploy-2026'):
        private[name], public = keys.generate('ed25519')
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public}}, expect=200)
        ansible.add_secret(private[name])
    ansible.add_secret(PASSWORD)
    emu.add_servers(*([{'id': server_id, 'name': 'web-%d' % index, 'status': 'ACTIVE', 'key_name': None,
                        'password': PASSWORD} for index, server_id in enumerate(RUNNING)]
                      + [{'id': STOPPED, 'name': 'db-1', 'status': 'SHUTOFF', 'key_name': None}]))
    (tmp_path / 'keys').mkdir()
    (tmp_path / 'keys' / 'deploy').write_text(private['deploy'])  # as kps_private_key_export writes it
    playbook = tmp_path / 'site.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': examples(),
                                         'vars': {'vault_root_password': PASSWORD}}]))
    env = emu.module_env()

    def key_names():
        return dict((server['id'], server['key_name']) for server in emu.servers())

    new = dict.fromkeys(RUNNING + [STOPPED])
    check = ansible.playbook(str(playbook), '--check', env=env)  # fails the test if the play fails
    assert 'changed=1 ' in check.stdout and 'skipped=1 ' in check.stdout, check.stdout
    assert key_names() == new and emu.tasks() == []

    ansible.playbook(str(playbook), env=env)
    assert key_names() == dict(dict.fromkeys(RUNNING, 'deploy-2026'), **{STOPPED: None})

    # Again: task 1 would put deploy back, so in check mode the replace is skipped, and the real run does it all.
    check = ansible.playbook(str(playbook), '--check', env=env)
    assert 'changed=1 ' in check.stdout and 'skipped=1 ' in check.stdout, check.stdout
    ansible.playbook(str(playbook), env=env)
    assert key_names() == dict(dict.fromkeys(RUNNING, 'deploy-2026'), **{STOPPED: None})
