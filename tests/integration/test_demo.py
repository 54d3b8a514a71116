# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` (demo/run_demo.py) as a user runs it: it must work, say what it did, and show no secret.

Each test runs the demo as a subprocess in its own work dir (``--workdir``), so nothing is written into the
repository. With SSH hosts (root, sshd and ip available) and with ``ansible_connection: local`` hosts.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys


from integration import ssh_hosts
from integration.harness import secret_forms
from kps_emulator.testing import DEFAULTS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_DEMO = os.path.join(REPO, 'demo', 'run_demo.py')
RECAP_RE = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
HOSTS = ('node1', 'node2', 'node3')


def _run_demo(workdir, *args, timeout=600):
    """Run the demo; returns the Popen object with .stdout/.stderr replaced by the texts (and .pid kept)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('KPS_DEMO_')}
    proc = subprocess.Popen([sys.executable, RUN_DEMO, '--workdir', str(workdir)] + list(args), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        proc.stdout, proc.stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the demo stops the emulator and tears its hosts down on SIGTERM
        proc.communicate(timeout=60)
        raise
    return proc


def _secrets(workdir):
    """Every private key and passphrase the demo made, generated, exported or installed (local hosts)."""
    texts = [DEFAULTS['secret_key']]
    for top in ('keys', 'exported', 'hosts'):
        for root, _dirs, files in os.walk(os.path.join(workdir, top)):
            for name in files:
                path = os.path.join(root, name)
                if os.path.islink(path) or not (name.endswith(('.pem', '.passphrase')) or name.startswith(('id_', 'fleet-'))):
                    continue
                with open(path) as handle:
                    texts.append(handle.read())
    forms = set()
    for text in texts:
        forms.update(secret_forms(text))
    return texts, forms


def _recaps(stdout):
    """The PLAY RECAP of run 1 and of run 2, as {host: changed}."""
    first, _sep, second = stdout.partition('Run the playbook, second time')
    assert _sep, stdout[-3000:]
    return ({host: int(changed) for host, _ok, changed, _u, _f in RECAP_RE.findall(part)} for part in (first, second))


def test_demo_end_to_end(tmp_path_factory):
    # What `make demo` does: SSH hosts where they can be started (root, sshd, ip), local hosts elsewhere.
    # Both kinds are one demo run each (~40 s), so the suite runs the kind this machine gives.
    hosts = 'local' if ssh_hosts.unavailable_reason() else 'ssh'
    workdir = tmp_path_factory.mktemp('demo')
    proc = _run_demo(workdir, '--hosts', hosts)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]

    run1, run2 = _recaps(proc.stdout)
    assert sorted(run2) == sorted(('localhost',) + HOSTS), proc.stdout[-3000:]
    assert set(run2.values()) == {0}, proc.stdout[-3000:]
    assert all(run1.values()), run1  # the first run changed something everywhere

    lines = proc.stdout.splitlines()
    for expected in ('KPS emulator:   http://127.0.0.1:', 'Key pairs:      14 in KPS',
                     'Exported:       %s (0600)' % os.path.join(workdir, 'exported', 'web.pem'),
                     '12 files fleet-01.pem .. fleet-12.pem (0600 each)',
                     'Distributed:    web and backup to 3 ', 'Run 1:', 'Run 2:',
                     'Second run:     changed=0 on every host',
                     'No private key, passphrase or secret key appeared in the output.', 'Demo OK in '):
        assert any(expected in line for line in lines), (expected, proc.stdout[-3000:])
    calls = re.findall(r'^\s+(\d+) KPS API calls: (.*)$', proc.stdout, re.M)
    assert len(calls) == 2, proc.stdout[-3000:]
    # The second run downloads nothing but what the role distributes: one read per key pair and one batch.
    assert int(calls[1][0]) < int(calls[0][0]) and 'create_keypair' not in calls[1][1], calls
    assert 'emulator stopped (exit code 0)' in proc.stdout
    if hosts == 'ssh':
        assert 'SSH logins:     node1 -> node2, node2 -> node3, node3 -> node1' in proc.stdout
        assert 'SSH hosts torn down' in proc.stdout
        leftovers = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=False).stdout
        assert 'kps-%d-' % proc.pid not in leftovers  # ssh_hosts names its namespaces after the demo's pid

    # The files the summary names, with the modes it names.
    exported = workdir / 'exported'
    assert stat.S_IMODE((exported / 'web.pem').stat().st_mode) == 0o600
    fleet = sorted((exported / 'fleet').iterdir())
    assert [path.name for path in fleet] == ['fleet-%02d.pem' % index for index in range(1, 13)]
    assert {stat.S_IMODE(path.stat().st_mode) for path in fleet} == {0o600}
    if hosts == 'local':
        for host in HOSTS:
            for name in ('id_web', 'id_backup'):
                assert stat.S_IMODE((workdir / 'hosts' / host / '.ssh' / name).stat().st_mode) == 0o600

    # No private key (any body line of any key the demo handled), passphrase or secret key in the output.
    texts, forms = _secrets(str(workdir))
    assert len(texts) >= 1 + 3 + 1 + 12 + 12, len(texts)  # SK, keys/, passphrase, keys/fleet/, exported/fleet/
    leaked = [form for form in forms if form in out]
    assert not leaked, '%d secret forms appear in the demo output' % len(leaked)


def test_demo_refuses_a_work_dir_that_is_not_its_own(tmp_path):
    (tmp_path / 'precious.txt').write_text('not the demo\'s\n')
    proc = _run_demo(tmp_path, '--hosts', 'local', timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'is not a demo work dir' in proc.stdout
    assert (tmp_path / 'precious.txt').read_text() == 'not the demo\'s\n'
    assert 'emulator' not in os.listdir(tmp_path)
