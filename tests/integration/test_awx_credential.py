# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX custom credential type (docs/awx/credential_type.yml), run the way AWX runs it.

1. The definition passes the checks AWX's API applies to a custom credential type (input and injector
   schemas, env names AWX refuses, templates that may only use defined inputs).
2. The injector env is rendered by ``inject_env`` below, a re-implementation of the env part of AWX's
   ``CredentialType.inject_credential`` (awx/main/models/credential/__init__.py), not AWX's own code: AWX is
   a Django application that does not install or run here. It was written from, and compared line by line
   with, that method: every ``injectors.env`` value is a template rendered in an
   ``ImmutableSandboxedEnvironment`` over the credential's non-empty inputs, so an input that is missing or
   empty renders as ``""``. Left out: the ``tower`` namespace and file injectors (this type uses neither)
   and the trailing newline AWX adds to ``ssh_private_key`` inputs (this type has none). A change in AWX
   is not noticed here.
3. A playbook that uses the modules WITHOUT any credential option runs through ``ansible_runner.run``
   (AWX's engine) with exactly that env in ``env/envvars`` against a fresh emulator, once per login method
   (permanent AK/SK, temporary AK/SK, IAM password); it must succeed and no secret (SK, security token,
   password, private key) may appear in the runner's stdout or in any job event. The site domain input is
   proven by the host name a job with it connects to (through a recording proxy), the ECS endpoint input by a
   job whose kps_keypair_server task (without ecs_endpoint) reads and changes a server of the emulator.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading

import ansible_runner
import jsonschema
import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import ENV_VARS

from integration.harness import secret_forms, start_emulator
from kps_emulator import keys
from kps_emulator.server import DEFAULTS
from kps_emulator.testing import seed_keypairs

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREDENTIAL_TYPE = os.path.join(os.path.dirname(TESTS_DIR), 'docs', 'awx', 'credential_type.yml')
BIN_DIR = os.path.dirname(sys.executable)
SECURITY_TOKEN = 'KPSEmulatorSecurityToken-' + 'x' * 40 + '-ForTestsOnly'
HIDDEN = '**********'

# The JSON schemas of AWX's CredentialTypeInputField / CredentialTypeInjectorField (awx/main/fields.py).
INPUTS_SCHEMA = {
    'type': 'object', 'additionalProperties': False,
    'properties': {
        'required': {'type': 'array', 'items': {'type': 'string'}},
        'fields': {'type': 'array', 'items': {
            'type': 'object', 'additionalProperties': False, 'required': ['id', 'label'],
            'properties': {
                'type': {'enum': ['string', 'boolean']},
                'format': {'enum': ['ssh_private_key', 'url']},
                'choices': {'type': 'array', 'minItems': 1, 'items': {'type': 'string'}, 'uniqueItems': True},
                'id': {'type': 'string', 'pattern': '^[a-zA-Z_]+[a-zA-Z0-9_]*$'},
                'label': {'type': 'string'}, 'help_text': {'type': 'string'},
                'multiline': {'type': 'boolean'}, 'secret': {'type': 'boolean'},
                'ask_at_runtime': {'type': 'boolean'}, 'default': {},
            }}},
    },
}
INJECTORS_SCHEMA = {
    'type': 'object', 'additionalProperties': False,
    'properties': {
        'file': {'type': 'object', 'additionalProperties': False,
                 'patternProperties': {r'^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$': {'type': 'string'}}},
        'env': {'type': 'object', 'additionalProperties': False,
                'patternProperties': {'^[a-zA-Z_]+[a-zA-Z0-9_]*$': {'type': 'string', 'pattern': '^[\x00-\x7F]*$'}}},
        'extra_vars': {'type': 'object', 'additionalProperties': False,
                       'patternProperties': {'^[a-zA-Z_]+[a-zA-Z0-9_]*$': {'type': 'string'}}},
    },
}
# Names AWX refuses in env injectors besides ANSIBLE_* (a subset of awx.main.constants.ENV_BLOCKLIST).
AWX_ENV_BLOCKLIST = {'VIRTUAL_ENV', 'PATH', 'PYTHONPATH', 'JOB_ID', 'INVENTORY_ID', 'INVENTORY_SOURCE_ID',
                     'INVENTORY_UPDATE_ID', 'AD_HOC_COMMAND_ID', 'REST_API_URL', 'REST_API_TOKEN', 'MAX_EVENT_RES',
                     'CALLBACK_QUEUE', 'CALLBACK_CONNECTION', 'CACHE', 'JOB_CALLBACK_DEBUG', 'INVENTORY_HOSTVARS',
                     'AWX_HOST', 'PROJECT_REVISION', 'SUPERVISOR_CONFIG_PATH'}
# What the modules read (plugins/module_utils/_auth.py ENV_VARS) for the inputs this type offers.
EXPECTED_ENV = {'HW_ACCESS_KEY': 'access_key', 'HW_SECRET_KEY': 'secret_key', 'HW_SECURITY_TOKEN': 'security_token',
                'HW_USER_NAME': 'user_name', 'HW_USER_PASSWORD': 'user_password', 'HW_DOMAIN_NAME': 'domain_name',
                'HW_REGION_NAME': 'region', 'HW_CLOUD': 'cloud', 'HW_PROJECT_ID': 'project_id',
                'HW_KPS_ENDPOINT': 'kps_endpoint', 'HW_IAM_ENDPOINT': 'iam_endpoint', 'HW_ECS_ENDPOINT': 'ecs_endpoint'}


def load_credential_type():
    with open(CREDENTIAL_TYPE) as handle:
        return yaml.safe_load(handle)


def secret_fields(credential_type):
    return [field['id'] for field in credential_type['inputs']['fields'] if field.get('secret') is True]


def inject_env(credential_type, inputs):
    """(env, safe_env) as AWX's CredentialType.inject_credential builds them for a custom type's env injectors
    (a re-implementation, see the module docstring).

    Non-empty inputs go into the template namespace (secret ones as '**********' in the safe namespace, which
    is what AWX stores as the job's visible environment); empty or missing inputs are left out, so their
    templates render as "" (jinja2's default Undefined).
    """
    namespace, safe_namespace = {}, {}
    secrets = secret_fields(credential_type)
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe_namespace[name] = value
            continue
        if name in secrets:
            safe_namespace[name] = HIDDEN
        elif len(value):
            safe_namespace[name] = value
        if len(value):
            namespace[name] = value
    for field in credential_type['inputs']['fields']:
        if field.get('type') == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = safe_namespace[field['id']] = False
    sandbox = ImmutableSandboxedEnvironment()
    env, safe_env = {}, {}
    for env_var, template in credential_type['injectors'].get('env', {}).items():
        if env_var.startswith('ANSIBLE_') or env_var in AWX_ENV_BLOCKLIST:
            continue  # AWX logs and skips prohibited names
        env[env_var] = sandbox.from_string(template).render(**namespace)
        safe_env[env_var] = sandbox.from_string(template).render(**safe_namespace)
    return env, safe_env


def test_credential_type_is_accepted_by_awx():
    credential_type = load_credential_type()
    assert set(credential_type) <= {'name', 'description', 'kind', 'inputs', 'injectors'}
    assert credential_type['kind'] in ('cloud', 'net'), 'custom credential types must be cloud or net'
    jsonschema.validate(credential_type['inputs'], INPUTS_SCHEMA)
    jsonschema.validate(credential_type['injectors'], INJECTORS_SCHEMA)
    ids = [field['id'] for field in credential_type['inputs']['fields']]
    assert len(ids) == len(set(ids)) and 'tower' not in ids
    assert set(credential_type['inputs']['required']) <= set(ids)
    for field in credential_type['inputs']['fields']:
        if field.get('type', 'string') != 'string':
            assert not {'choices', 'multiline', 'format', 'secret'} & set(field)
    assert set(secret_fields(credential_type)) == {'secret_key', 'security_token', 'user_password'}
    # Either login method may be used: only the region is always needed.
    assert credential_type['inputs']['required'] == ['region']
    env = credential_type['injectors']['env']
    assert not [name for name in env if name.startswith('ANSIBLE_') or name in AWX_ENV_BLOCKLIST]
    assert env == {
        name: '{{ %s }}' % field for name, field in EXPECTED_ENV.items()}
    # Every variable injected is one the modules read, for the option of the same name: the common options
    # (_auth.ENV_VARS) and kps_keypair_server's own ecs_endpoint (test_job_with_an_ecs_endpoint proves it read).
    read = dict((name, variables[:1]) for name, variables in ENV_VARS.items() if name not in ('auth_token',))
    read['ecs_endpoint'] = ['HW_ECS_ENDPOINT']
    assert {name: [variable] for variable, name in EXPECTED_ENV.items()} == read
    # AWX renders every injector with StrictUndefined over the defined inputs when the type is saved.
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for template in env.values():
        strict.from_string(template).render({field: 'EXAMPLE' for field in ids})


def test_injector_env_for_missing_optional_inputs_is_empty():
    env, safe_env = inject_env(load_credential_type(), {
        'access_key': 'AK', 'secret_key': 'SK-VALUE', 'region': 'ap-southeast-1', 'security_token': ''})
    assert env == {'HW_ACCESS_KEY': 'AK', 'HW_SECRET_KEY': 'SK-VALUE', 'HW_SECURITY_TOKEN': '',
                   'HW_USER_NAME': '', 'HW_USER_PASSWORD': '', 'HW_DOMAIN_NAME': '',
                   'HW_REGION_NAME': 'ap-southeast-1', 'HW_CLOUD': '', 'HW_PROJECT_ID': '', 'HW_KPS_ENDPOINT': '',
                   'HW_IAM_ENDPOINT': '', 'HW_ECS_ENDPOINT': ''}
    # AWX masks a secret input in the stored job environment even when it is empty.
    assert safe_env['HW_SECRET_KEY'] == HIDDEN and safe_env['HW_SECURITY_TOKEN'] == HIDDEN


PLAYBOOK = """\
- name: Job template using the Huawei Cloud KPS credential (no credential options on any task)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: KPS hosts the deploy key
      huaweicloud.kps.kps_private_key_import:
        name: awx-deploy
        private_key_path: "{{ playbook_dir }}/files/deploy.pem"
      register: imported

    - name: The deploy key is exported to a file
      huaweicloud.kps.kps_private_key_export:
        name: awx-deploy
        dest: "{{ output_dir }}/awx-deploy.pem"
      register: exported

    - name: Importing the same key again changes nothing
      huaweicloud.kps.kps_private_key_import:
        name: awx-deploy
        private_key_path: "{{ playbook_dir }}/files/deploy.pem"
      register: again

    - name: Results are as expected
      ansible.builtin.assert:
        that:
          - imported is changed
          - exported is changed
          - again is not changed
"""


def write_private_data_dir(root, awx_env, output_dir, private_key, playbook=PLAYBOOK):
    """An ansible-runner private data dir laid out as AWX lays it out for a job."""
    for sub in ('env', 'inventory', 'project/files'):
        os.makedirs(os.path.join(root, sub))
    tmp = os.path.join(root, 'tmp')
    # What AWX / the execution environment adds next to the credential's env: where the collection and
    # the temporary directories are, and the Python that has requests + cryptography.
    runtime_env = {
        'ANSIBLE_COLLECTIONS_PATH': os.environ['KPS_TEST_COLLECTIONS_DIR'],
        'ANSIBLE_LOCAL_TEMP': tmp,
        'ANSIBLE_REMOTE_TMP': tmp,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        'PATH': BIN_DIR + os.pathsep + os.environ.get('PATH', ''),
    }
    with open(os.path.join(root, 'env', 'envvars'), 'w') as handle:
        yaml.safe_dump(dict(runtime_env, **awx_env), handle)
    with open(os.path.join(root, 'env', 'extravars'), 'w') as handle:
        yaml.safe_dump({'output_dir': output_dir}, handle)
    with open(os.path.join(root, 'inventory', 'hosts'), 'w') as handle:
        handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    with open(os.path.join(root, 'project', 'site.yml'), 'w') as handle:
        handle.write(playbook)
    with open(os.path.join(root, 'project', 'files', 'deploy.pem'), 'w') as handle:
        handle.write(private_key)


def start_job(tmp_path, awx_env, monkeypatch, playbook=PLAYBOOK):
    """Run the job as AWX would, with only ``awx_env`` for credentials: (runner, stdout, root, output_dir, key)."""
    # Only the credential may bring Huawei Cloud settings into the job.
    for name in list(os.environ):
        if name.startswith(('HW_', 'HUAWEICLOUD_')):
            monkeypatch.delenv(name)
    private_key, _public_key = keys.generate('ed25519')
    root, output_dir = str(tmp_path / 'private_data_dir'), str(tmp_path / 'out')
    os.makedirs(output_dir)
    write_private_data_dir(root, awx_env, output_dir, private_key, playbook)
    runner = ansible_runner.run(private_data_dir=root, playbook='site.yml', quiet=True, timeout=300)
    return runner, runner.stdout.read(), root, output_dir, private_key


def run_job(tmp_path, awx_env, secrets, monkeypatch):
    runner, stdout, root, output_dir, private_key = start_job(tmp_path, awx_env, monkeypatch)
    events = list(runner.events)
    leak_forms = set()
    for secret in list(secrets) + [private_key]:
        leak_forms.update(secret_forms(secret))
    assert runner.status == 'successful' and runner.rc == 0, stdout[-5000:]
    assert runner.stats['failures'] == {} and runner.stats['changed'] == {'localhost': 2}, runner.stats
    assert not [form for form in leak_forms if form in stdout], 'a secret appears in the runner stdout'
    for event in events:
        text = json.dumps(event)
        assert not [form for form in leak_forms if form in text], 'a secret appears in job event %s' % event.get('event')
    # The same check on the job event files AWX's callback receiver would read.
    events_dir = os.path.join(root, 'artifacts', runner.config.ident, 'job_events')
    for name in os.listdir(events_dir):
        with open(os.path.join(events_dir, name)) as handle:
            text = handle.read()
        assert not [form for form in leak_forms if form in text], 'a secret appears in %s' % name
    assert [event for event in events if event.get('event') == 'runner_on_ok'
            and event['event_data'].get('task', '').startswith('KPS hosts')]
    exported = os.path.join(output_dir, 'awx-deploy.pem')
    assert oct(os.stat(exported).st_mode & 0o777) == '0o600'
    return events


@pytest.mark.parametrize('with_project_id', [True, False], ids=['project-id', 'project-id-looked-up'])
def test_job_with_permanent_access_key(emulator, tmp_path, monkeypatch, with_project_id):
    env, _safe_env = inject_env(load_credential_type(), {
        'access_key': emulator.access_key, 'secret_key': emulator.secret_key, 'security_token': '',
        'region': emulator.region, 'project_id': emulator.project_id if with_project_id else '',
        'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url})
    assert env['HW_SECURITY_TOKEN'] == '' and (env['HW_PROJECT_ID'] == '') is not with_project_id
    run_job(tmp_path, env, [emulator.secret_key], monkeypatch)
    log = emulator.requests()
    assert log and {entry['auth'] for entry in log if entry['call'] != 'iam_token'} == {'aksk'}
    assert bool([entry for entry in log if entry['call'] == 'iam_projects']) is not with_project_id


def test_job_with_temporary_credentials(tmp_path, monkeypatch):
    (tmp_path / 'emulator').mkdir()
    with start_emulator(tmp_path / 'emulator', args=['--security-token', SECURITY_TOKEN]) as emulator:
        env, safe_env = inject_env(load_credential_type(), {
            'access_key': DEFAULTS['temp_access_key'], 'secret_key': DEFAULTS['temp_secret_key'],
            'security_token': SECURITY_TOKEN, 'region': emulator.region, 'project_id': emulator.project_id,
            'kps_endpoint': emulator.url})
        assert env['HW_IAM_ENDPOINT'] == '' and env['HW_SECURITY_TOKEN'] == SECURITY_TOKEN
        assert SECURITY_TOKEN not in json.dumps(safe_env) and DEFAULTS['temp_secret_key'] not in json.dumps(safe_env)
        run_job(tmp_path, env, [DEFAULTS['temp_secret_key'], SECURITY_TOKEN], monkeypatch)
        log = emulator.requests()
        assert log and {entry['auth'] for entry in log} == {'temporary'}


def test_job_fails_cleanly_with_a_wrong_secret_key(emulator, tmp_path, monkeypatch):
    """A wrong SK fails the job with the gateway's error code, and the wrong SK is not shown either."""
    wrong = 'WrongSecretKeyValue' + 'z' * 21
    env, _safe_env = inject_env(load_credential_type(), {
        'access_key': emulator.access_key, 'secret_key': wrong, 'region': emulator.region,
        'project_id': emulator.project_id, 'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url})
    runner, stdout, _root, _output_dir, private_key = start_job(tmp_path, env, monkeypatch)
    assert runner.status == 'failed', stdout[-3000:]
    assert re.search(r'APIGW\.0301', stdout), stdout[-3000:]
    text = stdout + ''.join(json.dumps(event) for event in runner.events)
    assert not [form for form in secret_forms(wrong) | secret_forms(private_key) if form in text]


def test_job_with_iam_password_login(emulator, tmp_path, monkeypatch):
    """The password login inputs: the job logs in at IAM with them (no AK/SK anywhere), and the password shows
    nowhere, neither in the stored job environment nor in the job's output or events."""
    env, safe_env = inject_env(load_credential_type(), {
        'user_name': DEFAULTS['user'], 'user_password': DEFAULTS['password'], 'domain_name': DEFAULTS['domain'],
        'region': emulator.region, 'kps_endpoint': emulator.url, 'iam_endpoint': emulator.url})
    assert env['HW_ACCESS_KEY'] == env['HW_SECRET_KEY'] == '' and env['HW_USER_PASSWORD'] == DEFAULTS['password']
    assert safe_env['HW_USER_PASSWORD'] == HIDDEN
    run_job(tmp_path, env, [DEFAULTS['password']], monkeypatch)
    log = emulator.requests()
    assert [entry for entry in log if entry['call'] == 'iam_token']
    assert {entry['auth'] for entry in log if entry['call'] != 'iam_token'} == {'token'}


class ConnectRecorder(threading.Thread):
    """An HTTPS proxy on this machine that records the host of each CONNECT and refuses it."""

    def __init__(self):
        super().__init__(daemon=True)
        self.server = socket.create_server(('127.0.0.1', 0))
        self.url = 'http://127.0.0.1:%d' % self.server.getsockname()[1]
        self.hosts = []

    def run(self):
        while True:
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(4096).decode('latin-1')
                self.hosts.append(request.split(' ')[1] if request.startswith('CONNECT ') else request[:50])
                conn.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')


def test_job_with_a_site_domain(tmp_path, monkeypatch):
    """The site domain input (HW_CLOUD) builds the endpoints the job calls: kms.REGION.SITE."""
    proxy = ConnectRecorder()
    proxy.start()
    try:
        env, _safe_env = inject_env(load_credential_type(), {
            'access_key': DEFAULTS['access_key'], 'secret_key': DEFAULTS['secret_key'], 'region': 'eu-west-101',
            'cloud': 'myhuaweicloud.eu', 'project_id': DEFAULTS['project_id']})
        assert env['HW_CLOUD'] == 'myhuaweicloud.eu' and env['HW_KPS_ENDPOINT'] == ''
        runner, stdout, _root, _output_dir, _private_key = start_job(
            tmp_path, dict(env, HTTPS_PROXY=proxy.url), monkeypatch)
    finally:
        proxy.server.close()
    assert runner.status == 'failed', stdout[-3000:]
    assert proxy.hosts and set(proxy.hosts) == {'kms.eu-west-101.myhuaweicloud.eu:443'}, proxy.hosts


ECS_PLAYBOOK = """\
- name: Job template that puts a key pair on a stopped ECS server (no credential or endpoint option on the task)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Key pair awx-0000 on server awx-db
      huaweicloud.kps.kps_keypair_server:
        name: awx-0000
        servers: [awx-db]
      register: bound

    - name: Results are as expected
      ansible.builtin.assert:
        that:
          - bound is changed
          - bound.servers[0].name == 'db-1' and bound.servers[0].task_status == 'SUCCESS_RESET'
"""


def test_job_with_an_ecs_endpoint(emulator, tmp_path, monkeypatch):
    """The ECS endpoint input (HW_ECS_ENDPOINT) is where kps_keypair_server reads the servers: without it the
    module would call https://ecs.REGION.myhuaweicloud.com, which this machine cannot reach."""
    seed_keypairs(emulator.client(), 1, prefix='awx-', hosted=False)
    emulator.add_servers({'id': 'awx-db', 'name': 'db-1', 'status': 'SHUTOFF'})
    env, _safe_env = inject_env(load_credential_type(), {
        'access_key': emulator.access_key, 'secret_key': emulator.secret_key, 'region': emulator.region,
        'project_id': emulator.project_id, 'kps_endpoint': emulator.url, 'ecs_endpoint': emulator.url})
    assert env['HW_ECS_ENDPOINT'] == emulator.url
    runner, stdout, _root, _output_dir, _private_key = start_job(tmp_path, env, monkeypatch, ECS_PLAYBOOK)
    assert runner.status == 'successful' and runner.rc == 0, stdout[-5000:]
    assert runner.stats['changed'] == {'localhost': 1}, runner.stats
    assert emulator.server('awx-db')['key_name'] == 'awx-0000'
    assert [entry['call'] for entry in emulator.requests() if entry['call'] == 'ecs_show_server'] == ['ecs_show_server']
    assert emulator.secret_key not in stdout
