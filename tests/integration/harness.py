# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real ``ansible-playbook`` / ``ansible`` processes against the KPS emulator.

Every run goes through :class:`AnsibleRunner`, which knows the secrets of the run (the emulator's SK and
password, plus whatever a test registers) and fails the test when one shows up in the output.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import yaml

from kps_emulator.testing import DEFAULTS, EmulatorProcess

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS_DIR = os.path.join(TESTS_DIR, 'integration', 'targets')
BIN_DIR = os.path.dirname(sys.executable)


def start_emulator(workdir, **flags):
    return EmulatorProcess(state_file=os.path.join(str(workdir), 'state.json'), **flags)


def module_vars(emulator):
    """The extra vars every target gets: how to reach and authenticate to this emulator."""
    return {
        'kps_emulator_url': emulator.url,
        'kps_access_key': emulator.access_key,
        'kps_secret_key': emulator.secret_key,
        'kps_project_id': emulator.project_id,
        'kps_region': emulator.region,
        'kps_domain_name': DEFAULTS['domain'],
        'kps_user_name': DEFAULTS['user'],
        'kps_user_password': DEFAULTS['password'],
    }


def emulator_secrets(emulator):
    return [emulator.secret_key, DEFAULTS['password']]


def secret_forms(secret):
    """The ways a secret can leak: as given, each PEM body line, and base64/JSON-escaped forms."""
    secret = secret.strip()
    forms = {secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()}
    if '-----BEGIN' in secret:
        body = [line for line in secret.splitlines() if line and not line.startswith('-----')]
        forms.update(line for line in body if len(line) >= 16)
        forms.add(''.join(body))
    return {form for form in forms if len(form) >= 8}


class SecretLeak(AssertionError):
    pass


class AnsibleRunner:
    """Runs ansible processes with a clean, isolated environment and checks their output for secrets."""

    def __init__(self, emulator, workdir):
        self.emulator = emulator
        self.workdir = str(workdir)
        self.secrets = set()
        for secret in emulator_secrets(emulator):
            self.add_secret(secret)

    def add_secret(self, secret):
        if secret:
            self.secrets.update(secret_forms(secret))

    @property
    def extra_vars(self):
        return dict(module_vars(self.emulator), output_dir=self.workdir)

    def env(self, extra=None):
        env = {key: value for key, value in os.environ.items() if not key.startswith(('HW_', 'HUAWEICLOUD_', 'ANSIBLE_'))}
        tmp = os.path.join(self.workdir, '.ansible-tmp')
        env.update({
            'PATH': BIN_DIR + os.pathsep + env.get('PATH', ''),
            'ANSIBLE_COLLECTIONS_PATH': os.environ['KPS_TEST_COLLECTIONS_DIR'],
            'ANSIBLE_ROLES_PATH': TARGETS_DIR,
            'ANSIBLE_REMOTE_TMP': tmp,
            'ANSIBLE_LOCAL_TEMP': tmp,
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_DEPRECATION_WARNINGS': 'False',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        })
        env.update(extra or {})
        return env

    def check_no_secret(self, text):
        leaked = [form for form in self.secrets if form in text]
        if leaked:
            raise SecretLeak('a secret of this run appears in the output (%d forms)' % len(leaked))

    def _run(self, argv, env=None, check=True, timeout=600):
        proc = subprocess.run(argv, cwd=self.workdir, env=self.env(env), capture_output=True, text=True,
                              timeout=timeout, check=False)
        self.check_no_secret(proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError('%s failed (rc=%d)\nSTDOUT:\n%s\nSTDERR:\n%s'
                                 % (' '.join(argv[:2]), proc.returncode, proc.stdout[-20000:], proc.stderr[-5000:]))
        return proc

    def playbook(self, playbook, *args, env=None, check=True, extra_vars=None, timeout=600):
        """Run a playbook (a path, or a list of plays written to a temp file)."""
        if not isinstance(playbook, str):
            path = os.path.join(self.workdir, 'playbook-%d.yml' % len(os.listdir(self.workdir)))
            with open(path, 'w') as handle:
                yaml.safe_dump(playbook, handle)
            playbook = path
        vars_file = self._vars_file(extra_vars)
        argv = [os.path.join(BIN_DIR, 'ansible-playbook'), playbook, '-i', 'localhost,', '-c', 'local',
                '-e', '@' + vars_file] + list(args)
        return self._run(argv, env=env, check=check, timeout=timeout)

    def target(self, name, *args, **kwargs):
        """Run an integration target (a role under tests/integration/targets) on localhost."""
        play = [{'name': 'integration target %s' % name, 'hosts': 'localhost', 'gather_facts': False,
                 'roles': [name]}]
        return self.playbook(play, *args, **kwargs)

    def adhoc(self, module, module_args, *args, env=None, check=True):
        argv = [os.path.join(BIN_DIR, 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
                '-m', module, '-a', module_args] + list(args)
        return self._run(argv, env=env, check=check)

    def _vars_file(self, extra_vars):
        path = os.path.join(self.workdir, 'extra-vars.json')
        with open(path, 'w') as handle:
            json.dump(dict(self.extra_vars, **(extra_vars or {})), handle)
        return path
