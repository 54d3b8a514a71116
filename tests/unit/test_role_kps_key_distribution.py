# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's documented interface (meta/argument_specs.yml) matches what it actually uses."""
from __future__ import annotations

import yaml

from ansible_collections.huaweicloud.kps.tests.unit.role_spec import (
    PRIVATE_KEY_MARKER_RE,
    Role,
    assert_defaults_match_the_argument_spec,
    assert_every_option_is_prefixed_and_fully_documented,
)

ROLE = Role('kps_key_distribution')


def test_defaults_match_the_argument_spec():
    assert_defaults_match_the_argument_spec(ROLE)


def test_every_option_is_prefixed_and_fully_documented():
    assert_every_option_is_prefixed_and_fully_documented(ROLE)


def test_tasks_only_read_documented_variables():
    """A role variable the tasks read but the spec does not document would be an undocumented input."""
    assert ROLE.variables_read('tasks') == set(ROLE.options())


def test_every_task_that_touches_private_keys_has_no_log():
    """A static check of tasks/main.yml; the role test checks the same tasks' results at -vvvv, host by host."""
    tasks = ROLE.yaml('tasks', 'main.yml')
    touching = [task for task in tasks if PRIVATE_KEY_MARKER_RE.search(yaml.safe_dump(task))
                and 'ansible.builtin.fail' not in task]  # the failure reports only read .msg of the export
    names = [task['name'] for task in touching]
    assert any('Export' in name for name in names) and any('Install' in name for name in names), names
    assert [task['name'] for task in touching if task.get('no_log') is not True] == []
