# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real ``ansible-playbook`` / ``ansible`` processes against the KPS emulator.

Every run goes through :class:`AnsibleRunner`, which knows the secrets of the run and fails the test when
one shows up in what the run shows or records. The secrets are: the emulator's SK and password, every value
of the extra vars whose name says it is secret, whatever a test registers (``add_secret``), every private
key the emulator hosts after the run, and any IAM token the emulator issues (recognised by its form). Private
keys are known in every encoding (PEM PKCS#1/PKCS#8, OpenSSH, each body line, base64 of the whole text at
every alignment), minus the parts that are also in the public key. What is checked: stdout and stderr (so
warnings, diffs and, at ``-v`` and more, results and module invocations) and, through the test callback
``kps_result_log`` (tests/integration/plugins/callback), every task and item result, warning and diff of the
run whatever the verbosity.
"""
from __future__ import annotations

import base64
import glob
import json
import os
import re
import signal
import subprocess
import sys
import warnings
from urllib.parse import quote

import yaml

from ansible_env import environment
from kps_emulator.keys import Vault
from kps_emulator.testing import DEFAULTS, EmulatorProcess, seed_keypairs

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS_DIR = os.path.join(TESTS_DIR, 'integration', 'targets')
BIN_DIR = os.path.dirname(sys.executable)
PLUGINS_DIR = os.path.join(TESTS_DIR, 'integration', 'plugins')
# IAM tokens the emulator issues ('MIIemulator' + 64 url-safe characters): a run must never show one.
TOKEN_RE = re.compile(r'MIIemulator[A-Za-z0-9_-]{16,}')
# Extra vars whose values are secrets, by name.
SECRET_VAR_RE = re.compile(r'secret|password|passphrase|token|private_key', re.IGNORECASE)
NOT_SECRET_VAR_RE = re.compile(r'(_path|_dir|_file|_url|_name)$', re.IGNORECASE)
# Printed by tests/integration/conftest.py at the end of the pytest run: (title, [lines]) per report.
REPORTS = []


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
        'kps_tests_dir': TESTS_DIR,  # the emulator's package, for the targets' seeding scripts
    }


# Module options (module_defaults of the action group, or a role's auth variable) that reach and authenticate to
# the emulator through the extra vars of module_vars().
CONNECTION = {
    'kps_endpoint': '{{ kps_emulator_url }}',
    'iam_endpoint': '{{ kps_emulator_url }}',
    'access_key': '{{ kps_access_key }}',
    'secret_key': '{{ kps_secret_key }}',
    'region': '{{ kps_region }}',
    'project_id': '{{ kps_project_id }}',
}


def emulator_secrets(emulator):
    return [emulator.secret_key, DEFAULTS['password']]


def _base64_forms(data):
    """base64 of ``data`` wherever it starts in a longer encoded text (3 alignments), without the edge chars."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b'\0' * shift + data).decode()
        start = 4 if shift else 0
        end = len(encoded) - (4 if (shift + len(data)) % 3 else 0)
        forms.add(encoded[start:end])
    return forms


def secret_forms(secret):
    """The ways a secret can leak: as given, each PEM body line, and base64/JSON/URL-escaped forms."""
    secret = secret.strip()
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe='')}
    forms.update(_base64_forms(secret.encode()))
    if '-----BEGIN' in secret:
        body = [line for line in secret.splitlines() if line and not line.startswith('-----') and ':' not in line]
        forms.update(line for line in body if len(line) >= 16)
        forms.add(''.join(body))
    return {form for form in forms if len(form) >= 8}


def private_key_forms(secret, passphrase=None):
    """secret_forms of a private key in every encoding a module could produce, minus its public parts.

    Returns None when ``secret`` is not a private key cryptography can read.
    """
    # cryptography is a test dependency; imported here so that the harness imports without it.
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    data = secret.encode() if isinstance(secret, str) else secret
    password = passphrase.encode() if isinstance(passphrase, str) else passphrase
    try:
        if b'OPENSSH PRIVATE KEY' in data:
            key = serialization.load_ssh_private_key(data, password=password)
        else:
            key = serialization.load_pem_private_key(data, password=password, unsafe_skip_rsa_key_validation=True)
    except Exception:  # pylint: disable=broad-exception-caught
        return None
    encodings = [secret if isinstance(secret, str) else secret.decode('utf-8', 'replace')]
    none = serialization.NoEncryption()
    for encoding, fmt in ((serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
                          (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
                          (serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')  # e.g. "SSH DSA key support is deprecated"
                encodings.append(key.private_bytes(encoding, fmt, none).decode())
        except (ValueError, TypeError):
            pass  # e.g. Ed25519 has no "traditional" form
    public = key.public_key()
    public_texts = []
    for encoding, fmt in ((serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
                          (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)):
        try:
            public_texts.append(public.public_bytes(encoding, fmt).decode())
        except (ValueError, TypeError):
            pass  # e.g. a 2048-bit DSA key has no OpenSSH form
    forms = set()
    for text in encodings:
        forms.update(secret_forms(text))
    # Lines or chunks that are part of the public key are not secret: the modules rightly return public keys.
    return {form for form in forms if not any(form in text for text in public_texts)}


class SecretLeak(AssertionError):
    pass


def _descendants(root):
    """Process ids below ``root`` (Linux /proc)."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                stat_line = handle.read()
        except OSError:
            continue
        ppid = int(stat_line.rsplit(')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal(pid, signum):
    try:
        if pid < 0:
            os.killpg(-pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def find_leaks(secrets, text):
    """The secret forms that occur in ``text`` (an index of 8-char prefixes keeps many forms fast)."""
    if len(secrets) < 300:
        return [form for form in secrets if form in text]
    index = {}
    for form in secrets:
        index.setdefault(form[:8], []).append(form)
    leaked = set()
    get = index.get
    for position in range(len(text) - 7):
        candidates = get(text[position:position + 8])
        if candidates:
            leaked.update(form for form in candidates if text.startswith(form, position))
    return sorted(leaked)


class AnsibleRunner:
    """Runs ansible processes with a clean, isolated environment and checks their output for secrets.

    ``guard_emulator_keys``: after each run, also treat every private key the emulator hosts as a secret
    (one listing per run, and one control call per key pair not seen before or changed since).
    """

    guard_emulator_keys = True

    def __init__(self, emulator, workdir):
        self.emulator = emulator
        self.workdir = str(workdir)
        self.secrets = set()
        self._emulator_keys = {}
        self._key_files = {}
        self._passphrases = []  # of every *passphrase* file seen: a key file written later may need one
        self._runs = 0
        for secret in emulator_secrets(emulator):
            self.add_secret(secret)

    def add_secret(self, secret, passphrase=None):
        """Register a secret. A private key (PEM or OpenSSH; ``passphrase`` if encrypted) is registered in
        every encoding, minus the parts it shares with its public key."""
        if not secret:
            return
        forms = private_key_forms(secret, passphrase) if 'PRIVATE KEY' in secret else None
        self.secrets.update(secret_forms(secret) if forms is None else forms)

    def _add_emulator_keys(self):
        """Register the private keys the emulator hosts now, read from its state file (no request is logged).

        Each sealed key is decrypted once (cached by its ciphertext).
        """
        state_file = getattr(self.emulator, 'state_file', None)
        if not self.guard_emulator_keys or not state_file or not os.path.exists(state_file):
            return
        with open(state_file, encoding='utf-8') as handle:
            state = json.load(handle)
        vault = None
        for name, record in (state.get('keypairs') or {}).items():
            sealed = record.get('sealed_private_key')
            if not sealed or self._emulator_keys.get(name) == sealed:
                continue
            if vault is None:
                vault = Vault(state.get('vault_key'))
            self._emulator_keys[name] = sealed
            self.add_secret(vault.open(name, record.get('encryption') or {}, sealed))

    def _add_key_files(self):
        """Register the private keys and passphrases the run left in its work dir (keys a target generated,
        exported or installed, and files named ``*passphrase*``), so that targets need no registration."""
        keys, passphrases = [], self._passphrases
        for root, _dirs, files in os.walk(self.workdir):
            for name in files:
                path = os.path.join(root, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                if stat.st_size > 65536 or self._key_files.get(path) == stat.st_mtime_ns:
                    continue
                self._key_files[path] = stat.st_mtime_ns
                with open(path, 'rb') as handle:
                    data = handle.read().decode('utf-8', 'replace')
                if 'passphrase' in name:
                    passphrases.append(data.strip())
                elif data.startswith('-----BEGIN') and 'PRIVATE KEY-----' in data:
                    keys.append(data)
        for passphrase in passphrases:
            self.add_secret(passphrase)
        for key in keys:  # decrypted with any passphrase seen so far
            forms = [private_key_forms(key, passphrase) for passphrase in [None] + passphrases]
            self.secrets.update(next((found for found in forms if found is not None), secret_forms(key)))

    def seed_hosted(self, count, prefix):
        """``count`` key pairs whose private keys the emulator hosts, registered as secrets, and a cleared
        request log: {name: private PEM}."""
        made = seed_keypairs(self.emulator.client(), count, prefix=prefix)
        for private in made.values():
            self.add_secret(private)
        self.emulator.clear_requests()
        return made

    @property
    def extra_vars(self):
        return dict(module_vars(self.emulator), output_dir=self.workdir)

    def env(self, extra=None):
        self._runs += 1
        settings = {
            # The guard's own callback records every result, warning and diff; see check_results().
            'ANSIBLE_CALLBACK_PLUGINS': os.path.join(PLUGINS_DIR, 'callback'),
            'ANSIBLE_CALLBACKS_ENABLED': 'kps_result_log',
            'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
            'KPS_RESULT_LOG': os.path.join(self.workdir, '.kps-result-log-%d.jsonl' % self._runs),
            'ANSIBLE_ACTION_PLUGINS': os.path.join(PLUGINS_DIR, 'action'),
            'ANSIBLE_ROLES_PATH': TARGETS_DIR,
        }
        settings.update(extra or {})
        return environment(os.path.join(self.workdir, '.ansible-tmp'), extra=settings)

    def check_no_secret(self, text, where='the output'):
        leaked = find_leaks(self.secrets, text)
        tokens = TOKEN_RE.findall(text)
        if leaked or tokens:
            raise SecretLeak('a secret of this run appears in %s (%d forms, %d IAM tokens)'
                             % (where, len(leaked), len(tokens)))

    def check_results(self, env):
        """Check what the kps_result_log callback recorded (every result, warning and diff), then drop it."""
        path = env.get('KPS_RESULT_LOG')
        for name in sorted(glob.glob(path)) if path else []:
            with open(name) as handle:
                text = handle.read()
            os.unlink(name)
            self.check_no_secret(text, 'the results, warnings or diffs of the run')

    def check_run(self, env, stdout, stderr):
        """The whole guard for one finished (or killed) run."""
        self._add_emulator_keys()
        self._add_key_files()
        self.check_no_secret(stdout + stderr)
        self.check_results(env)

    def _run(self, argv, env=None, check=True, timeout=600):
        run_env = self.env(env)
        proc = subprocess.run(argv, cwd=self.workdir, env=run_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        self.check_run(run_env, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError('%s failed (rc=%d)\nSTDOUT:\n%s\nSTDERR:\n%s'
                                 % (' '.join(argv[:2]), proc.returncode, proc.stdout[-20000:], proc.stderr[-5000:]))
        return proc

    def _playbook_argv(self, playbook, args, extra_vars, inventory):
        if not isinstance(playbook, str):
            path = os.path.join(self.workdir, 'playbook-%d.yml' % len(os.listdir(self.workdir)))
            with open(path, 'w') as handle:
                yaml.safe_dump(playbook, handle)
            playbook = path
        vars_file = self._vars_file(extra_vars)
        argv = [os.path.join(BIN_DIR, 'ansible-playbook'), playbook]
        argv += ['-i', inventory] if inventory else ['-i', 'localhost,', '-c', 'local']
        return argv + ['-e', '@' + vars_file] + list(args)

    def playbook(self, playbook, *args, env=None, check=True, extra_vars=None, timeout=600, inventory=None):
        """Run a playbook (a path, or a list of plays written to a temp file).

        ``inventory``: an inventory path instead of ``localhost`` with the local connection.
        """
        argv = self._playbook_argv(playbook, args, extra_vars, inventory)
        return self._run(argv, env=env, check=check, timeout=timeout)

    def spawn_playbook(self, playbook, *args, env=None, extra_vars=None, inventory=None):
        """Start a playbook in its own process group and return (Popen, env); stdout/stderr go to files.

        Finish with ``finish(proc, env)`` (which runs the secret guard), after it exits or ``kill(proc)``.
        """
        argv = self._playbook_argv(playbook, args, extra_vars, inventory)
        run_env = self.env(env)
        out = open(os.path.join(self.workdir, '.spawned-%d.out' % self._runs), 'w+')  # pylint: disable=consider-using-with
        err = open(os.path.join(self.workdir, '.spawned-%d.err' % self._runs), 'w+')  # pylint: disable=consider-using-with
        proc = subprocess.Popen(argv, cwd=self.workdir, env=run_env, stdout=out, stderr=err, text=True,  # pylint: disable=consider-using-with
                                start_new_session=True)
        proc.kps_files = (out, err)
        return proc, run_env

    @staticmethod
    def kill(proc):
        """SIGKILL a spawned playbook with every process below it (its workers and the module, which the
        local connection starts in a session of its own): all are stopped first, so none can act after the
        first one is killed."""
        found = set()
        while True:
            tree = _descendants(proc.pid) | {proc.pid}
            for pid in tree - found:
                _signal(pid, signal.SIGSTOP)
            if tree <= found:
                break
            found |= tree
        for pid in found:
            _signal(pid, signal.SIGKILL)
        _signal(-proc.pid, signal.SIGKILL)

    def finish(self, proc, env, timeout=600):
        """Wait for a spawned playbook, run the secret guard on everything it wrote; returns (rc, stdout, stderr)."""
        proc.wait(timeout)
        texts = []
        for handle in proc.kps_files:
            handle.seek(0)
            texts.append(handle.read())
            handle.close()
        self.check_run(env, texts[0], texts[1])
        return proc.returncode, texts[0], texts[1]

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
        data = dict(self.extra_vars, **(extra_vars or {}))
        self._add_secret_vars(data)
        with open(path, 'w') as handle:
            json.dump(data, handle)
        return path

    def _add_secret_vars(self, data, secret=False):
        """Register the values of extra vars whose names say they are secret (at any depth)."""
        if isinstance(data, dict):
            for key, value in data.items():
                self._add_secret_vars(value, secret or bool(SECRET_VAR_RE.search(str(key)) and not NOT_SECRET_VAR_RE.search(str(key))))
        elif isinstance(data, (list, tuple)):
            for value in data:
                self._add_secret_vars(value, secret)
        elif secret and isinstance(data, str) and len(data) >= 8 and '{{' not in data:
            self.add_secret(data)


def run_tasks(ansible, tasks, *args, env=None, module_defaults=None):
    """Run ``tasks`` in one play on localhost (errors ignored); each task registers ``r<index>``. Returns the
    registered results, in order. ``module_defaults`` of the action group: CONNECTION unless given."""
    result_file = os.path.join(ansible.workdir, 'results.json')
    plays = []
    for index, task in enumerate(tasks):
        plays.append(dict(task, register='r%d' % index, ignore_errors=True))
    keep = '{{ {%s} | to_json }}' % ', '.join("'r%d': r%d" % (index, index) for index in range(len(tasks)))
    plays.append({'name': 'keep the results', 'check_mode': False,
                  'ansible.builtin.copy': {'content': keep, 'dest': result_file, 'mode': '0600'}})
    defaults = CONNECTION if module_defaults is None else module_defaults
    ansible.playbook([{'name': 'tasks', 'hosts': 'localhost', 'gather_facts': False,
                       'module_defaults': {'group/huaweicloud.kps.kps': defaults}, 'tasks': plays}], *args, env=env)
    with open(result_file) as handle:
        results = json.load(handle)
    os.unlink(result_file)
    return [results['r%d' % index] for index in range(len(tasks))]


def exported_text(private, fmt='openssh'):
    """What kps_private_key_export writes or returns for a private key that KPS holds: its own serialisation
    of the parsed key in ``fmt`` (the module's default: the OpenSSH format), never KPS's bytes."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
        load_private_key,
    )
    return load_private_key(private).private_text(fmt)


def public_key_of(private):
    """'<type> <base64>' of a private key in any format the modules read or write (PEM or OpenSSH)."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (  # pylint: disable=import-outside-toplevel
        load_private_key,
    )
    return load_private_key(private).public_key
