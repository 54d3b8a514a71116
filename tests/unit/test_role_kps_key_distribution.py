# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's documented interface (meta/argument_specs.yml) matches what it actually uses."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE_DIR = os.path.join(ROOT, 'roles', 'kps_key_distribution')
PREFIX = 'kps_key_distribution_'


def _yaml(*path):
    with open(os.path.join(ROLE_DIR, *path)) as handle:
        return yaml.safe_load(handle)


def _options():
    return _yaml('meta', 'argument_specs.yml')['argument_specs']['main']['options']


def _walk(options, path=''):
    for name, spec in options.items():
        yield path + name, spec
        yield from _walk(spec.get('options', {}), path + name + '.')


def test_defaults_match_the_argument_spec():
    """Every variable with a default is documented with that same default, and the other way round."""
    defaults = _yaml('defaults', 'main.yml') or {}
    documented = {name: spec['default'] for name, spec in _options().items() if 'default' in spec}
    assert defaults == documented


def test_every_option_is_prefixed_and_fully_documented():
    for name in _options():
        assert name.startswith(PREFIX), name
    for name, spec in _walk(_options()):
        assert spec.get('description'), name
        assert spec.get('type'), name
        if spec['type'] == 'list':
            assert spec.get('elements'), name
        assert not (spec.get('required') and 'default' in spec), name


def test_tasks_only_read_documented_variables():
    """A role variable the tasks read but the spec does not document would be an undocumented input."""
    text = ''
    for root, _dirs, files in os.walk(os.path.join(ROLE_DIR, 'tasks')):
        for name in files:
            with open(os.path.join(root, name)) as handle:
                text += handle.read()
    used = set(re.findall(r'(?<![\w.])(%s\w+)' % PREFIX, text))
    assert used == set(_options())


# What marks a task that handles private keys: the export, or the private keys it returned.
PRIVATE_KEY_MARKERS = ('kps_private_key_export', 'private_keys', '_kps_key_distribution_export')


def test_every_task_that_touches_private_keys_has_no_log():
    """A static check of tasks/main.yml; the role test checks the same tasks' results at -vvvv, host by host."""
    tasks = _yaml('tasks', 'main.yml')
    touching = [task for task in tasks if any(marker in yaml.safe_dump(task) for marker in PRIVATE_KEY_MARKERS)
                and 'ansible.builtin.fail' not in task]  # the failure reports only read .msg of the export
    names = [task['name'] for task in touching]
    assert any('Export' in name for name in names) and any('Install' in name for name in names), names
    assert [task['name'] for task in touching if task.get('no_log') is not True] == []
