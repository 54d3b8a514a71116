# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection metadata that users rely on: the action group and galaxy.yml."""
from __future__ import annotations

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _yaml(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return yaml.safe_load(handle)


# Modules that make no KPS call and take no connection options, so they stay out of the action group.
# kps_private_key_file writes a secret given as a value on the managed host (stdlib only, no KPS client);
# kps_host_keys installs a host's keys and authorized_keys lines (the role's host side).
NOT_IN_ACTION_GROUP = {'kps_host_keys', 'kps_private_key_file'}


def _modules():
    modules_dir = os.path.join(ROOT, 'plugins', 'modules')
    return sorted(name[:-3] for name in os.listdir(modules_dir) if name.endswith('.py') and not name.startswith('_'))


def _module_source(name):
    with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as handle:
        return handle.read()


def test_every_module_that_talks_to_kps_is_in_the_kps_action_group_sorted():
    group = _yaml('meta', 'runtime.yml')['action_groups']['kps']
    assert group == sorted(group)
    assert NOT_IN_ACTION_GROUP <= set(_modules())  # the exceptions are real modules
    assert group == [name for name in _modules() if name not in NOT_IN_ACTION_GROUP]


def test_action_group_membership_matches_what_the_modules_do():
    """A module in the group builds a KpsModule (connection options, KPS client) and documents the group;
    a module outside it does neither."""
    for name in _modules():
        source = _module_source(name)
        talks_to_kps = 'KpsModule(' in source
        documents_group = 'huaweicloud.kps.attributes.action_group' in source
        if name in NOT_IN_ACTION_GROUP:
            assert not talks_to_kps and not documents_group, name
        else:
            assert talks_to_kps and documents_group, name


def test_galaxy_metadata():
    galaxy = _yaml('galaxy.yml')
    assert (galaxy['namespace'], galaxy['name'], galaxy['version']) == ('huaweicloud', 'kps', '1.0.0')
    assert galaxy['license'] == ['GPL-3.0-or-later']
    assert 'cloud' in galaxy['tags']
    for ignored in ('.venv', 'build', 'tests/output'):
        assert ignored in galaxy['build_ignore']


def test_requirements_have_lower_bounds():
    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    assert sorted(line.split('>=')[0] for line in lines) == ['bcrypt', 'cryptography', 'requests']
    assert all('>=' in line for line in lines)
