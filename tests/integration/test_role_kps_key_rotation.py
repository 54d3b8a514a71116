# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role kps_key_rotation against real SSH hosts (network namespaces, one sshd each) and the emulator.

What a user would check: after the run only the new key pair logs in, the old one logs in until the switch, a
run killed between the steps and run again converges and never leaves a host that no key lets in, and a host
that refuses the new key keeps the old one while the others rotate, with the old key pair left in KPS.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization

from integration.harness import CONNECTION, TOKEN_RE, find_leaks, private_key_forms, secret_forms
from integration.ssh_hosts import ssh_hosts
from kps_emulator import keys
from kps_emulator.testing import DEFAULTS

ROLE = 'huaweicloud.kps.kps_key_rotation'
DISTRIBUTION = 'huaweicloud.kps.kps_key_distribution'
# sitecustomize.py there copies every file Ansible deletes from its local temp dir (see the module docstring).
LOCAL_TEMP_CAPTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'local_temp_capture')
OLD, NEW = 'deploy-old', 'deploy-2026-12'
RECAP_RE = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
# The tasks a killed run is stopped at: the start of steps 2, 3, 4 and 5 of the role.
STEP_TASKS = ('Distribute the new key pair next to the old one', 'Log in to this host with the new key pair',
              'Remove the old key pair from the hosts where the new one logs in', 'Clear the old key pair')


def _rotation(**role_vars):
    role = dict({'role': ROLE, 'kps_key_rotation_old': {'name': OLD, 'authorized_users': ['root']},
                 'kps_key_rotation_new_name': NEW, 'kps_key_rotation_auth': CONNECTION}, **role_vars)
    return [{'name': 'rotate', 'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [role]}]


def _recap(stdout):
    return {host: {'changed': int(changed), 'failed': int(failed) + int(unreachable)}
            for host, _ok, changed, unreachable, failed in RECAP_RE.findall(stdout)}


def _keypair(emulator, name):
    """What the emulator holds for a key pair, or None."""
    client = emulator.client()
    status, _headers, body = client.json('GET', client.kps('/' + name))
    return body['keypair'] if status == 200 else None


def _login(host, key_file):
    """Log in from the controller with this key file only; True when the host let us in."""
    proc = subprocess.run(host.ssh_argv(key_file, command=['cat', '/root/whoami']), capture_output=True, text=True,
                          check=False, timeout=60)
    # A refusal is sshd's: a connection that failed (a loaded machine) must not count as "the key does not log in".
    assert proc.returncode == 0 or (proc.returncode == 255 and 'Permission denied' in proc.stderr), proc.stderr
    return proc.returncode == 0 and proc.stdout.strip() == host.name


def _login_with_host_key(source, target, path):
    """Log in from one host to another with a key file that lives on the first host."""
    proc = source.run(target.ssh_argv(path, command=['cat', '/root/whoami']), check=False)
    return proc.returncode == 0 and proc.stdout.strip() == target.name


def _lines(host):
    proc = host.run(['cat', '/root/.ssh/authorized_keys'], check=False)
    return proc.stdout.splitlines()


def _exists(host, path):
    return host.run(['test', '-e', path], check=False).returncode == 0


@pytest.fixture
def old_key(emulator, ansible, tmp_path, request):
    """The old key pair (RSA unless the test asks for another kind, hosted by KPS), and a 0600 copy of its private
    key, in the OpenSSH format every ssh loads, for the test's logins."""
    private_key, public_key = keys.generate(getattr(request, 'param', 'rsa'))
    ansible.add_secret(private_key)
    client = emulator.client()
    client.json('POST', client.kps(), {'keypair': {'name': OLD, 'public_key': public_key, 'key_protection': {
        'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
    path = tmp_path / 'old-key'
    path.write_bytes(serialization.load_pem_private_key(private_key.encode('ascii'), password=None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    path.chmod(0o600)
    return {'path': str(path), 'public_key': public_key}


@pytest.fixture
def hosts(tmp_path_factory, ansible, old_key):
    """Three SSH hosts on which the old key pair is installed and trusted by root (the distribution role)."""
    with ssh_hosts(3, tmp_path_factory.mktemp('ssh-hosts')) as started:
        for host in started:
            host.run(['sh', '-c', 'echo "$0" > /root/whoami', host.name])
        play = [{'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [{
            'role': DISTRIBUTION, 'kps_key_distribution_keys': [{'name': OLD, 'authorized_users': ['root']}],
            'kps_key_distribution_auth': CONNECTION}]}]
        ansible.playbook(play, '-i', started.inventory)
        assert all(_login(host, old_key['path']) for host in started)
        yield started


def _assert_some_key_logs_in(hosts, old_key):
    """The invariant of the role: on every host the old key, or the new one, lets root in."""
    for host in hosts:
        new_in = _exists(host, '/root/.ssh/id_' + NEW) and _login_with_host_key(host, host, '/root/.ssh/id_' + NEW)
        assert new_in or _login(host, old_key['path']), host.name


def _stopped(pid):
    with open('/proc/%d/stat' % pid) as handle:
        return handle.read().rsplit(')', 1)[1].split()[0] == 'T'


def _run_killed_at(ansible, hosts, task):
    """Start the rotation and SIGKILL it (with every process below it) when it reaches the task, before any host
    ran it: the kps_stop_at_task callback stops the run there (a kill when the banner shows can land late on a
    loaded machine, after the task changed some hosts)."""
    # Unbuffered: the task banner is in the output file as soon as the task starts.
    proc, env = ansible.spawn_playbook(_rotation(), '-i', hosts.inventory, env={
        'PYTHONUNBUFFERED': '1', 'ANSIBLE_CALLBACKS_ENABLED': 'kps_result_log,kps_stop_at_task',
        'KPS_STOP_AT_TASK': task})
    out = proc.kps_files[0]
    deadline = time.monotonic() + 300
    while not _stopped(proc.pid):
        assert proc.poll() is None, 'the run ended before %r' % task
        assert time.monotonic() < deadline, 'no task %r' % task
        time.sleep(0.05)
    banner = re.compile(r'^TASK \[(?:%s : )?%s' % (re.escape(ROLE), re.escape(task)), re.M)
    with open(out.name) as handle:
        assert banner.search(handle.read()), 'the run stopped, but not at %r' % task
    ansible.kill(proc)
    ansible.finish(proc, env)


def test_rotation_killed_between_steps_converges(emulator, ansible, old_key, hosts, tmp_path):
    inventory = ('-i', hosts.inventory)
    old_line = ' '.join(old_key['public_key'].split()[:2]) + ' huaweicloud.kps:' + OLD

    # Check mode reports the whole plan and changes nothing: no key pair, no file, the old key logs in.
    result = ansible.playbook(_rotation(), *inventory, '--check', '--diff')
    assert all(row['changed'] > 0 and not row['failed'] for row in _recap(result.stdout).values())
    assert result.stdout.count('+++ after: /root/.ssh/id_%s' % NEW) == len(hosts)
    assert 'would rotate on host1, host2, host3; old key pair in KPS: would be cleared of its private key' in result.stdout, result.stdout[-4000:]
    assert _keypair(emulator, NEW) is None
    for host in hosts:
        assert _lines(host) == [old_line]
        assert not _exists(host, '/root/.ssh/id_' + NEW)

    # Killed at the start of each step: the old key keeps logging in everywhere until the old lines go (step 4);
    # at every stop some key logs in on every host; the next run goes on from there.
    for task in STEP_TASKS:
        _run_killed_at(ansible, hosts, task)
        _assert_some_key_logs_in(hosts, old_key)
        if task != STEP_TASKS[-1]:
            assert all(_login(host, old_key['path']) for host in hosts), task
    assert _keypair(emulator, NEW)['is_key_protection'] is True  # created in step 1, hosted
    assert _keypair(emulator, OLD)['is_key_protection'] is True  # step 5 never ran

    # The run that finishes: only the new key pair logs in, the old one's line and file are gone everywhere.
    # Every file it creates and deletes in Ansible's local temp dir is kept: the new private key, which the
    # controller's login check holds, must never be in one (nor anywhere in the run's directories).
    captured = tmp_path / 'local-temp-capture'
    result = ansible.playbook(_rotation(), *inventory,
                              env={'PYTHONPATH': LOCAL_TEMP_CAPTURE, 'KPS_LOCAL_TEMP_CAPTURE': str(captured)})
    assert len(os.listdir(str(captured))) > 0  # the capture worked: Ansible does use its local temp dir
    new_key_forms = private_key_forms(hosts[0].run(['cat', '/root/.ssh/id_' + NEW]).stdout)
    leaks = []
    for directory in (str(captured), os.path.join(str(tmp_path), '.ansible-tmp'), os.path.dirname(hosts.inventory)):
        for root, _dirs, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, 'rb') as handle:
                        if find_leaks(new_key_forms, handle.read().decode('utf-8', 'replace')):
                            leaks.append(path)
    assert leaks == []
    assert 'rotated on host1, host2, host3; old key pair in KPS: cleared of its private key' in result.stdout, result.stdout[-4000:]
    new_public = _keypair(emulator, NEW)['public_key']
    for source, target in zip(hosts, list(hosts)[1:] + [hosts[0]]):
        assert _lines(target) == [' '.join(new_public.split()[:2]) + ' huaweicloud.kps:' + NEW]
        assert not _exists(target, '/root/.ssh/id_' + OLD)
        assert target.run(['stat', '-c', '%a %U', '/root/.ssh/id_' + NEW]).stdout.split() == ['600', 'root']
        assert _login_with_host_key(source, target, '/root/.ssh/id_' + NEW)
        assert not _login(target, old_key['path'])
    old = _keypair(emulator, OLD)
    assert old is not None and old['is_key_protection'] is False  # cleared: the record stays, no private key

    # Check mode again and a repeat run: nothing to do.
    for args in (('--check',), ()):
        result = ansible.playbook(_rotation(), *inventory, *args)
        assert {row['changed'] for row in _recap(result.stdout).values()} == {0}, args


@pytest.mark.parametrize('old_key', ['ed25519'], indirect=True)
def test_an_ed25519_key_pair_rotates_to_an_ed25519_key_pair(emulator, ansible, old_key, hosts):
    """KPS generates RSA only: by default the new key pair has the old one's type, generated in memory on the
    controller and hosted by KPS. The plan names the type, and another type asked for is said as a change."""
    inventory = ('-i', hosts.inventory)
    plans = ansible.playbook(_rotation(kps_key_rotation_key_type='rsa') + _rotation(), *inventory, '--check')
    assert ('would rotate on host1, host2, host3; old key pair in KPS: would be cleared of its private key; key type: '
            'RSA, changed from Ed25519"' in plans.stdout), plans.stdout[-4000:]
    assert ('would rotate on host1, host2, host3; old key pair in KPS: would be cleared of its private key; key type: '
            'Ed25519, as before"' in plans.stdout), plans.stdout[-4000:]
    assert _keypair(emulator, NEW) is None

    result = ansible.playbook(_rotation(), *inventory)
    assert ('rotated on host1, host2, host3; old key pair in KPS: cleared of its private key; key type: Ed25519, as '
            'before"' in result.stdout), result.stdout[-4000:]
    new = _keypair(emulator, NEW)
    assert new['public_key'].startswith('ssh-ed25519 ') and new['is_key_protection'] is True
    for host in hosts:
        assert _lines(host) == [' '.join(new['public_key'].split()[:2]) + ' huaweicloud.kps:' + NEW]
        assert host.run(['ssh-keygen', '-y', '-f', '/root/.ssh/id_' + NEW]).stdout.split()[:2] == new['public_key'].split()[:2]
        assert _login_with_host_key(host, host, '/root/.ssh/id_' + NEW)
        assert not _login(host, old_key['path'])


def _set_authorized_keys_file(host, value):
    """Point the host's sshd at another authorized_keys file (SIGHUP: sshd re-reads its configuration)."""
    config = os.path.join(host.workdir, 'sshd_config')
    with open(config) as handle:
        text = handle.read()
    with open(config, 'w') as handle:
        handle.write(re.sub(r'^AuthorizedKeysFile \S+', 'AuthorizedKeysFile ' + value, text, flags=re.M))
    host.reload()


def test_host_refusing_the_new_key_keeps_the_old_one(emulator, ansible, old_key, hosts):
    inventory = ('-i', hosts.inventory)
    # host3's sshd reads a frozen copy of authorized_keys: the old key still logs in there, the new one never will.
    refusing = hosts[2]
    refusing.run(['cp', '/root/.ssh/authorized_keys', '/root/.ssh/authorized_keys_frozen'])
    _set_authorized_keys_file(refusing, '.ssh/authorized_keys_frozen')
    # The new key pair from a private key the user gives (imported; KPS then hosts it); the old one deleted.
    private_key, public_key = keys.generate('rsa')
    ansible.add_secret(private_key)
    rotation = _rotation(kps_key_rotation_import_private_key=private_key, kps_key_rotation_old_keypair='delete')

    result = ansible.playbook(rotation, *inventory, check=False)
    assert result.returncode != 0
    recap = _recap(result.stdout)
    assert recap['host3']['failed'] == 1 and recap['host1']['failed'] == recap['host2']['failed'] == 0
    assert ('rotated on host1, host2; keeping %s on host3; old key pair in KPS: kept (delete after every host has '
            'passed); key type: RSA, as before"' % OLD) in result.stdout  # the given key's type
    assert re.search(r'fatal: \[host3\]: FAILED! => .*the new key pair %s does not log in on host3 \(failed root: '
                     r'[^)]*Permission denied' % NEW, result.stdout)
    new_line = ' '.join(public_key.split()[:2]) + ' huaweicloud.kps:' + NEW
    for host in hosts[:2]:
        assert _lines(host) == [new_line]
        assert not _login(host, old_key['path'])
    assert _login(refusing, old_key['path'])
    assert len(_lines(refusing)) == 2 and new_line in _lines(refusing)
    assert _exists(refusing, '/root/.ssh/id_' + OLD)
    assert _keypair(emulator, OLD)['is_key_protection'] is True  # stays in KPS, private key and all
    assert _keypair(emulator, NEW)['public_key'] == ' '.join(public_key.split()[:2])

    # The host fixed, the same run again finishes the rotation there and deletes the old key pair. This time
    # host1 checks the logins, with the new key file installed there.
    _set_authorized_keys_file(refusing, '.ssh/authorized_keys')
    rotation[0]['roles'][0].update(kps_key_rotation_verify_from='host1', kps_key_rotation_verify_ssh_args=(
        '-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'))
    result = ansible.playbook(rotation, *inventory)
    login = result.stdout.split('Log in to this host with the new key pair]')[1].split('TASK [')[0]
    assert 'ok: [host2 -> host1(' in login and 'ok: [host3 -> host1(' in login, login
    assert _recap(result.stdout)['host3']['changed'] > 0
    assert _lines(refusing) == [new_line]
    assert not _login(refusing, old_key['path'])
    assert _keypair(emulator, OLD) is None


def test_bad_settings_fail_before_anything_is_created(emulator, ansible, old_key, hosts):
    rotation = _rotation(kps_key_rotation_new_name=OLD, kps_key_rotation_verify_from='nowhere',
                         kps_key_rotation_import_private_key_path='/nonexistent', kps_key_rotation_key_type='ed25519')
    emulator.clear_requests()
    result = ansible.playbook(rotation, '-i', hosts.inventory, check=False)
    assert result.returncode != 0
    assert result.stdout.count(
        '"kps_key_rotation: kps_key_rotation_new_name must differ from kps_key_rotation_old.name (both are %s); '
        'kps_key_rotation_key_type applies to a generated key pair; the new key pair has the type of the key given '
        'in kps_key_rotation_import_private_key(_path): leave one of them out; '
        'kps_key_rotation_verify_from must be controller or a host of this play (got nowhere)"' % OLD) == 3
    assert [entry['call'] for entry in emulator.requests()] == []


class _TempDirWatcher(threading.Thread):
    """Reads every file below a directory, over and over, while a run goes on: Ansible removes its temporary
    files within milliseconds, the `rm -rf` of its remote temp dir included, which no audit hook sees."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory = directory
        self.seen = {}  # path: every distinct content read there
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for root, _dirs, files in os.walk(self.directory):
                for name in files:
                    path = os.path.join(root, name)
                    try:
                        with open(path, 'rb') as handle:
                            data = handle.read()
                    except OSError:
                        continue  # removed meanwhile
                    self.seen.setdefault(path, set()).add(data)
            time.sleep(0.002)


def _secrets_in_files(ansible, contents):
    """{file name: [which secrets, which modules]} for each file whose content ever held a secret of the run."""
    named = {'the SK': secret_forms(ansible.emulator.secret_key), 'the IAM password': secret_forms(DEFAULTS['password'])}
    found = {}
    for path, datas in contents.items():
        for data in datas:
            text = data.decode('utf-8', 'replace')
            kinds = [kind for kind, forms in named.items() if find_leaks(forms, text)]
            if TOKEN_RE.search(text):
                kinds.append('an IAM token')
            if not kinds and find_leaks(ansible.secrets, text):
                kinds.append('a private key')
            if kinds:
                modules = re.findall(r'plugins\.modules\.(\w+)', text)
                found.setdefault(os.path.basename(path), set()).update(kinds + modules)
    return {name: sorted(what) for name, what in found.items()}


def test_no_secret_in_ansible_temp_files_during_distribution_and_rotation(emulator, ansible, old_key, hosts, tmp_path):
    """With pipelining on for the hosts (not for localhost), no file Ansible writes on the controller, in its
    local or remote temp dir, holds a secret: not the SK or password of the KPS tasks the roles run on
    localhost, not an IAM token, not a private key. Every file removed from the local temp dir is kept (the
    module payloads Ansible writes there without pipelining); a watcher reads the rest while the runs go on."""
    inventory = ('-i', hosts.inventory)
    captured = tmp_path / 'local-temp-capture'
    temp_dir = os.path.join(str(tmp_path), '.ansible-tmp')
    os.makedirs(temp_dir, exist_ok=True)
    watcher = _TempDirWatcher(temp_dir)
    watcher.start()
    try:
        env = {'PYTHONPATH': LOCAL_TEMP_CAPTURE, 'KPS_LOCAL_TEMP_CAPTURE': str(captured)}
        ansible.playbook(_rotation(), *inventory, env=env)
        assert _keypair(emulator, NEW)['is_key_protection'] is True
        # The distribution role alone (export and install of a key pair the hosts lack).
        for host in hosts:
            host.run(['rm', '-f', '/root/.ssh/id_' + NEW])
        play = [{'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [{
            'role': DISTRIBUTION, 'kps_key_distribution_keys': [{'name': NEW, 'authorized_users': ['root']}],
            'kps_key_distribution_auth': CONNECTION}]}]
        ansible.playbook(play, *inventory, env=env)
        assert all(_exists(host, '/root/.ssh/id_' + NEW) for host in hosts)
    finally:
        watcher.done.set()
        watcher.join()
    contents = dict(watcher.seen)
    for root, _dirs, files in os.walk(str(captured)):
        for name in files:
            with open(os.path.join(root, name), 'rb') as handle:
                contents[os.path.join(root, name)] = {handle.read()}
    # The watcher did see the run's short-lived files (AnsiballZ's module cache, removed at the end of each run).
    assert any('plugins.modules.kps_private_key_export' in path for path in watcher.seen)
    assert _secrets_in_files(ansible, contents) == {}
