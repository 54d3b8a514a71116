# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_keypair_info without a network: one read per run, hosted or not, missing names, never a private key."""
from __future__ import annotations

import json
from unittest import mock

import pytest

from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KEYPAIR_FIELDS
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_keypair_info
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.test_kps_private_key_export import (
    FakeKps,
    pem_body,
)
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args


@pytest.fixture
def kps():
    fake = FakeKps()
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=fake):
        yield fake


def run(kps, args, check_mode=False, fail=False):
    args = dict(args)
    args.update(_ansible_check_mode=check_mode)
    with set_module_args(args):
        result = run_module(kps_keypair_info.main, fail=fail)
    text = json.dumps(result)
    for record in kps.keypairs.values():
        assert pem_body(record['_private']) not in text  # metadata only, never key material
    return result


def test_names_in_order_hosted_or_not_one_listing_check_mode_alike(kps):
    kps.add('info-web')
    kps.add('info-cold', hosted=False)
    kps.add('info-other')
    results = [run(kps, {'names': ['info-cold', 'info-web', 'info-cold']}, check_mode=check) for check in (True, False)]
    assert results[0] == results[1]
    result = results[1]
    assert result['changed'] is False and result['missing'] == []
    assert [kp['name'] for kp in result['keypairs']] == ['info-cold', 'info-web']  # order of names, once each
    cold = result['keypairs'][0]
    assert sorted(cold) == sorted(KEYPAIR_FIELDS)
    assert cold['is_key_protection'] is False
    assert cold['public_key'] == ' '.join(kps.keypairs['info-cold']['public_key'].split()[:2])  # no comment
    assert cold['fingerprint'] == kps.keypairs['info-cold']['fingerprint']
    assert kps.calls == [('list', None), ('list', None)]  # one listing per run, no show, no export


def test_one_name_is_one_show(kps):
    kps.add('info-web')
    result = run(kps, {'names': ['info-web']})
    assert [kp['name'] for kp in result['keypairs']] == ['info-web']
    assert kps.calls == [('show', 'info-web')]


def test_all_key_pairs_sorted_by_name(kps):
    for name in ('info-b', 'info-a', 'info-c'):
        kps.add(name, hosted=name != 'info-b')
    result = run(kps, {})
    assert [kp['name'] for kp in result['keypairs']] == ['info-a', 'info-b', 'info-c']
    assert result['missing'] == [] and kps.calls == [('list', None)]


def test_empty_names_make_no_call(kps):
    assert run(kps, {'names': []}) == {'changed': False, 'keypairs': [], 'missing': [], 'warnings': []}
    assert kps.calls == []


def test_missing_names_are_reported_or_fail(kps):
    kps.add('info-web')
    result = run(kps, {'names': ['info-gone', 'info-web', 'info-lost']})
    assert [kp['name'] for kp in result['keypairs']] == ['info-web']
    assert result['missing'] == ['info-gone', 'info-lost']

    failed = run(kps, {'names': ['info-gone', 'info-web', 'info-lost'], 'fail_on_missing': True}, fail=True)
    assert failed['msg'] == 'Key pairs info-gone, info-lost do not exist in KPS.'
    assert failed['missing'] == ['info-gone', 'info-lost']
    failed = run(kps, {'names': ['info-gone'], 'fail_on_missing': True}, fail=True)
    assert failed['msg'] == 'Key pair info-gone does not exist in KPS.'


def test_invalid_names_fail_before_any_call(kps):
    failed = run(kps, {'names': ['ok', '../etc/passwd', 'a b']}, fail=True)
    assert 'Invalid key pair names' in failed['msg'] and "'../etc/passwd'" in failed['msg']
    assert kps.calls == []
