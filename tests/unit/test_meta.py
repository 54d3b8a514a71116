# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection metadata that users rely on: the action group and galaxy.yml."""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _yaml(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return yaml.safe_load(handle)


def _modules():
    modules_dir = os.path.join(ROOT, 'plugins', 'modules')
    return sorted(name[:-3] for name in os.listdir(modules_dir) if name.endswith('.py') and not name.startswith('_'))


def _module_source(name):
    with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as handle:
        return handle.read()


# antsibull-nox's action-groups check (antsibull-nox.toml, run by `make lint`) checks that every module but the
# excluded ones is in the kps action group and documents it. What it does not check is below.


def test_kps_action_group_is_sorted():
    group = _yaml('meta', 'runtime.yml')['action_groups']['kps']
    assert group == sorted(group)


def test_the_kps_action_group_holds_the_modules_that_call_kps():
    """A module is in the group exactly when it builds a KpsModule (connection options, KPS client)."""
    group = set(_yaml('meta', 'runtime.yml')['action_groups']['kps'])
    for name in _modules():
        assert ('KpsModule(' in _module_source(name)) == (name in group), name


def test_galaxy_metadata():
    galaxy = _yaml('galaxy.yml')
    assert (galaxy['namespace'], galaxy['name'], galaxy['version']) == ('huaweicloud', 'kps', '2.3.0')
    assert galaxy['license'] == ['GPL-3.0-or-later']
    assert 'cloud' in galaxy['tags']
    for ignored in ('.venv', 'build', 'tests/output'):
        assert ignored in galaxy['build_ignore']


def test_requirements_have_lower_bounds():
    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    assert sorted(line.split('>=')[0] for line in lines) == ['bcrypt', 'cryptography', 'requests']
    assert all('>=' in line for line in lines)


def test_the_lookup_variant_of_the_auth_fragment_reads_the_modules_environment_variables():
    """Lookups get the HW_* variables from Ansible's configuration, through the fragment's lookup variant: the same
    names, in the same precedence (the configuration lets the last variable of a list win), as the modules."""
    from ansible_collections.huaweicloud.kps.plugins.doc_fragments.auth import ModuleDocFragment
    from ansible_collections.huaweicloud.kps.plugins.module_utils._auth import ENV_VARS
    from ansible_collections.huaweicloud.kps.plugins.module_utils._module import COMMON_ARGSPEC

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    lookup = yaml.safe_load(ModuleDocFragment.LOOKUP)['options']
    assert set(documented) == set(COMMON_ARGSPEC)
    assert dict((name, [entry['name'] for entry in reversed(option['env'])]) for name, option in lookup.items()) == ENV_VARS
    assert all(set(option) == {'env'} for option in lookup.values())  # the option docs stay in one place


def test_the_authentication_page_lists_every_environment_variable_the_plugins_read():
    """docs/authentication.md, "Environment variables and precedence", names every HW_* variable that a module,
    lookup or doc fragment documents (E(HW_...)), such as kps_keypair_server's HW_ECS_ENDPOINT."""
    documented = set()
    for folder, _dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(folder, name)) as handle:
                    documented.update(re.findall(r'E\((HW_[A-Z_]+)\)', handle.read()))
    with open(os.path.join(ROOT, 'docs', 'authentication.md')) as handle:
        section = handle.read().split('\n## Environment variables and precedence\n', 1)[1].split('\n## ', 1)[0]
    assert 'HW_ECS_ENDPOINT' in documented
    assert sorted(name for name in documented if '`%s`' % name not in section) == []
