# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment of every ``ansible``/``ansible-playbook`` process that the tests, the bench and the demo start.

One place for: where the collection is found (``ANSIBLE_COLLECTIONS_PATH`` holding ``ansible_collections/
huaweicloud/kps`` -> this work tree) and the environment of a run (none of the caller's ``ANSIBLE_*``, ``HW_*``
or ``HUAWEICLOUD_*`` variables, private temp dirs, no colours, this Python). What differs between callers
(colours, interpreter, deprecation warnings, callbacks, pipelining, credentials) is a parameter or ``extra``.
Standard library only: the demo imports it before anything but its own venv is there.
"""
from __future__ import annotations

import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS_DIR)
# A run never inherits these: the caller's settings and credentials would decide what the run does.
CLEARED_PREFIXES = ('HW_', 'HUAWEICLOUD_', 'ANSIBLE_')
# Set by tests/conftest.py (and tests/bench/run_bench.py) for their subprocesses: the collections dir in use.
COLLECTIONS_DIR_VAR = 'KPS_TEST_COLLECTIONS_DIR'


def laid_out_collections_dir(root=ROOT):
    """The directory above ``ansible_collections/huaweicloud/kps`` when the tree already lies there (ansible-test's
    copy, an installed copy), else None."""
    parts = root.split(os.sep)
    if parts[-3:-1] == ['ansible_collections', 'huaweicloud']:
        return os.sep.join(parts[:-3])
    return None


def link_collection(base, root=ROOT):
    """Make ``base/ansible_collections/huaweicloud/kps`` a symlink to the tree (imports follow it); returns base."""
    namespace = os.path.join(base, 'ansible_collections', 'huaweicloud')
    os.makedirs(namespace, exist_ok=True)
    link = os.path.join(namespace, 'kps')
    if not os.path.islink(link):
        os.symlink(root, link)
    return base


def environment(tmp, collections_dir=None, color=False, interpreter=sys.executable, deprecation_warnings=False,
                extra=None):
    """The environment of one ansible run: the caller's minus CLEARED_PREFIXES, plus the settings below.

    ``tmp``: ANSIBLE_LOCAL_TEMP and ANSIBLE_REMOTE_TMP. ``collections_dir``: ANSIBLE_COLLECTIONS_PATH (default:
    $KPS_TEST_COLLECTIONS_DIR). ``interpreter``: ANSIBLE_PYTHON_INTERPRETER (None: the inventory's or ansible's
    choice). ``deprecation_warnings``: ansible's default (shown) when true. ``extra`` is applied last.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(CLEARED_PREFIXES)}
    env.update({
        'PATH': os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', ''),  # this venv's ansible first
        'ANSIBLE_COLLECTIONS_PATH': collections_dir or os.environ[COLLECTIONS_DIR_VAR],
        'ANSIBLE_LOCAL_TEMP': tmp,
        'ANSIBLE_REMOTE_TMP': tmp,
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    })
    # FORCE_COLOR 0 as well: an ansible.cfg of the user's (force_color) must not colour what tests read.
    env.update({'ANSIBLE_FORCE_COLOR': '1'} if color else {'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0'})
    if interpreter:
        env['ANSIBLE_PYTHON_INTERPRETER'] = interpreter
    if not deprecation_warnings:
        env['ANSIBLE_DEPRECATION_WARNINGS'] = 'False'
    env.update(extra or {})
    return env
