# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIGKILL kps_private_key_export while it writes a batch of 30 files into a directory of old files.

The playbook runs in its own process group; the test kills the whole group (ansible-playbook, its worker and
the module) at three points, found with inotify on the destination directory or with the emulator's request
log: while the module waits for a batch export, right after it created its first temp file, and after it
replaced the first destinations. After each kill, every file holds either its old content or the complete new
key. SIGKILL leaves no chance to remove temp files; the module names them
``.<file>.kps-<host tag>-<pid>.<random>.tmp`` and the next run removes the ones whose process is gone (with a
warning), so after the next run no temp file remains and every file is right.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time

import pytest

from integration.harness import CONNECTION, REPORTS, exported_text
from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

COUNT = 30
BATCH = 'batch_export_private_keys'
IN_CLOSE_WRITE = 0x8
IN_CREATE = 0x100
IN_MOVED_TO = 0x80
TEMP_RE = re.compile(r'^\.(?P<file>.+)\.kps-[0-9a-f]{8}-(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$')


class Inotify:
    """The few lines of inotify this test needs (Linux): created, written and moved-in names of one directory."""

    def __init__(self, path):
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            pytest.skip('inotify is not available')
        if self._libc.inotify_add_watch(self.fd, os.fsencode(path), IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO) < 0:
            pytest.skip('inotify_add_watch failed')

    def events(self, timeout):
        """[(mask, name)] that arrived within ``timeout`` seconds."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        data = os.read(self.fd, 1 << 16)
        events, offset = [], 0
        while offset < len(data):
            _wd, mask, _cookie, length = struct.unpack_from('iIII', data, offset)
            name = data[offset + 16:offset + 16 + length].rstrip(b'\0').decode()
            events.append((mask, name))
            offset += 16 + length
        return events

    def close(self):
        os.close(self.fd)


@pytest.fixture
def seeded(ansible):
    keypairs = seed_keypairs(ansible.emulator.client(), COUNT, prefix='int-')
    for private in keypairs.values():
        ansible.add_secret(private)
    return keypairs


@pytest.fixture
def old_contents(ansible, seeded):
    """An old content for every file: another valid private key, so that every file must be replaced."""
    olds = {}
    for name in seeded:
        old = keys.generate('ed25519')[0]
        ansible.add_secret(old)
        olds[name] = old
    return olds


def reset(directory, olds):
    for entry in os.listdir(directory):
        os.unlink(os.path.join(directory, entry))
    for name, old in olds.items():
        path = os.path.join(directory, name + '.pem')
        with open(path, 'w') as handle:
            handle.write(old)
        os.chmod(path, 0o600)


def inspect(directory, seeded, olds):
    """(new, old, temp files); fails on any file that is neither the old content nor the complete new key."""
    new = old = 0
    temps = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if TEMP_RE.match(entry):
            temps.append(entry)
            continue
        assert entry.endswith('.pem') and entry[:-4] in seeded, 'unexpected file %s' % entry
        with open(path) as handle:
            content = handle.read()
        name = entry[:-4]
        if content == exported_text(seeded[name]):
            new += 1
            assert os.stat(path).st_mode & 0o777 == 0o600
        else:
            assert content == olds[name], '%s is neither its old content nor the new key' % entry
            old += 1
    assert new + old == len(seeded), 'a destination disappeared'
    return new, old, temps


def export_play(names, dest):
    return [{'name': 'export', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'export the batch', 'huaweicloud.kps.kps_private_key_export': {
            'names': names, 'dest': str(dest), **CONNECTION},
         'register': 'exported'},
        {'name': 'show the warnings', 'ansible.builtin.debug': {'msg': '{{ exported.warnings | default([]) }}'}}]}]


def kill_when(ansible, play, directory, condition, timeout=120):
    """Run the play and SIGKILL its process group as soon as ``condition(events so far)`` holds.

    Returns every event of the run, also those the kill did not stop in time. The module is stopped first,
    by the pid its temp file names carry, so that it does as little as possible after the condition held.
    """
    watch = Inotify(directory)
    seen = []
    # The killed module cannot remove its AnsiballZ payload dir (ansible_*_payload_*): keep it in the test's dir.
    module_tmp = os.path.join(ansible.workdir, 'module-tmp')
    os.makedirs(module_tmp, exist_ok=True)
    try:
        proc, env = ansible.spawn_playbook(play, env={'TMPDIR': module_tmp})
        deadline = time.monotonic() + timeout
        killed = False
        while time.monotonic() < deadline and proc.poll() is None:
            seen.extend(watch.events(0.02))
            if condition(seen):
                for pid in module_pids(seen):
                    _stop(pid)
                ansible.kill(proc)
                killed = True
                break
        if not killed:
            ansible.kill(proc)
        rc, stdout, _stderr = ansible.finish(proc, env)
        while True:
            late = watch.events(0)
            if not late:
                break
            seen.extend(late)
    finally:
        watch.close()
    assert killed, 'the kill point was never reached (rc=%s): %s' % (rc, stdout[-3000:])
    assert_staged_before_replaced(seen)
    return seen


def _stop(pid):
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        pass


def module_pids(events):
    return {int(match.group('pid')) for match in (TEMP_RE.match(name) for _mask, name in events) if match}


def assert_staged_before_replaced(events):
    """The write rule itself, read from the directory's events: no destination is replaced before every temp
    file of the batch (the writability probe and one per key) was created and completely written."""
    renamed = [index for index, (mask, name) in enumerate(events) if mask & IN_MOVED_TO and name.endswith('.pem')]
    if not renamed:
        return
    before = events[:renamed[0]]
    after = events[renamed[0]:]
    written = {name for mask, name in before if mask & IN_CLOSE_WRITE and TEMP_RE.match(name)}
    assert len(written) == 1 + COUNT, 'a destination was replaced after only %d of %d temp files were written' % (
        len(written), 1 + COUNT)
    assert not [name for mask, name in after if mask & IN_CREATE and TEMP_RE.match(name)], \
        'a temp file was created after the first destination was replaced'


def kill_during_staging(ansible, play, directory, seeded, olds, temps_before_kill, tries=8):
    """Kill once ``temps_before_kill`` temp files exist and before any destination is replaced: (new, old, temps).

    The module writes 30 small files in milliseconds, so on a loaded machine the kill can land after the
    replaces; such a run still proves the write rule (kill_when checks it) and the kill is tried again.
    """
    for _attempt in range(tries):
        reset(directory, olds)
        kill_when(ansible, play, directory, lambda events: temps_created(events) >= temps_before_kill)
        new, old, temps = inspect(directory, seeded, olds)
        if new == 0 and temps:
            return new, old, temps
    pytest.fail('in %d runs the kill never landed while the module staged its temp files' % tries)


def temps_created(events):
    return sum(1 for mask, name in events if mask & IN_CREATE and TEMP_RE.match(name))


def host_tag():
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def dead_pid():
    proc = subprocess.Popen(['true'])  # pylint: disable=consider-using-with
    proc.wait()
    return proc.pid


def test_sigkill_while_writing_a_batch(ansible, seeded, old_contents, tmp_path):
    directory = tmp_path / 'keys'
    directory.mkdir(mode=0o700)
    names = sorted(seeded)
    play = export_play(names, directory)
    emulator = ansible.emulator
    outcomes = []

    # 1. While the module waits for the second of three batch exports: nothing written, nothing left.
    reset(directory, old_contents)
    emulator.clear_requests()
    emulator.add_faults({'call': BATCH, 'delay': 0.01}, {'call': BATCH, 'delay': 30})
    kill_when(ansible, play, directory, lambda _events: len(emulator.requests(BATCH)) >= 2)
    emulator.clear_faults()
    new, old, temps = inspect(directory, seeded, old_contents)
    assert (new, old, temps) == (0, COUNT, [])
    outcomes.append(('waiting for batch export 2 of 3', new, old, len(temps)))

    # 2. Right after the first key's temp file was created: no destination changed. The first temp name the
    # directory sees is the writability probe made before any export call; the second is the first key's.
    new, old, temps = kill_during_staging(ansible, play, directory, seeded, old_contents, 2)
    outcomes.append(('after the first temp file', new, old, len(temps)))

    # 3. At the first replace: whatever the kill catches (30 renames take microseconds, so often all of them),
    # each file is old or new.
    reset(directory, old_contents)
    kill_when(ansible, play, directory,
              lambda events: any(mask & IN_MOVED_TO and name.endswith('.pem') for mask, name in events))
    new, old, temps = inspect(directory, seeded, old_contents)
    assert new >= 1
    outcomes.append(('at the first replace', new, old, len(temps)))

    # 4. Half way through staging: still no destination changed, several temp files left.
    new, old, temps = kill_during_staging(ansible, play, directory, seeded, old_contents, 1 + COUNT // 2)
    outcomes.append(('after %d temp files' % (COUNT // 2), new, old, len(temps)))

    left_behind = len(temps)  # the next run finds these
    assert left_behind >= 1

    # The next run removes the temp files of the killed run, writes what is missing, and says so.
    proc = ansible.playbook(play)
    new, old, temps = inspect(directory, seeded, old_contents)
    assert (new, old, temps) == (COUNT, 0, [])
    assert 'removed %d temporary file' % left_behind in proc.stdout

    # A stale temp file of a dead process is removed even when every file is already right.
    stale = directory / ('.%s.pem.kps-%s-%d.abcd1234.tmp' % (names[0], host_tag(), dead_pid()))
    stale.write_text(seeded[names[0]])
    stale.chmod(0o600)
    proc = ansible.playbook(play)
    assert 'removed 1 temporary file left by an interrupted run' in proc.stdout
    assert inspect(directory, seeded, old_contents) == (COUNT, 0, [])

    REPORTS.append(('huaweicloud.kps SIGKILL during a batch export of %d files (test_interruption.py)' % COUNT,
                    ['%-32s new %2d  old %2d  temp files left %2d' % outcome for outcome in outcomes]
                    + ['the next run removed the temp files and wrote every file; no temp file remains']))
