# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's documented interface (meta/argument_specs.yml) matches what it actually uses."""
from __future__ import annotations

from ansible_collections.huaweicloud.kps.tests.unit.role_spec import (
    Role,
    assert_defaults_match_the_argument_spec,
    assert_every_option_is_prefixed_and_fully_documented,
)

ROLE = Role('kps_key_rotation')


def test_defaults_match_the_argument_spec():
    assert_defaults_match_the_argument_spec(ROLE)


def test_every_option_is_prefixed_and_fully_documented():
    assert_every_option_is_prefixed_and_fully_documented(ROLE)


def test_tasks_and_vars_only_read_documented_variables():
    """A role variable the role reads but the spec does not document would be an undocumented input."""
    assert ROLE.variables_read('tasks', 'vars') == set(ROLE.options())


def test_the_old_key_pair_entry_documents_what_the_distribution_role_takes():
    """kps_key_rotation_old is an entry of kps_key_distribution_keys (without state): same option names."""
    distribution = Role('kps_key_distribution').options()['kps_key_distribution_keys']
    entry = dict(distribution['options'])
    del entry['state']
    old = ROLE.options()['kps_key_rotation_old']['options']
    assert sorted(old) == sorted(entry)
    assert sorted(old['private_key']['options']) == sorted(entry['private_key']['options'])
