# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's documented interface (meta/argument_specs.yml) against what the role holds: the checks that every
role's unit test makes (tests/unit/test_role_*.py)."""
from __future__ import annotations

import os
import re

import yaml

# What marks a task of the distribution role that handles private keys: the export, or the private keys it
# returned (not the names a host needs, needs_private_keys).
PRIVATE_KEY_MARKER_RE = re.compile(r'kps_private_key_export|(?<!needs_)private_keys|_kps_key_distribution_export')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Role:
    """A role of this collection: its files, its options (argument spec ``main``) and its variable prefix."""

    def __init__(self, name):
        self.dir = os.path.join(ROOT, 'roles', name)
        self.prefix = name + '_'

    def yaml(self, *path):
        with open(os.path.join(self.dir, *path)) as handle:
            return yaml.safe_load(handle)

    def options(self):
        return self.yaml('meta', 'argument_specs.yml')['argument_specs']['main']['options']

    def variables_read(self, *directories):
        """The role variables (names with the role's prefix) that the files below ``directories`` mention."""
        text = ''
        for directory in directories:
            for root, _dirs, files in os.walk(os.path.join(self.dir, directory)):
                for name in files:
                    with open(os.path.join(root, name)) as handle:
                        text += handle.read()
        return set(re.findall(r'(?<![\w.])(%s\w+)' % self.prefix, text))


def _walk(options, path=''):
    for name, spec in options.items():
        yield path + name, spec
        yield from _walk(spec.get('options', {}), path + name + '.')


def assert_defaults_match_the_argument_spec(role):
    """Every variable with a default is documented with that same default, and the other way round."""
    defaults = role.yaml('defaults', 'main.yml') or {}
    documented = {name: spec['default'] for name, spec in role.options().items() if 'default' in spec}
    assert defaults == documented


def assert_every_option_is_prefixed_and_fully_documented(role):
    for name in role.options():
        assert name.startswith(role.prefix), name
    for name, spec in _walk(role.options()):
        assert spec.get('description'), name
        assert spec.get('type'), name
        if spec['type'] == 'list':
            assert spec.get('elements'), name
        assert not (spec.get('required') and 'default' in spec), name
