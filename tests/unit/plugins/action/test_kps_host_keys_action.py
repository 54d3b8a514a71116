# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's cut of a host's report: only key pairs of the task's own entries that install them."""
from __future__ import annotations

from ansible_collections.huaweicloud.kps.plugins.action.kps_host_keys import granted, installed_names

KEYS = [
    {'name': 'deploy'},                                                   # defaults: present, installs
    {'name': 'backup', 'state': 'present', 'private_key': {'install': 'yes', 'path': '/x'}},
    {'name': 'trust-only', 'private_key': {'install': False}},           # authorized_keys line only
    {'name': 'trust-only-str', 'private_key': {'install': 'no'}},
    {'name': 'gone', 'state': 'absent'},
    {'name': 'null-options', 'state': None, 'private_key': None},         # what an omitted option templates to
]


def test_installed_names_apply_the_module_defaults():
    assert installed_names(KEYS) == {'deploy', 'backup', 'null-options'}
    assert installed_names(None) == installed_names('deploy') == installed_names([['deploy'], {'name': 1}]) == set()


def test_a_report_asking_for_more_gets_only_the_entries_that_install():
    needs = {'openssh': ['deploy', 'root-fleet-key', 'trust-only'], 'pem': ['gone', 'backup', 'backup']}
    assert granted(needs, installed_names(KEYS)) == {'openssh': ['deploy'], 'pem': ['backup']}


def test_a_malformed_report_grants_nothing():
    names = installed_names(KEYS)
    assert granted(['deploy'], names) == granted('deploy', names) == granted(None, names) == {}
    assert granted({'openssh': 'deploy', 1: ['deploy'], 'pem': [['deploy'], None]}, names) == {'pem': []}
