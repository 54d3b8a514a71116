# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Galaxy readiness: the built tarball installs, and the installed copy works on its own.

The collection is built with ``ansible-galaxy collection build`` and installed with ``ansible-galaxy collection
install`` into a temporary directory, which is then the ONLY entry of ANSIBLE_COLLECTIONS_PATH: ansible-doc
finds every module (with the doc fragments) and role there, and a playbook using both modules runs against the
emulator from that copy (credentials from the HW_* environment only).
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

from ansible_env import environment
from integration.harness import public_key_of, secret_forms
from kps_emulator import keys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.dirname(sys.executable)
FORBIDDEN_PARTS = ('.venv', 'build', 'dist', '__pycache__', '.pytest_cache', '.hypothesis', '.cache', 'output',
                   'artifacts')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(tarball, collections dir holding only the installed copy)."""
    base = tmp_path_factory.mktemp('galaxy')
    # A clean environment: with ANSIBLE_COLLECTIONS_PATH pointing at another copy (as `make` sets it), the
    # install would find the collection "already installed" there and put nothing into our directory.
    env = clean_env(str(base / 'none'), str(base / 'tmp'))
    subprocess.run([os.path.join(BIN_DIR, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path',
                    str(base / 'dist')], check=True, capture_output=True, env=env)
    [tarball] = glob.glob(str(base / 'dist' / 'huaweicloud-kps-*.tar.gz'))
    subprocess.run([os.path.join(BIN_DIR, 'ansible-galaxy'), 'collection', 'install', tarball, '-p',
                    str(base / 'installed')], check=True, capture_output=True, env=env)
    return tarball, str(base / 'installed')


def clean_env(collections_dir, tmp):
    # Deprecation warnings shown: ansible-doc must render the installed roles without any.
    return environment(tmp, collections_dir, deprecation_warnings=True)


def test_tarball_holds_no_build_or_test_output(installed):
    with tarfile.open(installed[0]) as archive:
        names = archive.getnames()
    bad = [name for name in names if set(name.split('/')) & set(FORBIDDEN_PARTS) or name.endswith('.pyc')]
    assert not bad
    assert 'meta/runtime.yml' in names and 'meta/execution-environment.yml' in names
    assert 'requirements.txt' in names and 'bindep.txt' in names


def test_ansible_doc_finds_everything_in_the_installed_copy(installed, tmp_path):
    collections_dir = installed[1]
    root = os.path.join(collections_dir, 'ansible_collections', 'huaweicloud', 'kps')
    env = clean_env(collections_dir, str(tmp_path))
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(root, 'plugins', 'modules')) if name.endswith('.py'))
    assert modules == ['kps_failed_task', 'kps_host_keys', 'kps_keypair', 'kps_keypair_info', 'kps_keypair_server',
                       'kps_private_key_export', 'kps_private_key_file', 'kps_private_key_import', 'kps_task_info']
    for module in modules:
        proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-doc'), '--json', 'huaweicloud.kps.' + module],
                              env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        doc = json.loads(proc.stdout)['huaweicloud.kps.' + module]['doc']
        assert doc['filename'].startswith(root)
        auth_options = {'access_key', 'secret_key', 'security_token', 'kps_endpoint', 'validate_certs'}
        if module == 'kps_private_key_file':  # runs on managed hosts and never calls KPS: no connection options
            assert not auth_options & set(doc['options']) and {'path', 'content', 'mode'} <= set(doc['options'])
            continue
        if module == 'kps_host_keys':  # the role's host side: never calls KPS either
            assert not auth_options & set(doc['options']) and {'keys', 'private_keys'} <= set(doc['options'])
            continue
        # The auth doc fragment made it into the module's documentation.
        assert auth_options <= set(doc['options'])
    lookups = sorted(name[:-3] for name in os.listdir(os.path.join(root, 'plugins', 'lookup')) if name.endswith('.py'))
    assert lookups == ['kps_private_key', 'kps_public_key']
    for lookup in lookups:
        fqcn = 'huaweicloud.kps.' + lookup
        proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-doc'), '--json', '-t', 'lookup', fqcn],
                              env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        rendered = json.loads(proc.stdout)[fqcn]
        # The auth fragment with its lookup variant: the options and the variables Ansible reads them from.
        assert auth_options <= set(rendered['doc']['options'])
        assert rendered['doc']['options']['access_key']['env'] == [{'name': 'HUAWEICLOUD_SDK_AK'}, {'name': 'HW_ACCESS_KEY'}]
        assert fqcn in rendered['examples'] and list(rendered['return']) == ['_raw']
    roles_dir = os.path.join(root, 'roles')
    for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-doc'), '-t', 'role', 'huaweicloud.kps.' + role],
                              env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_modules_and_role_run_from_the_installed_copy(installed, emulator, tmp_path):
    collections_dir = installed[1]
    private_key, _public_key = keys.generate('ed25519')
    key_file = tmp_path / 'key.pem'
    key_file.write_text(private_key)
    plays = [{'name': 'installed copy', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'import', 'huaweicloud.kps.kps_private_key_import': {'name': 'installed', 'private_key_path': str(key_file)},
         'register': 'imported'},
        {'name': 'export', 'huaweicloud.kps.kps_private_key_export': {
            'names': ['installed'], 'dest': str(tmp_path / 'out'), 'create_dirs': True}},
        {'name': 'check', 'ansible.builtin.assert': {'that': ['imported is changed']}},
    ]}, {'name': 'installed role', 'hosts': 'localhost', 'roles': [{
        'role': 'huaweicloud.kps.kps_key_distribution',
        'kps_key_distribution_keys': [{'name': 'installed', 'private_key': {'path': str(tmp_path / 'role' / 'id_installed')}}],
    }]}]
    (tmp_path / 'role').mkdir()
    playbook = tmp_path / 'site.yml'
    playbook.write_text(yaml.safe_dump(plays))
    env = dict(clean_env(collections_dir, str(tmp_path / 'tmp')), **emulator.module_env())
    proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-playbook'), str(playbook), '-i', 'localhost,', '-c', 'local'],
                          env=env, capture_output=True, text=True, check=False, cwd=str(tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert not [form for form in secret_forms(emulator.secret_key) | secret_forms(private_key) if form in output]
    for exported in (tmp_path / 'out' / 'installed.pem', tmp_path / 'role' / 'id_installed'):
        assert public_key_of(exported.read_text()) == public_key_of(private_key)
        assert exported.stat().st_mode & 0o777 == 0o600


STAND_IN_MODULE = '''#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(), description=dict(), kind=dict(),
                                              inputs=dict(type='dict'), injectors=dict(type='dict')))
    module.exit_json(changed=False, sent=module.params)


if __name__ == '__main__':
    main()
'''


def test_awx_example_reads_the_credential_type_of_the_installed_copy(installed, tmp_path):
    """docs/awx/README.md's awx.awx.credential_type task, as written, in a playbook run from another directory:
    it finds docs/awx/credential_type.yml in the installed collection and passes its content on (to a stand-in
    for awx.awx.credential_type that returns its arguments)."""
    with open(os.path.join(ROOT, 'docs', 'awx', 'README.md'), encoding='utf-8') as handle:
        [task] = [block for block in re.findall(r'^```yaml\n(.*?)^```$', handle.read(), re.M | re.S)
                  if 'awx.awx.credential_type:' in block]
    stand_in = tmp_path / 'stand-in' / 'ansible_collections' / 'awx' / 'awx'
    (stand_in / 'plugins' / 'modules').mkdir(parents=True)
    (stand_in / 'plugins' / 'modules' / 'credential_type.py').write_text(STAND_IN_MODULE)
    (stand_in / 'galaxy.yml').write_text('namespace: awx\nname: awx\nversion: 1.0.0\n')
    play = ('- name: AWX configuration\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
            + ''.join('    ' + line + '\n' if line else '\n' for line in task.splitlines())
            + '      register: created\n\n'
            + '    - name: Show what was sent\n      ansible.builtin.debug:\n        var: created.sent\n')
    (tmp_path / 'awx.yml').write_text(play)
    env = clean_env(installed[1] + os.pathsep + str(tmp_path / 'stand-in'), str(tmp_path / 'tmp'))
    proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-playbook'), 'awx.yml', '-i', 'localhost,', '-c', 'local'],
                          env=env, capture_output=True, text=True, check=False, cwd=str(tmp_path))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    sent = json.loads(proc.stdout.split('"created.sent": ', 1)[1].split('\n}\n', 1)[0] + '\n')
    with open(os.path.join(installed[1], 'ansible_collections', 'huaweicloud', 'kps', 'docs', 'awx',
                           'credential_type.yml'), encoding='utf-8') as handle:
        assert sent == yaml.safe_load(handle)


def test_kps_keypair_format_renders_as_plain_text(installed, tmp_path):
    """ansible-doc renders the format option's reference to the export's option of the same name as words (an
    O(module#option) reference there read "as the `format' (of module ...) option of ...")."""
    proc = subprocess.run([os.path.join(BIN_DIR, 'ansible-doc'), 'huaweicloud.kps.kps_keypair'],
                          env=clean_env(installed[1], str(tmp_path)), capture_output=True, text=True, check=False)
    text = ' '.join(proc.stdout.split())
    assert proc.returncode == 0 and "as the `format' (of module" not in text, proc.stderr[-2000:]
    assert re.search(r'as the option of the same name of \[?huaweicloud\.kps\.kps_private_key_export\]?\. ', text)
