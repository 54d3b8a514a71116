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


def test_every_module_is_in_the_kps_action_group_sorted():
    modules_dir = os.path.join(ROOT, 'plugins', 'modules')
    modules = sorted(name[:-3] for name in os.listdir(modules_dir) if name.endswith('.py') and not name.startswith('_'))
    group = _yaml('meta', 'runtime.yml')['action_groups']['kps']
    assert group == sorted(group)
    assert group == modules


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
    assert sorted(line.split('>=')[0] for line in lines) == ['cryptography', 'requests']
    assert all('>=' in line for line in lines)
