# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every integration target (tests/integration/targets/*) as a real ansible-playbook process.

Targets are ansible-test style roles; each one runs its cases in the order check mode, real run, check
mode again, repeat run, and asserts on results and on what the emulator holds. Each target runs once, at
-vvvv, through the secret guard of tests/integration/harness.py. Targets whose ``aliases``
file says ``needs/root`` or ``disabled`` are run by their own tests, not here.
"""
from __future__ import annotations

import os

import pytest

from integration.harness import TARGETS_DIR


def _targets():
    for name in sorted(os.listdir(TARGETS_DIR)):
        aliases_file = os.path.join(TARGETS_DIR, name, 'aliases')
        if name.startswith('setup_') or not os.path.isfile(aliases_file):
            continue
        with open(aliases_file) as handle:
            aliases = handle.read().split()
        if 'disabled' not in aliases and 'needs/root' not in aliases:
            yield name


TARGETS = list(_targets())


@pytest.mark.parametrize('target', TARGETS)
def test_target(ansible, target):
    """One run at -vvvv: the target's own asserts decide success, and the secret guard reads every line of the
    most verbose output (module invocations, results, diffs) for any secret of the run."""
    result = ansible.target(target, '-vvvv')
    assert 'PLAY RECAP' in result.stdout
