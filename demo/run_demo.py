# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the whole story of huaweicloud.kps, end to end, against the local KPS emulator.

1. start the emulator; 2. generate test keys; 3. start hosts (SSH hosts in network namespaces as root,
otherwise ``ansible_connection: local`` hosts with their own directories); 4. run demo/demo.yml; 5. prove
the distributed keys work; 6. run demo/demo.yml again (must report changed=0); 7. rotate the deploy key pair
with demo/rotate.yml (check mode, real run, proof, repeat run: changed=0); 8. stop everything (also on failure
or Ctrl-C) and print a summary. Exit code 0 only if every step worked.

    python demo/run_demo.py [--workdir DIR] [--hosts auto|ssh|local]

The work dir (default ``demo-output/``, or ``$KPS_DEMO_WORKDIR``) is emptied first; it keeps the emulator's
state, the generated and exported keys, the inventory, the logs of every run and what the hosts held after the
rotation (``hosts-after-rotation.json``) afterwards.
"""
from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

DEMO_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DEMO_DIR)
sys.path.insert(0, os.path.join(REPO, 'tests'))

from ansible_env import environment, link_collection  # noqa: E402  pylint: disable=wrong-import-position
from integration import ssh_hosts  # noqa: E402  pylint: disable=wrong-import-position
from kps_emulator.testing import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(DEMO_DIR, 'demo.yml')
ROTATE = os.path.join(DEMO_DIR, 'rotate.yml')
# The key pair rotate.yml rotates, and its new name (fixed for every run of the demo's rotation: a repeat run
# must use the same name, docs/rotation.md).
OLD_KEY = 'deploy'
NEW_KEY = 'deploy-' + time.strftime('%Y-%m')
MARKER = '.kps-demo'
GROUP = 'demo_hosts'
HOST_COUNT = 3
FLEET = ['fleet-%02d' % index for index in range(1, 13)]
DISTRIBUTED = ('web', 'backup', 'deploy')
RECAP_RE = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
ANSI_RE = re.compile(r'\x1b\[[0-9;]*m')
WRITE_CALLS = ('create_keypair', 'update_keypair', 'delete_keypair', 'import_private_key', 'clear_private_key')
# The playbook runs, in order: the name of their log file (RUN.log) and their label in the summary.
RUN_LABELS = (('run-1', 'Run 1'), ('run-2', 'Run 2'), ('rotate-check', 'Rotation plan'), ('rotate', 'Rotation run'),
              ('rotate-again', 'Rotation again'))
EXPORT_CALLS = ('export_private_key', 'batch_export_private_keys')


class DemoError(Exception):
    """A step failed; the message says which and why."""


def _sigterm(signum, _frame):
    raise SystemExit(128 + signum)  # run the finally blocks: stop the emulator, tear down the hosts


# ----- output ------------------------------------------------------------------------------------------------

class Story:
    """Numbered step headers, elapsed time, and the list of problems that make the demo fail."""

    def __init__(self, steps):
        self.steps = steps
        self.number = 0
        self.start = time.monotonic()
        self.problems = []

    def step(self, title):
        self.number += 1
        print('\n== %d/%d %s  [%.0f s]' % (self.number, self.steps, title, time.monotonic() - self.start),
              flush=True)

    @staticmethod
    def say(text=''):
        print(text, flush=True)

    def problem(self, text):
        self.problems.append(text)
        print('PROBLEM: ' + text, flush=True)


def rel(path):
    """A path as a person would type it from the repository root."""
    relative = os.path.relpath(path, REPO)
    return path if relative.startswith('..') else relative


def mode_of(path):
    return '%04o' % stat.S_IMODE(os.stat(path).st_mode)


# ----- keys --------------------------------------------------------------------------------------------------

def _write_secret(path, data):
    """Write a file that is 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)


def _all_forms(key):
    """Every unencrypted serialization of a private key: what a leak in the output could look like."""
    forms = []
    for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8,
                serialization.PrivateFormat.OpenSSH):
        with contextlib.suppress(ValueError):
            forms.append(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode())
    return forms


def public_key_of(private_pem):
    """The OpenSSH public key line ('TYPE BASE64') of an unencrypted private key (PEM or the OpenSSH format,
    which the export and the role write by default)."""
    if 'OPENSSH PRIVATE KEY' in private_pem:
        key = serialization.load_ssh_private_key(private_pem.encode(), password=None)
    else:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def fingerprint_of(private_pem):
    """KPS's fingerprint (MD5 of the public key blob, colon separated) of an unencrypted private key."""
    line = public_key_of(private_pem)
    digest = hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()  # nosec: the format KPS reports
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate_keys(keys_dir):
    """Write the demo's private keys; returns (description lines, secrets that must never be printed)."""
    os.makedirs(os.path.join(keys_dir, 'fleet'), mode=0o700)
    passphrase = secrets.token_urlsafe(18)
    web = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    backup = ec.generate_private_key(ec.SECP256R1())
    _write_secret(os.path.join(keys_dir, 'web.pem'), web.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    encrypted = backup.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.BestAvailableEncryption(passphrase.encode()))
    _write_secret(os.path.join(keys_dir, 'backup.pem'), encrypted)
    _write_secret(os.path.join(keys_dir, 'backup.passphrase'), passphrase.encode())
    hidden = [passphrase, encrypted.decode()] + _all_forms(web) + _all_forms(backup)
    for name in FLEET:
        key = ed25519.Ed25519PrivateKey.generate()
        _write_secret(os.path.join(keys_dir, 'fleet', name), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
        hidden += _all_forms(key)
    lines = [
        '%s  RSA 2048, unencrypted PEM (PKCS#1), %s' % (rel(os.path.join(keys_dir, 'web.pem')), '0600'),
        '%s  ECDSA P-256, PEM encrypted with the passphrase in backup.passphrase, 0600'
        % rel(os.path.join(keys_dir, 'backup.pem')),
        '%s/fleet-01 .. fleet-12  Ed25519, OpenSSH format, 0600 each' % rel(os.path.join(keys_dir, 'fleet')),
    ]
    return lines, hidden


def secret_forms(texts):
    """The strings whose presence in the output would be a leak: whole secrets and each PEM body line."""
    forms = set()
    for text in texts:
        text = text.strip()
        if '-----BEGIN' not in text:
            forms.add(text)
            continue
        body = [line for line in text.splitlines() if line and not line.startswith('-----') and ':' not in line]
        forms.update(line for line in body if len(line) >= 16)
        forms.add(''.join(body))
    return {form for form in forms if len(form) >= 8}


# ----- hosts -------------------------------------------------------------------------------------------------

def local_hostvars(workdir, top='hosts'):
    """HOST_COUNT ``ansible_connection: local`` hosts, each with its own key directory WORKDIR/TOP/HOST/.ssh."""
    hosts = {}
    for index in range(1, HOST_COUNT + 1):
        name = 'node%d' % index
        hosts[name] = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            # Modules and their arguments (private keys) through stdin, not temp files; run_demo.py sets it for
            # every run, the inventory for runs by hand.
            'ansible_pipelining': True,
            'demo_ssh_dir': os.path.join(workdir, top, name, '.ssh'),
            # Local hosts are this machine: leave your own users' authorized_keys alone.
            'demo_authorized_users': [],
        }
    return hosts


@contextlib.contextmanager
def local_hosts(workdir):
    """The demo's local hosts (local_hostvars)."""
    yield local_hostvars(workdir)


@contextlib.contextmanager
def namespace_hosts(workdir, started):
    """HOST_COUNT real SSH hosts (tests/integration/ssh_hosts.py), each with its own /root; torn down after."""
    with ssh_hosts.ssh_hosts(HOST_COUNT, os.path.join(workdir, 'hosts'), group=GROUP, name_prefix='node') as hosts:
        started.append(hosts)
        with open(hosts.inventory) as handle:
            inventory = yaml.safe_load(handle)
        entries = inventory['all']['children'][GROUP]['hosts']
        for name in entries:
            entries[name].update({'demo_ssh_dir': '/root/.ssh', 'demo_authorized_users': ['root']})
        yield entries


def write_inventory(path, hosts, comment='the hosts the role distributes keys to.'):
    data = {'all': {'children': {GROUP: {'hosts': hosts}}}}
    with open(path, 'w') as handle:
        handle.write('# Written by demo/run_demo.py: %s\n' % comment)
        yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)


# ----- ansible -----------------------------------------------------------------------------------------------

def ansible_env(workdir, emulator):
    """A clean environment (tests/ansible_env.py: no HW_* / ANSIBLE_* of the caller), this work tree as the
    collection, the emulator."""
    color = sys.stdout.isatty() and 'NO_COLOR' not in os.environ
    settings = {
        'ANSIBLE_CONFIG': os.path.join(workdir, 'ansible.cfg'),  # empty: no ansible.cfg of the caller's
        'ANSIBLE_DISPLAY_SKIPPED_HOSTS': 'False',
        'ANSIBLE_PIPELINING': 'True',  # modules and their arguments go through stdin: fewer temp files and forks
    }
    settings.update(emulator.module_env())  # HW_KPS_ENDPOINT, HW_IAM_ENDPOINT, HW_REGION_NAME, HW_PROJECT_ID, HW_*_KEY
    # No interpreter setting: each host of the inventory names its Python, localhost is ansible-playbook's own.
    return environment(os.path.join(workdir, 'ansible-tmp'), os.path.join(workdir, 'collections'), color=color,
                       interpreter=None, extra=settings)


def run_playbook(argv, env, log_path, hidden):
    """Run ansible-playbook, echoing its output as it comes; returns (rc, output without colors, leaks).

    ansible-playbook runs in a process group of its own, so that stopping the demo stops its forked workers too.
    """
    lines = []
    leaks = 0
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        try:
            for line in proc.stdout:
                plain = ANSI_RE.sub('', line)
                if any(form in plain for form in hidden):  # never happens; if it does, do not show it
                    line = plain = '[line withheld by run_demo.py: it held a secret]\n'
                    leaks += 1
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(plain)
                lines.append(plain)
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                _stop_group(proc)
            proc.stdout.close()
    return proc.returncode, ''.join(lines), leaks


def _stop_group(proc):
    """SIGTERM the process group of ``proc`` (ansible-playbook and its workers), then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    # A process group id is not reused while any member lives, so this only reaches leftover workers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def recap(output):
    return {host: {'ok': int(ok), 'changed': int(changed), 'unreachable': int(unreachable), 'failed': int(failed)}
            for host, ok, changed, unreachable, failed in RECAP_RE.findall(output)}


def api_calls(entries):
    """(number of calls, 'call N, ...; error answers: ...'): every claim made from the counts themselves."""
    calls = collections.Counter(entry['call'] or 'unknown' for entry in entries)
    text = ', '.join('%s %d' % item for item in sorted(calls.items(), key=lambda item: (-item[1], item[0])))
    errors = collections.Counter(entry['error_code'] for entry in entries if entry['error_code'])
    if errors:
        created = calls['create_keypair']
        meanings = {'KPS.6004': ' (no such key pair yet; %s created in this run)' % (
            '%d key pair%s' % (created, '' if created == 1 else 's') if created else 'none')}
        text += '; error answers: ' + ', '.join('%d %s%s' % (count, code, meanings.get(code, ''))
                                                for code, count in sorted(errors.items()))
    return len(entries), text


def exports_said(entries):
    """What a run's export calls were, in words."""
    calls = collections.Counter(entry['call'] for entry in entries if entry['call'] in EXPORT_CALLS)
    if not calls:
        return 'no private key was exported: the files and every host already held the keys'
    return 'export calls: %s' % ', '.join(
        '%d %s' % (count, call) for call, count in sorted(calls.items()))


# ----- the story ---------------------------------------------------------------------------------------------

def prepare_workdir(workdir):
    """Empty the work dir (only one that a demo made: it has the marker file) and lay out its fixed parts."""
    if os.path.lexists(workdir):
        if not os.path.isdir(workdir) or (os.listdir(workdir) and not os.path.exists(os.path.join(workdir, MARKER))):
            raise DemoError('%s exists and is not a demo work dir (no %s in it): choose another --workdir'
                            % (workdir, MARKER))
        shutil.rmtree(workdir)  # symlinks inside are removed, not followed
    os.makedirs(workdir)
    with open(os.path.join(workdir, MARKER), 'w') as handle:
        handle.write('Work dir of demo/run_demo.py; emptied at the start of every demo run.\n')
    with open(os.path.join(workdir, 'ansible.cfg'), 'w') as handle:
        handle.write('# Empty on purpose: run_demo.py sets what it needs in the environment of ansible-playbook.\n')
    os.makedirs(os.path.join(workdir, 'ansible-tmp'), mode=0o700)
    # ANSIBLE_COLLECTIONS_PATH entry: <workdir>/collections/ansible_collections/huaweicloud/kps -> this tree.
    link_collection(os.path.join(workdir, 'collections'), REPO)


def _read(path):
    with open(path) as handle:
        return handle.read()


class Demo:
    """The demo's steps, in order; ``run()`` returns the exit code."""

    def __init__(self, workdir, mode, why_local=None):
        self.workdir = workdir
        self.mode = mode  # 'ssh' or 'local'
        self.why_local = why_local
        self.story = Story(steps=12)
        self.emulator = None
        self.ssh = []  # the SshHosts, once started
        self.hosts = {}  # inventory name -> host vars
        self.hidden = set()
        self.summary = {}
        self.interrupted = False

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def run(self):
        say = self.story.say
        say('huaweicloud.kps demo: private keys into KPS, back into files and onto hosts, twice (the second run '
            'must change nothing); then a rotation of the deploy key pair.')
        try:
            self.start()
            hosts = namespace_hosts(self.workdir, self.ssh) if self.mode == 'ssh' else local_hosts(self.workdir)
            with hosts as self.hosts:
                self.show_hosts()
                self.playbook('run-1', 'Run the playbook, first time: everything is new')
                self.check_hosts()
                self.playbook('run-2', 'Run the playbook, second time: nothing may change', unchanged=True,
                              writes=False)
                self.rotate()
                self.story.step('Stop the emulator%s' % (' and the SSH hosts' if self.mode == 'ssh' else ''))
        except DemoError as exc:
            self.story.problem(str(exc))
        except KeyboardInterrupt:
            self.interrupted = True
            self.story.problem('interrupted (Ctrl-C)')
        except SystemExit as exc:  # SIGTERM, see _sigterm
            self.story.problem('stopped by a signal (exit code %s)' % exc.code)
        except Exception as exc:  # pylint: disable=broad-except  # report it, clean up, exit non-zero
            self.story.problem('%s: %s' % (type(exc).__name__, exc))
        finally:
            self.stop()
        self.print_summary()
        return 1 if self.story.problems else 0

    def start(self):
        step, say = self.story.step, self.story.say
        step('Set up the work dir')
        prepare_workdir(self.workdir)
        say('%s (emptied); ANSIBLE_COLLECTIONS_PATH=%s, where ansible_collections/huaweicloud/kps is this work tree'
            % (rel(self.workdir), rel(self.path('collections'))))

        step('Start the local KPS emulator')
        os.makedirs(self.path('emulator'), mode=0o700)
        self.emulator = EmulatorProcess(self.path('emulator', 'state.json')).start()
        say('KPS + IAM emulator listening on %s (state in %s)' % (self.emulator.url, rel(self.emulator.state_file)))
        say('ansible-playbook gets HW_KPS_ENDPOINT, HW_IAM_ENDPOINT (the emulator), HW_REGION_NAME=%s, HW_PROJECT_ID, '
            'HW_ACCESS_KEY and HW_SECRET_KEY in its environment: the playbook holds no credentials.'
            % self.emulator.region)

        step('Generate test private keys (made now, never committed)')
        lines, hidden = generate_keys(self.path('keys'))
        for line in lines:
            say(line)
        self.hidden = secret_forms(hidden + [self.emulator.secret_key])

        step('Start %d hosts (%s)' % (HOST_COUNT, 'SSH hosts in network namespaces' if self.mode == 'ssh'
                                      else 'ansible_connection: local'))

    def show_hosts(self):
        say = self.story.say
        write_inventory(self.path('inventory.yml'), self.hosts)
        # For the steps of demo/README.md, "Afterwards": hosts that outlive the demo (SSH hosts do not).
        write_inventory(self.path('inventory-local.yml'), local_hostvars(self.workdir, 'local-hosts'),
                        'local hosts for running the playbooks by hand after the demo (demo/README.md, "Afterwards").')
        for name, hostvars in self.hosts.items():
            say('%-6s %s' % (name, '%s, its own sshd and /root' % hostvars['ansible_host'] if self.mode == 'ssh'
                             else 'its keys go to ' + rel(hostvars['demo_ssh_dir'])))
        if self.why_local:
            say('(local hosts because %s)' % self.why_local)
        say('inventory: %s' % rel(self.path('inventory.yml')))

    def playbook(self, run, title, playbook=PLAYBOOK, args=(), unchanged=False, writes=True):
        """Run a playbook (its log: RUN.log); unchanged: it must report changed=0; writes: it may write to KPS."""
        self.story.step(title)
        extra = ['-e', 'demo_dir=' + self.workdir] if playbook == PLAYBOOK else ['-e', 'demo_new_name=' + NEW_KEY]
        self.story.say('$ ansible-playbook -i %s %s %s' % (
            rel(self.path('inventory.yml')), rel(playbook),
            ' '.join([extra[0], extra[1].replace(self.workdir, rel(self.workdir))] + list(args))))
        argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', self.path('inventory.yml'),
                playbook] + extra + list(args)
        log = self.path(run + '.log')
        self.emulator.clear_requests()
        started = time.monotonic()
        code, output, leaks = run_playbook(argv, ansible_env(self.workdir, self.emulator), log, self.hidden)
        counts = recap(output)
        self.summary[run] = {'rc': code, 'recap': counts, 'calls': self.emulator.requests(),
                             'seconds': time.monotonic() - started, 'output': output}
        if leaks:
            self.story.problem('%s printed %d lines holding a secret (withheld above)' % (run, leaks))
        expected = set(self.hosts) | ({'localhost'} if playbook == PLAYBOOK else set())
        if code != 0 or set(counts) != expected or any(row['failed'] or row['unreachable'] for row in counts.values()):
            raise DemoError('%s of %s failed (rc=%d); its output is in %s' % (run, rel(playbook), code, rel(log)))
        if unchanged and any(row['changed'] for row in counts.values()):
            self.story.problem('%s changed something: %s' % (run, ', '.join(
                '%s changed=%d' % (host, row['changed']) for host, row in counts.items())))
        kps_writes = [entry['call'] for entry in self.summary[run]['calls'] if entry['call'] in WRITE_CALLS]
        if not writes and kps_writes:
            self.story.problem('%s wrote to KPS: %s' % (run, ', '.join(kps_writes)))

    def read_host_file(self, name, path):
        """(content, 'MODE OWNER:GROUP') of a file on a demo host."""
        if self.mode == 'ssh':
            host = next(host for host in self.ssh[0] if host.name == name)
            content = host.run(['cat', path]).stdout
            octal, owner = host.run(['stat', '-c', '%a %U:%G', path]).stdout.split()
            return content, '%04o %s' % (int(octal, 8), owner)
        return _read(path), '%s uid=%d' % (mode_of(path), os.stat(path).st_uid)

    def check_hosts(self):
        """Every host holds the keys KPS hosts, in 0600 files; SSH hosts log in to each other with the web key."""
        say = self.story.say
        self.story.step('Check the hosts: the keys that KPS hosts, in 0600 files%s'
                        % (', and SSH logins with them' if self.mode == 'ssh' else ''))
        client = self.emulator.client()
        for key_name in DISTRIBUTED:
            keypair = client.json('GET', client.kps('/' + key_name), expect=200)[2]['keypair']
            say('KPS key pair %-7s fingerprint %s' % (key_name, keypair['fingerprint']))
            for name, hostvars in self.hosts.items():
                path = os.path.join(hostvars['demo_ssh_dir'], 'id_' + key_name)
                content, info = self.read_host_file(name, path)
                same = fingerprint_of(content) == keypair['fingerprint']
                shown = path if self.mode == 'ssh' else rel(path)
                say('  %-6s %s  %s  %s' % (name, shown, info, 'same key' if same else 'ANOTHER KEY'))
                if not same or not info.startswith('0600'):
                    self.story.problem('%s:%s is not the private key of %s with mode 0600' % (name, path, key_name))
                self.summary['host_files'] = (path, info)
        if self.mode != 'ssh':
            say('(local hosts are this machine: no SSH login to show. As root, with sshd and ip installed, the demo '
                'uses real SSH hosts)')
            return
        self.summary['logins'] = self.ring_logins('web')

    def ring_logins(self, key_name):
        """Each SSH host logs in to the next one as root with the key file of key_name; returns the logins."""
        say = self.story.say
        ring = list(self.ssh[0])
        logins = []
        key_file = '/root/.ssh/id_' + key_name
        command = 'set -- $SSH_CONNECTION; echo "logged in as $(id -un) on $3 (from $1)"'
        for source, target in zip(ring, ring[1:] + ring[:1]):
            argv = target.ssh_argv(key_file, command=[command])
            say('%s$ ssh -i %s root@%s \'%s\'' % (source.name, key_file, target.address, command))
            proc = source.run(argv, check=False, timeout=30)
            say('  ' + (proc.stdout.strip() or proc.stderr.strip()))
            if proc.returncode == 0:
                logins.append('%s -> %s' % (source.name, target.name))
            else:
                self.story.problem('ssh from %s to %s with the distributed %s key failed (rc=%d)'
                                   % (source.name, target.name, key_name, proc.returncode))
        return logins

    def rotate(self):
        """demo/rotate.yml as docs/rotation.md says to run it: check mode first, the rotation, a repeat run."""
        self.playbook('rotate-check', 'Rotate the deploy key pair, check mode first: the plan, nothing written',
                      ROTATE, ('--check', '--diff'), writes=False)
        self.playbook('rotate', 'Rotate the deploy key pair: %s -> %s' % (OLD_KEY, NEW_KEY), ROTATE)
        report = re.search(r'"msg": "(kps_key_rotation %s -> .*)"$' % OLD_KEY, self.summary['rotate']['output'], re.M)
        if report:
            self.summary['rotation_report'] = report.group(1)
        self.check_rotation()
        self.playbook('rotate-again', 'Rotate again, with the same new name: nothing may change', ROTATE,
                      unchanged=True, writes=False)

    def host_ssh_files(self, name, ssh_dir):
        """The names of the files in a host's key directory."""
        if self.mode == 'ssh':
            host = next(host for host in self.ssh[0] if host.name == name)
            return sorted(host.run(['ls', '-A', ssh_dir]).stdout.split())
        return sorted(os.listdir(ssh_dir))

    def check_rotation(self):
        """KPS hosts the new key pair and no longer the old private key; every host holds the new key file only,
        its authorized_keys trusts the new key and not the old one; SSH hosts log in to each other with it.

        What the hosts held is kept in hosts-after-rotation.json (SSH hosts are gone when the demo ends)."""
        say, problem = self.story.say, self.story.problem
        self.story.step('Check the rotation: KPS, the key files and authorized_keys%s'
                        % (', SSH logins with the new key' if self.mode == 'ssh' else ''))
        client = self.emulator.client()
        new = client.json('GET', client.kps('/' + NEW_KEY), expect=200)[2]['keypair']
        old = client.json('GET', client.kps('/' + OLD_KEY), expect=200)[2]['keypair']
        for keypair in (new, old):
            say('KPS key pair %-15s fingerprint %s, private key %s' % (
                keypair['name'], keypair['fingerprint'],
                'hosted by KPS' if keypair['is_key_protection'] else 'cleared (the record and public key stay)'))
        if not new['is_key_protection'] or old['is_key_protection']:
            problem('KPS should host the private key of %s and no longer that of %s' % (NEW_KEY, OLD_KEY))
        old_blob, new_blob = old['public_key'].split()[1], new['public_key'].split()[1]
        after = {}
        for name, hostvars in self.hosts.items():
            ssh_dir = hostvars['demo_ssh_dir']
            files = self.host_ssh_files(name, ssh_dir)
            record = after[name] = {'ssh_dir': ssh_dir, 'files': files, 'key_files': {}, 'authorized_keys': None}
            for file_name in files:
                if file_name.startswith('id_'):
                    content, info = self.read_host_file(name, os.path.join(ssh_dir, file_name))
                    record['key_files'][file_name] = {'mode_owner': info, 'public_key': public_key_of(content)}
            new_file = record['key_files'].get('id_' + NEW_KEY)
            shown = ssh_dir if self.mode == 'ssh' else rel(ssh_dir)
            say('  %-6s %s/id_%s  %s  %s; id_%s %s' % (
                name, shown, NEW_KEY, new_file['mode_owner'] if new_file else '-',
                'same key as KPS' if new_file and new_file['public_key'].split()[1] == new_blob else 'MISSING OR ANOTHER KEY',
                OLD_KEY, 'still there' if 'id_' + OLD_KEY in files else 'gone'))
            if not new_file or new_file['public_key'].split()[1] != new_blob or not new_file['mode_owner'].startswith('0600'):
                problem('%s: %s/id_%s is not the private key of %s with mode 0600' % (name, ssh_dir, NEW_KEY, NEW_KEY))
            if 'id_' + OLD_KEY in files:
                problem('%s: the old key file %s/id_%s is still there' % (name, ssh_dir, OLD_KEY))
            if 'authorized_keys' in files:
                text = self.read_host_file(name, os.path.join(ssh_dir, 'authorized_keys'))[0]
                record['authorized_keys'] = text
                say('         %s/authorized_keys trusts: %s' % (shown, ', '.join(
                    line.split()[-1] for line in text.splitlines() if line.strip())))
                if new_blob not in text or old_blob in text:
                    problem('%s: authorized_keys should trust %s and not %s' % (name, NEW_KEY, OLD_KEY))
        with open(self.path('hosts-after-rotation.json'), 'w') as handle:
            json.dump(after, handle, indent=2, sort_keys=True)
        say('What the hosts hold now (public keys only): %s' % rel(self.path('hosts-after-rotation.json')))
        if self.mode != 'ssh':
            say('(local hosts: no sshd, and no authorized_keys of theirs since they are this machine, so the role had no '
                'login to prove; with kps_key_rotation_old.authorized_users empty it swaps the key files, as '
                'docs/rotation.md says. Real SSH hosts, as root with sshd and ip installed, show the login proof)')
            return
        self.summary['rotation_logins'] = self.ring_logins(NEW_KEY)

    def unchanged_without_writes(self, run, hosts):
        """Whether that run worked on every host, changed nothing and made no write call to KPS."""
        info = self.summary.get(run)
        return bool(info and info['rc'] == 0 and set(info['recap']) == hosts
                    and not any(row['changed'] for row in info['recap'].values())
                    and not any(entry['call'] in WRITE_CALLS for entry in info['calls']))

    def stop(self):
        if self.emulator is not None and self.emulator.proc is not None:
            with contextlib.suppress(Exception):
                self.summary['keypairs'] = self.emulator.health()['keypairs']
            code = self.emulator.stop()
            self.story.say('emulator stopped (exit code %s)' % code)
            # Ctrl-C reaches the emulator too (same process group): then it may end on its own, or by our SIGTERM.
            if code not in (0, None) and not self.interrupted:
                self.story.problem('the emulator exited with %s: %s' % (code, self.emulator.stderr_text()[-2000:]))
        if self.ssh:
            self.story.say('SSH hosts torn down (their sshd, namespaces and bridge)')

    def print_summary(self):
        say = self.story.say
        summary = self.summary
        say('\n== Summary')
        if self.emulator is not None and self.emulator.url:
            say('KPS emulator:   %s, stopped; its state is in %s' % (self.emulator.url, rel(self.emulator.state_file)))
        if summary.get('run-1', {}).get('rc') == 0:
            say('Key pairs:      %s in KPS; created by kps_private_key_import from the keys in %s:'
                % (summary.get('keypairs', '?'), rel(self.path('keys'))))
            say('                web (RSA, PEM file), backup (ECDSA, passphrase-encrypted PEM), fleet-01..fleet-12 '
                '(Ed25519, OpenSSH format);')
            say('                generated by KPS, its private key hosted by KPS, by kps_keypair: deploy')
        web, fleet = self.path('exported', 'web.pem'), self.path('exported', 'fleet')
        if os.path.isfile(web):
            say('Exported:       %s (%s)' % (rel(web), mode_of(web)))
        if os.path.isdir(fleet) and os.listdir(fleet):
            files = sorted(os.listdir(fleet))
            modes = '/'.join(sorted({mode_of(os.path.join(fleet, name)) for name in files}))
            say('                %s/ (%s): %d files %s .. %s (%s each)'
                % (rel(fleet), mode_of(fleet), len(files), files[0], files[-1], modes))
        if 'host_files' in summary:
            path, info = summary['host_files']
            if self.mode == 'ssh':
                where = '%s/id_web, id_backup and id_deploy on each host (%s), gone with the hosts' % (
                    os.path.dirname(path), info)
            else:
                where = '%s/<host>/.ssh/id_web, id_backup and id_deploy (%s)' % (
                    rel(self.path('hosts')), info.split()[0])
            say('Distributed:    web, backup and deploy to %d %s by the role kps_key_distribution: %s'
                % (len(self.hosts), 'SSH hosts' if self.mode == 'ssh' else 'local hosts', where))
        if summary.get('logins'):
            say('SSH logins:     %s, with the distributed web key' % ', '.join(summary['logins']))
        for run, label in RUN_LABELS:
            if run in summary:
                info = summary[run]
                changed = ', '.join('%s=%d' % (host, row['changed']) for host, row in sorted(info['recap'].items()))
                verb = 'would change' if run == 'rotate-check' else 'changed'
                say('%-16s%s: %s (%.0f s)' % (label + ':', verb, changed or 'no recap', info['seconds']))
                say('                %d KPS API calls: %s' % api_calls(info['calls']))
            if run == 'run-2' and self.unchanged_without_writes(run, {'localhost'} | set(self.hosts)):
                say('Second run:     changed=0 on every host, and no write call to KPS: the modules only read; %s'
                    % exports_said(summary[run]['calls']))
        if 'rotation_report' in summary:
            say('Rotation:       %s' % summary['rotation_report'])
            say('                by the role kps_key_rotation (demo/rotate.yml): %s' % (
                'the role logged in as root with the new key from the controller on every host before it removed '
                'the old key\'s authorized_keys lines and id_%s' % OLD_KEY if self.mode == 'ssh' else
                'id_%s swapped for id_%s on every host; no login to prove on local hosts' % (OLD_KEY, NEW_KEY)))
        if summary.get('rotation_logins'):
            say('                SSH logins afterwards: %s, with the new key id_%s'
                % (', '.join(summary['rotation_logins']), NEW_KEY))
        if self.unchanged_without_writes('rotate-again', set(self.hosts)):
            say('Rotate again:   changed=0 on every host, and no write call to KPS: the rotation is finished')
        if 'run-1' in summary:
            say('Logs:           %s' % ', '.join(rel(self.path(run + '.log')) for run, _label in RUN_LABELS
                                                 if run in summary))
            say('Afterwards:     run the playbooks by hand on local hosts (%s): demo/README.md, "Afterwards"'
                % rel(self.path('inventory-local.yml')))
        total = time.monotonic() - self.story.start
        if self.story.problems:
            say('Demo FAILED after %.0f s:' % total)
            for problem in self.story.problems:
                say('  - ' + problem)
        else:
            say('No private key, passphrase or secret key appeared in the output.')
            say('Demo OK in %.0f s.' % total)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--workdir', default=os.environ.get('KPS_DEMO_WORKDIR') or os.path.join(REPO, 'demo-output'),
                        help='work dir, emptied first (default: demo-output/, or $KPS_DEMO_WORKDIR)')
    parser.add_argument('--hosts', choices=('auto', 'ssh', 'local'), default=os.environ.get('KPS_DEMO_HOSTS', 'auto'),
                        help='auto (default): SSH hosts in network namespaces when this machine can (root, sshd, '
                             'ip), else local hosts')
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    reason = ssh_hosts.unavailable_reason()
    if args.hosts == 'ssh' and reason:
        print('--hosts ssh: %s' % reason, file=sys.stderr)
        return 2
    mode = args.hosts if args.hosts != 'auto' else ('local' if reason else 'ssh')
    why_local = reason if args.hosts == 'auto' and mode == 'local' else None
    return Demo(os.path.abspath(args.workdir), mode, why_local).run()


if __name__ == '__main__':
    sys.exit(main())
