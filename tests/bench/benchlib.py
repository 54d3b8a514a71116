# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared plumbing of the benchmark: paths, one timed ``ansible-playbook`` run, request-log counting.

Every measured run is a real ``ansible-playbook`` process on ``localhost`` (``-c local``), started from this
process with a clean environment: no ``ANSIBLE_*``/``HW_*`` variables from the caller, no callback or action
plugins of the test harness, stock ansible-core settings otherwise. Wall time is ``time.perf_counter``
around the process; CPU time is the delta of ``getrusage(RUSAGE_CHILDREN)`` (user + system) over the run,
which covers ansible-playbook, its workers and every module process it waited for (the emulator is a
child of this process too, but it is only reaped at the end, so its CPU time is not in any delta).
"""
from __future__ import annotations

import collections
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(BENCH_DIR)
ROOT = os.path.dirname(TESTS_DIR)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=wrong-import-position
from ansible_env import environment, laid_out_collections_dir, link_collection  # noqa: E402
from kps_emulator.testing import DEFAULTS, EmulatorProcess  # noqa: E402

IAM_CALLS = ('iam_token', 'iam_projects')
EXPORT_CALLS = ('export_private_key', 'batch_export_private_keys')
LIST_PAGE = 1000  # the largest page ListKeypairs documents; a shorter page ends the listing
BATCH = 10


class BenchError(RuntimeError):
    """A measured run failed: the figures would be wrong, so the benchmark stops."""


def collections_dir(base):
    """A directory holding ansible_collections/huaweicloud/kps -> this work tree (tests/ansible_env.py)."""
    return laid_out_collections_dir() or link_collection(base)


def ceil_div(count, size):
    return int(math.ceil(count / float(size)))


def median(values):
    return statistics.median(values) if values else None


class Run:
    """One finished process: wall seconds, CPU seconds (user + system of it and its children), output."""

    def __init__(self, wall, cpu, returncode, stdout, stderr):
        self.wall = wall
        self.cpu = cpu
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def timed(argv, env, cwd, timeout=900):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, proc.returncode, proc.stdout, proc.stderr)


def ansible_env(workdir, extra=None):
    """The environment of every ansible-playbook run (tests/ansible_env.py): no ANSIBLE_*/HW_*/HUAWEICLOUD_*."""
    return environment(os.path.join(workdir, '.ansible-tmp'), extra=extra)


class Emulator:
    """An emulator process of the benchmark and a work dir for its playbooks."""

    def __init__(self, workdir, label):
        self.workdir = os.path.join(workdir, label)
        os.makedirs(self.workdir, exist_ok=True)
        self.process = EmulatorProcess(state_file=os.path.join(self.workdir, 'state.json'))
        self._count = 0

    def __enter__(self):
        self.process.start()
        return self

    def __exit__(self, *exc):
        self.process.stop()

    @property
    def url(self):
        return self.process.url

    def client(self):
        return self.process.client()

    def auth(self, project_id=True):
        """module_defaults for the collection's action group (AK/SK, loopback endpoints)."""
        emu = self.process
        auth = {'kps_endpoint': emu.url, 'iam_endpoint': emu.url, 'access_key': emu.access_key,
                'secret_key': emu.secret_key, 'region': emu.region}
        if project_id:
            auth['project_id'] = emu.project_id
        return auth

    def play(self, tasks, project_id=True, hosts='localhost', **extra):
        play = {'name': 'bench', 'hosts': hosts, 'gather_facts': False,
                'module_defaults': {'group/huaweicloud.kps.kps': self.auth(project_id)}, 'tasks': tasks}
        play.update(extra)
        return [play]

    def write_playbook(self, plays, name=None):
        self._count += 1
        path = os.path.join(self.workdir, '%s.yml' % (name or 'playbook-%03d' % self._count))
        with open(path, 'w') as handle:
            yaml.safe_dump(plays, handle, sort_keys=False)
        return path

    def playbook(self, plays, *args, env=None, name=None, timeout=900, inventory=False):
        """Run a playbook (path or list of plays); returns a Run; raises BenchError on failure.

        Without ``inventory`` the inventory is ``localhost`` with the local connection; with it, ``args`` give one.
        """
        path = plays if isinstance(plays, str) else self.write_playbook(plays, name)
        argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), path]
        argv += list(args) if inventory else ['-i', 'localhost,', '-c', 'local'] + list(args)
        run = timed(argv, ansible_env(self.workdir, env), self.workdir, timeout)
        for secret in (self.process.secret_key, DEFAULTS['password']):
            if secret in run.stdout + run.stderr:
                raise BenchError('%s: a secret of the emulator appears in the output' % os.path.basename(path))
        if run.returncode != 0:
            raise BenchError('%s failed (rc=%d)\n%s\n%s' % (os.path.basename(path), run.returncode,
                                                            run.stdout[-4000:], run.stderr[-2000:]))
        return run

    def counted(self, fn, *args, **kwargs):
        """Run ``fn`` with a cleared request log; returns (its result, Counter of call names)."""
        self.process.clear_requests()
        result = fn(*args, **kwargs)
        calls = collections.Counter(entry['call'] or 'unknown' for entry in self.process.requests())
        return result, calls

    def keypair_count(self):
        return self.process.health()['keypairs']


def split_calls(calls):
    """(KPS calls, IAM calls) of a Counter of call names."""
    iam = sum(count for call, count in calls.items() if call in IAM_CALLS)
    return sum(calls.values()) - iam, iam


def describe_calls(calls):
    """'show_keypair x1, export_private_key x1' in a fixed order (reads, writes, IAM)."""
    order = ('show_keypair', 'list_keypairs', 'create_keypair', 'import_private_key', 'export_private_key',
             'batch_export_private_keys', 'clear_private_key', 'update_keypair', 'delete_keypair', 'iam_token',
             'iam_projects')
    names = sorted(calls, key=lambda call: (order.index(call) if call in order else len(order), call))
    return ', '.join('%s x%d' % (call, calls[call]) for call in names if calls[call]) or 'none'


def tempdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def seed_rsa_keypairs(client, count, prefix, pool_size=40):
    """Create ``count`` hosted key pairs with RSA 2048 keys, what KPS generates; returns their names.

    Generating 1000 RSA keys would take about a minute, so the key pairs share a pool of ``pool_size`` keys,
    assigned round-robin: any 10 consecutive names (one batch export) hold 10 different keys.
    """
    from kps_emulator import keys  # pylint: disable=import-outside-toplevel
    pool = [keys.generate('rsa') for _index in range(min(pool_size, count))]
    names = []
    for index in range(count):
        name = '%s%04d' % (prefix, index)
        private_key, public_key = pool[index % len(pool)]
        client.json('POST', client.kps(), {'keypair': {'name': name, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
        names.append(name)
    return names
