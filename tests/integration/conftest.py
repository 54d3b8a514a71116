# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for integration tests: a fresh emulator per test, a runner for real ansible processes, and a real
unprivileged user for the attack tests."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile

import pytest

from integration.attacker import Attacker, attack_base
from integration.harness import REPORTS, AnsibleRunner, start_emulator


@pytest.fixture
def emulator(tmp_path_factory):
    """A fresh emulator per test, so that every test sees exactly the server state it set up."""
    with start_emulator(tmp_path_factory.mktemp('emulator')) as emu:
        yield emu


@pytest.fixture
def ansible(emulator, tmp_path):
    """Run ``ansible-playbook``/``ansible`` against the test's emulator, with the secret guard on."""
    return AnsibleRunner(emulator, tmp_path)


@pytest.fixture
def base():
    """A root-owned directory that every user can traverse, removed after the test (integration.attacker)."""
    path = attack_base()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def attacker(base):
    """A real unprivileged user, its home below ``base``, removed after the test (integration.attacker)."""
    user = Attacker(base)
    yield user
    user.remove()


@pytest.fixture
def unprotected_hardlinks():
    """fs.protected_hardlinks=0 (the kernel's default; systemd sets 1): any user may link a file it cannot read.

    The setting is the machine's, not the test's: one test at a time holds it (a lock shared by the xdist
    workers), or a test of the other worker that ends first sets it back to 1 under this one, and this one then
    puts back the 0 it found."""
    setting = '/proc/sys/fs/protected_hardlinks'
    with open(os.path.join(tempfile.gettempdir(), 'kps-tests-protected_hardlinks.lock'), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(setting) as handle:
                old = handle.read().strip()
            with open(setting, 'w') as handle:
                handle.write('0')
        except OSError as exc:
            pytest.skip('cannot set %s to 0 (%s): a user could not link a file it cannot read here' % (setting, exc))
        try:
            yield
        finally:
            with open(setting, 'w') as handle:
                handle.write(old)


def pytest_terminal_summary(terminalreporter):
    """Print the reports tests left in integration.harness.REPORTS (e.g. the fault matrix table)."""
    for title, lines in REPORTS:
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
