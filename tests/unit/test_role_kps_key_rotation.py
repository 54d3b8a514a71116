# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's documented interface (meta/argument_specs.yml) matches what it actually uses."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE_DIR = os.path.join(ROOT, 'roles', 'kps_key_rotation')
PREFIX = 'kps_key_rotation_'


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


def test_tasks_and_vars_only_read_documented_variables():
    """A role variable the role reads but the spec does not document would be an undocumented input."""
    text = ''
    for directory in ('tasks', 'vars'):
        for name in os.listdir(os.path.join(ROLE_DIR, directory)):
            with open(os.path.join(ROLE_DIR, directory, name)) as handle:
                text += handle.read()
    used = set(re.findall(r'(?<![\w.])(%s\w+)' % PREFIX, text))
    assert used == set(_options())


def test_the_old_key_pair_entry_documents_what_the_distribution_role_takes():
    """kps_key_rotation_old is an entry of kps_key_distribution_keys (without state): same option names."""
    with open(os.path.join(ROOT, 'roles', 'kps_key_distribution', 'meta', 'argument_specs.yml')) as handle:
        distribution = yaml.safe_load(handle)['argument_specs']['main']['options']['kps_key_distribution_keys']
    entry = dict(distribution['options'])
    del entry['state']
    old = _options()['kps_key_rotation_old']['options']
    assert sorted(old) == sorted(entry)
    assert sorted(old['private_key']['options']) == sorted(entry['private_key']['options'])
